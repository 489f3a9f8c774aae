import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from marque.crm.v1 import crm_pb2 as _crm_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Customer(_message.Message):
    __slots__ = ("customer_id", "kind", "name", "mobile", "wechat_id", "national_id", "city", "store_id", "owner", "tags", "merged_into", "version")
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    MOBILE_FIELD_NUMBER: _ClassVar[int]
    WECHAT_ID_FIELD_NUMBER: _ClassVar[int]
    NATIONAL_ID_FIELD_NUMBER: _ClassVar[int]
    CITY_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    MERGED_INTO_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    kind: _crm_pb2.CustomerKind
    name: str
    mobile: str
    wechat_id: str
    national_id: str
    city: str
    store_id: str
    owner: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    merged_into: str
    version: int
    def __init__(self, customer_id: _Optional[str] = ..., kind: _Optional[_Union[_crm_pb2.CustomerKind, str]] = ..., name: _Optional[str] = ..., mobile: _Optional[str] = ..., wechat_id: _Optional[str] = ..., national_id: _Optional[str] = ..., city: _Optional[str] = ..., store_id: _Optional[str] = ..., owner: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., merged_into: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class FindOrCreateCustomerRequest(_message.Message):
    __slots__ = ("request_id", "store_id", "kind", "name", "mobile", "national_id", "source")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    MOBILE_FIELD_NUMBER: _ClassVar[int]
    NATIONAL_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    store_id: str
    kind: _crm_pb2.CustomerKind
    name: str
    mobile: str
    national_id: str
    source: _crm_pb2.LeadChannel
    def __init__(self, request_id: _Optional[str] = ..., store_id: _Optional[str] = ..., kind: _Optional[_Union[_crm_pb2.CustomerKind, str]] = ..., name: _Optional[str] = ..., mobile: _Optional[str] = ..., national_id: _Optional[str] = ..., source: _Optional[_Union[_crm_pb2.LeadChannel, str]] = ...) -> None: ...

class FindOrCreateCustomerResponse(_message.Message):
    __slots__ = ("customer", "created")
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    customer: Customer
    created: bool
    def __init__(self, customer: _Optional[_Union[Customer, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...

class GetCustomerRequest(_message.Message):
    __slots__ = ("customer_id",)
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    def __init__(self, customer_id: _Optional[str] = ...) -> None: ...

class GetCustomerResponse(_message.Message):
    __slots__ = ("customer",)
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    customer: Customer
    def __init__(self, customer: _Optional[_Union[Customer, _Mapping]] = ...) -> None: ...

class GetCustomerSummaryRequest(_message.Message):
    __slots__ = ("customer_id", "timeline_limit")
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    TIMELINE_LIMIT_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    timeline_limit: int
    def __init__(self, customer_id: _Optional[str] = ..., timeline_limit: _Optional[int] = ...) -> None: ...

class TimelineEntry(_message.Message):
    __slots__ = ("at", "kind", "summary", "actor", "store_id")
    AT_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    at: _timestamp_pb2.Timestamp
    kind: str
    summary: str
    actor: str
    store_id: str
    def __init__(self, at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., kind: _Optional[str] = ..., summary: _Optional[str] = ..., actor: _Optional[str] = ..., store_id: _Optional[str] = ...) -> None: ...

class OwnedVehicle(_message.Message):
    __slots__ = ("vin", "plate", "model_code", "bought")
    VIN_FIELD_NUMBER: _ClassVar[int]
    PLATE_FIELD_NUMBER: _ClassVar[int]
    MODEL_CODE_FIELD_NUMBER: _ClassVar[int]
    BOUGHT_FIELD_NUMBER: _ClassVar[int]
    vin: str
    plate: str
    model_code: str
    bought: str
    def __init__(self, vin: _Optional[str] = ..., plate: _Optional[str] = ..., model_code: _Optional[str] = ..., bought: _Optional[str] = ...) -> None: ...

class GetCustomerSummaryResponse(_message.Message):
    __slots__ = ("customer", "open_leads", "timeline", "vehicles")
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    OPEN_LEADS_FIELD_NUMBER: _ClassVar[int]
    TIMELINE_FIELD_NUMBER: _ClassVar[int]
    VEHICLES_FIELD_NUMBER: _ClassVar[int]
    customer: Customer
    open_leads: _containers.RepeatedCompositeFieldContainer[_crm_pb2.LeadSnapshot]
    timeline: _containers.RepeatedCompositeFieldContainer[TimelineEntry]
    vehicles: _containers.RepeatedCompositeFieldContainer[OwnedVehicle]
    def __init__(self, customer: _Optional[_Union[Customer, _Mapping]] = ..., open_leads: _Optional[_Iterable[_Union[_crm_pb2.LeadSnapshot, _Mapping]]] = ..., timeline: _Optional[_Iterable[_Union[TimelineEntry, _Mapping]]] = ..., vehicles: _Optional[_Iterable[_Union[OwnedVehicle, _Mapping]]] = ...) -> None: ...
