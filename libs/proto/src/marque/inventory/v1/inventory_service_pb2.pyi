import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from marque.inventory.v1 import inventory_pb2 as _inventory_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ReserveVehicleRequest(_message.Message):
    __slots__ = ("request_id", "vin", "store_id", "order_ref", "expires_at")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VIN_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_REF_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    vin: str
    store_id: str
    order_ref: str
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, request_id: _Optional[str] = ..., vin: _Optional[str] = ..., store_id: _Optional[str] = ..., order_ref: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ReserveVehicleResponse(_message.Message):
    __slots__ = ("vehicle",)
    VEHICLE_FIELD_NUMBER: _ClassVar[int]
    vehicle: _inventory_pb2.Vehicle
    def __init__(self, vehicle: _Optional[_Union[_inventory_pb2.Vehicle, _Mapping]] = ...) -> None: ...

class ReleaseVehicleRequest(_message.Message):
    __slots__ = ("request_id", "vin", "order_ref", "reason")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VIN_FIELD_NUMBER: _ClassVar[int]
    ORDER_REF_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    vin: str
    order_ref: str
    reason: str
    def __init__(self, request_id: _Optional[str] = ..., vin: _Optional[str] = ..., order_ref: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ReleaseVehicleResponse(_message.Message):
    __slots__ = ("vehicle",)
    VEHICLE_FIELD_NUMBER: _ClassVar[int]
    vehicle: _inventory_pb2.Vehicle
    def __init__(self, vehicle: _Optional[_Union[_inventory_pb2.Vehicle, _Mapping]] = ...) -> None: ...

class MarkSoldRequest(_message.Message):
    __slots__ = ("request_id", "vin", "order_ref")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VIN_FIELD_NUMBER: _ClassVar[int]
    ORDER_REF_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    vin: str
    order_ref: str
    def __init__(self, request_id: _Optional[str] = ..., vin: _Optional[str] = ..., order_ref: _Optional[str] = ...) -> None: ...

class MarkSoldResponse(_message.Message):
    __slots__ = ("vehicle",)
    VEHICLE_FIELD_NUMBER: _ClassVar[int]
    vehicle: _inventory_pb2.Vehicle
    def __init__(self, vehicle: _Optional[_Union[_inventory_pb2.Vehicle, _Mapping]] = ...) -> None: ...

class MarkDeliveredRequest(_message.Message):
    __slots__ = ("request_id", "vin", "order_ref")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VIN_FIELD_NUMBER: _ClassVar[int]
    ORDER_REF_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    vin: str
    order_ref: str
    def __init__(self, request_id: _Optional[str] = ..., vin: _Optional[str] = ..., order_ref: _Optional[str] = ...) -> None: ...

class MarkDeliveredResponse(_message.Message):
    __slots__ = ("vehicle",)
    VEHICLE_FIELD_NUMBER: _ClassVar[int]
    vehicle: _inventory_pb2.Vehicle
    def __init__(self, vehicle: _Optional[_Union[_inventory_pb2.Vehicle, _Mapping]] = ...) -> None: ...

class GetVehicleRequest(_message.Message):
    __slots__ = ("vin",)
    VIN_FIELD_NUMBER: _ClassVar[int]
    vin: str
    def __init__(self, vin: _Optional[str] = ...) -> None: ...

class GetVehicleResponse(_message.Message):
    __slots__ = ("vehicle",)
    VEHICLE_FIELD_NUMBER: _ClassVar[int]
    vehicle: _inventory_pb2.Vehicle
    def __init__(self, vehicle: _Optional[_Union[_inventory_pb2.Vehicle, _Mapping]] = ...) -> None: ...

class ReservePartsRequest(_message.Message):
    __slots__ = ("request_id", "store_id", "reference", "lines")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    store_id: str
    reference: str
    lines: _containers.RepeatedCompositeFieldContainer[_inventory_pb2.PartLine]
    def __init__(self, request_id: _Optional[str] = ..., store_id: _Optional[str] = ..., reference: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[_inventory_pb2.PartLine, _Mapping]]] = ...) -> None: ...

class ReservePartsResponse(_message.Message):
    __slots__ = ("movements",)
    MOVEMENTS_FIELD_NUMBER: _ClassVar[int]
    movements: _containers.RepeatedCompositeFieldContainer[_inventory_pb2.PartMovement]
    def __init__(self, movements: _Optional[_Iterable[_Union[_inventory_pb2.PartMovement, _Mapping]]] = ...) -> None: ...

class ConsumePartsRequest(_message.Message):
    __slots__ = ("request_id", "store_id", "reference", "lines")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    store_id: str
    reference: str
    lines: _containers.RepeatedCompositeFieldContainer[_inventory_pb2.PartLine]
    def __init__(self, request_id: _Optional[str] = ..., store_id: _Optional[str] = ..., reference: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[_inventory_pb2.PartLine, _Mapping]]] = ...) -> None: ...

class ConsumePartsResponse(_message.Message):
    __slots__ = ("movements",)
    MOVEMENTS_FIELD_NUMBER: _ClassVar[int]
    movements: _containers.RepeatedCompositeFieldContainer[_inventory_pb2.PartMovement]
    def __init__(self, movements: _Optional[_Iterable[_Union[_inventory_pb2.PartMovement, _Mapping]]] = ...) -> None: ...

class ReleasePartsRequest(_message.Message):
    __slots__ = ("request_id", "store_id", "reference", "lines")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    store_id: str
    reference: str
    lines: _containers.RepeatedCompositeFieldContainer[_inventory_pb2.PartLine]
    def __init__(self, request_id: _Optional[str] = ..., store_id: _Optional[str] = ..., reference: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[_inventory_pb2.PartLine, _Mapping]]] = ...) -> None: ...

class ReleasePartsResponse(_message.Message):
    __slots__ = ("movements",)
    MOVEMENTS_FIELD_NUMBER: _ClassVar[int]
    movements: _containers.RepeatedCompositeFieldContainer[_inventory_pb2.PartMovement]
    def __init__(self, movements: _Optional[_Iterable[_Union[_inventory_pb2.PartMovement, _Mapping]]] = ...) -> None: ...

class GetStockLevelsRequest(_message.Message):
    __slots__ = ("store_id", "part_numbers")
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    PART_NUMBERS_FIELD_NUMBER: _ClassVar[int]
    store_id: str
    part_numbers: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, store_id: _Optional[str] = ..., part_numbers: _Optional[_Iterable[str]] = ...) -> None: ...

class GetStockLevelsResponse(_message.Message):
    __slots__ = ("stock_levels",)
    STOCK_LEVELS_FIELD_NUMBER: _ClassVar[int]
    stock_levels: _containers.RepeatedCompositeFieldContainer[_inventory_pb2.StockLevel]
    def __init__(self, stock_levels: _Optional[_Iterable[_Union[_inventory_pb2.StockLevel, _Mapping]]] = ...) -> None: ...
