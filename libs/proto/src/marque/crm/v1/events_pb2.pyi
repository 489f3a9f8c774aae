import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from marque.crm.v1 import crm_pb2 as _crm_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CustomerCreated(_message.Message):
    __slots__ = ("occurred_at", "customer", "source")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    customer: _crm_pb2.CustomerRef
    source: _crm_pb2.LeadChannel
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., customer: _Optional[_Union[_crm_pb2.CustomerRef, _Mapping]] = ..., source: _Optional[_Union[_crm_pb2.LeadChannel, str]] = ...) -> None: ...

class CustomerMerged(_message.Message):
    __slots__ = ("occurred_at", "survivor_customer_id", "merged_customer_id", "store_id", "actor")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    SURVIVOR_CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    MERGED_CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    survivor_customer_id: str
    merged_customer_id: str
    store_id: str
    actor: str
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., survivor_customer_id: _Optional[str] = ..., merged_customer_id: _Optional[str] = ..., store_id: _Optional[str] = ..., actor: _Optional[str] = ...) -> None: ...

class LeadCreated(_message.Message):
    __slots__ = ("occurred_at", "lead")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    LEAD_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    lead: _crm_pb2.LeadSnapshot
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., lead: _Optional[_Union[_crm_pb2.LeadSnapshot, _Mapping]] = ...) -> None: ...

class LeadAssigned(_message.Message):
    __slots__ = ("occurred_at", "lead", "previous_assignee", "strategy", "reason", "actor")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    LEAD_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_ASSIGNEE_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    lead: _crm_pb2.LeadSnapshot
    previous_assignee: str
    strategy: str
    reason: str
    actor: str
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., lead: _Optional[_Union[_crm_pb2.LeadSnapshot, _Mapping]] = ..., previous_assignee: _Optional[str] = ..., strategy: _Optional[str] = ..., reason: _Optional[str] = ..., actor: _Optional[str] = ...) -> None: ...

class LeadStatusChanged(_message.Message):
    __slots__ = ("occurred_at", "lead", "previous_status", "reason", "actor")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    LEAD_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    lead: _crm_pb2.LeadSnapshot
    previous_status: _crm_pb2.LeadStatus
    reason: str
    actor: str
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., lead: _Optional[_Union[_crm_pb2.LeadSnapshot, _Mapping]] = ..., previous_status: _Optional[_Union[_crm_pb2.LeadStatus, str]] = ..., reason: _Optional[str] = ..., actor: _Optional[str] = ...) -> None: ...

class LeadSlaBreached(_message.Message):
    __slots__ = ("occurred_at", "lead", "sla_minutes", "elapsed_minutes", "escalated_to", "reassigned", "escalated_to_ids")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    LEAD_FIELD_NUMBER: _ClassVar[int]
    SLA_MINUTES_FIELD_NUMBER: _ClassVar[int]
    ELAPSED_MINUTES_FIELD_NUMBER: _ClassVar[int]
    ESCALATED_TO_FIELD_NUMBER: _ClassVar[int]
    REASSIGNED_FIELD_NUMBER: _ClassVar[int]
    ESCALATED_TO_IDS_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    lead: _crm_pb2.LeadSnapshot
    sla_minutes: int
    elapsed_minutes: int
    escalated_to: str
    reassigned: bool
    escalated_to_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., lead: _Optional[_Union[_crm_pb2.LeadSnapshot, _Mapping]] = ..., sla_minutes: _Optional[int] = ..., elapsed_minutes: _Optional[int] = ..., escalated_to: _Optional[str] = ..., reassigned: _Optional[bool] = ..., escalated_to_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class TaskDue(_message.Message):
    __slots__ = ("occurred_at", "task_id", "store_id", "customer_id", "lead_id", "assignee", "kind", "due_at", "title")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    LEAD_ID_FIELD_NUMBER: _ClassVar[int]
    ASSIGNEE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    DUE_AT_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    task_id: str
    store_id: str
    customer_id: str
    lead_id: str
    assignee: str
    kind: str
    due_at: _timestamp_pb2.Timestamp
    title: str
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., task_id: _Optional[str] = ..., store_id: _Optional[str] = ..., customer_id: _Optional[str] = ..., lead_id: _Optional[str] = ..., assignee: _Optional[str] = ..., kind: _Optional[str] = ..., due_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., title: _Optional[str] = ...) -> None: ...

class ComplaintRegistered(_message.Message):
    __slots__ = ("occurred_at", "complaint_id", "store_id", "customer_id", "department", "category", "summary", "respond_by", "repair_order", "vin")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    DEPARTMENT_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    RESPOND_BY_FIELD_NUMBER: _ClassVar[int]
    REPAIR_ORDER_FIELD_NUMBER: _ClassVar[int]
    VIN_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    complaint_id: str
    store_id: str
    customer_id: str
    department: str
    category: str
    summary: str
    respond_by: _timestamp_pb2.Timestamp
    repair_order: str
    vin: str
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., complaint_id: _Optional[str] = ..., store_id: _Optional[str] = ..., customer_id: _Optional[str] = ..., department: _Optional[str] = ..., category: _Optional[str] = ..., summary: _Optional[str] = ..., respond_by: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., repair_order: _Optional[str] = ..., vin: _Optional[str] = ...) -> None: ...
