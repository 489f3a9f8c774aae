import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CustomerKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CUSTOMER_KIND_UNSPECIFIED: _ClassVar[CustomerKind]
    CUSTOMER_KIND_PERSON: _ClassVar[CustomerKind]
    CUSTOMER_KIND_COMPANY: _ClassVar[CustomerKind]

class LeadChannel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LEAD_CHANNEL_UNSPECIFIED: _ClassVar[LeadChannel]
    LEAD_CHANNEL_WALK_IN: _ClassVar[LeadChannel]
    LEAD_CHANNEL_PHONE: _ClassVar[LeadChannel]
    LEAD_CHANNEL_WEBSITE: _ClassVar[LeadChannel]
    LEAD_CHANNEL_AUTOHOME: _ClassVar[LeadChannel]
    LEAD_CHANNEL_YICHE: _ClassVar[LeadChannel]
    LEAD_CHANNEL_DONGCHEDI: _ClassVar[LeadChannel]
    LEAD_CHANNEL_REFERRAL: _ClassVar[LeadChannel]
    LEAD_CHANNEL_CAMPAIGN: _ClassVar[LeadChannel]
    LEAD_CHANNEL_EVENT: _ClassVar[LeadChannel]

class IntentGrade(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INTENT_GRADE_UNSPECIFIED: _ClassVar[IntentGrade]
    INTENT_GRADE_H: _ClassVar[IntentGrade]
    INTENT_GRADE_A: _ClassVar[IntentGrade]
    INTENT_GRADE_B: _ClassVar[IntentGrade]
    INTENT_GRADE_C: _ClassVar[IntentGrade]
    INTENT_GRADE_N: _ClassVar[IntentGrade]

class LeadStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LEAD_STATUS_UNSPECIFIED: _ClassVar[LeadStatus]
    LEAD_STATUS_NEW: _ClassVar[LeadStatus]
    LEAD_STATUS_CONTACTED: _ClassVar[LeadStatus]
    LEAD_STATUS_INVITED: _ClassVar[LeadStatus]
    LEAD_STATUS_VISITED: _ClassVar[LeadStatus]
    LEAD_STATUS_TEST_DRIVE: _ClassVar[LeadStatus]
    LEAD_STATUS_QUOTED: _ClassVar[LeadStatus]
    LEAD_STATUS_WON: _ClassVar[LeadStatus]
    LEAD_STATUS_LOST: _ClassVar[LeadStatus]
    LEAD_STATUS_INVALID: _ClassVar[LeadStatus]
CUSTOMER_KIND_UNSPECIFIED: CustomerKind
CUSTOMER_KIND_PERSON: CustomerKind
CUSTOMER_KIND_COMPANY: CustomerKind
LEAD_CHANNEL_UNSPECIFIED: LeadChannel
LEAD_CHANNEL_WALK_IN: LeadChannel
LEAD_CHANNEL_PHONE: LeadChannel
LEAD_CHANNEL_WEBSITE: LeadChannel
LEAD_CHANNEL_AUTOHOME: LeadChannel
LEAD_CHANNEL_YICHE: LeadChannel
LEAD_CHANNEL_DONGCHEDI: LeadChannel
LEAD_CHANNEL_REFERRAL: LeadChannel
LEAD_CHANNEL_CAMPAIGN: LeadChannel
LEAD_CHANNEL_EVENT: LeadChannel
INTENT_GRADE_UNSPECIFIED: IntentGrade
INTENT_GRADE_H: IntentGrade
INTENT_GRADE_A: IntentGrade
INTENT_GRADE_B: IntentGrade
INTENT_GRADE_C: IntentGrade
INTENT_GRADE_N: IntentGrade
LEAD_STATUS_UNSPECIFIED: LeadStatus
LEAD_STATUS_NEW: LeadStatus
LEAD_STATUS_CONTACTED: LeadStatus
LEAD_STATUS_INVITED: LeadStatus
LEAD_STATUS_VISITED: LeadStatus
LEAD_STATUS_TEST_DRIVE: LeadStatus
LEAD_STATUS_QUOTED: LeadStatus
LEAD_STATUS_WON: LeadStatus
LEAD_STATUS_LOST: LeadStatus
LEAD_STATUS_INVALID: LeadStatus

class LeadSnapshot(_message.Message):
    __slots__ = ("lead_id", "store_id", "customer_id", "channel", "status", "grade", "model_code", "trim_code", "assigned_to", "created_at", "version")
    LEAD_ID_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    GRADE_FIELD_NUMBER: _ClassVar[int]
    MODEL_CODE_FIELD_NUMBER: _ClassVar[int]
    TRIM_CODE_FIELD_NUMBER: _ClassVar[int]
    ASSIGNED_TO_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    lead_id: str
    store_id: str
    customer_id: str
    channel: LeadChannel
    status: LeadStatus
    grade: IntentGrade
    model_code: str
    trim_code: str
    assigned_to: str
    created_at: _timestamp_pb2.Timestamp
    version: int
    def __init__(self, lead_id: _Optional[str] = ..., store_id: _Optional[str] = ..., customer_id: _Optional[str] = ..., channel: _Optional[_Union[LeadChannel, str]] = ..., status: _Optional[_Union[LeadStatus, str]] = ..., grade: _Optional[_Union[IntentGrade, str]] = ..., model_code: _Optional[str] = ..., trim_code: _Optional[str] = ..., assigned_to: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., version: _Optional[int] = ...) -> None: ...

class CustomerRef(_message.Message):
    __slots__ = ("customer_id", "kind", "name", "mobile_masked", "store_id", "owner")
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    MOBILE_MASKED_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    kind: CustomerKind
    name: str
    mobile_masked: str
    store_id: str
    owner: str
    def __init__(self, customer_id: _Optional[str] = ..., kind: _Optional[_Union[CustomerKind, str]] = ..., name: _Optional[str] = ..., mobile_masked: _Optional[str] = ..., store_id: _Optional[str] = ..., owner: _Optional[str] = ...) -> None: ...
