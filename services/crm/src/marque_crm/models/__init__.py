"""CRM's tables (SQLModel), one module per area; importing this package registers them all."""

from marque_crm.models.assignment import Assignment, Consultant, RoundRobinCursor, SlaEscalation
from marque_crm.models.complaints import Complaint
from marque_crm.models.customers import (
    CrmRpcRequest,
    Customer,
    CustomerConsent,
    CustomerMerge,
    OwnedVehicle,
    TimelineEntry,
)
from marque_crm.models.imports import ImportJob, ImportJobChunk
from marque_crm.models.leads import Lead, LeadTransition
from marque_crm.models.marketing import (
    Campaign,
    CampaignRecipient,
    CustomerFacts,
    CustomerTag,
    MarketingSend,
    Segment,
    Tag,
    TagRuleConfig,
)
from marque_crm.models.stores import StoreRulesRow
from marque_crm.models.tasks import Notification, Task

__all__ = [
    "Assignment",
    "Campaign",
    "CampaignRecipient",
    "Complaint",
    "Consultant",
    "CrmRpcRequest",
    "Customer",
    "CustomerConsent",
    "CustomerFacts",
    "CustomerMerge",
    "CustomerTag",
    "ImportJob",
    "ImportJobChunk",
    "Lead",
    "LeadTransition",
    "MarketingSend",
    "Notification",
    "OwnedVehicle",
    "RoundRobinCursor",
    "Segment",
    "SlaEscalation",
    "StoreRulesRow",
    "Tag",
    "TagRuleConfig",
    "Task",
    "TimelineEntry",
]
