"""CRM's tables (SQLModel), one module per area; importing this package registers them all."""

from marque_crm.models.customers import Customer
from marque_crm.models.stores import StoreRulesRow

__all__ = ["Customer", "StoreRulesRow"]
