import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from marque.common.v1 import common_pb2 as _common_pb2
from marque.inventory.v1 import inventory_pb2 as _inventory_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class VehicleSnapshot(_message.Message):
    __slots__ = ("vin", "store_id", "brand", "model_code", "trim_code", "colour_code", "model_year", "energy_type", "status", "cost", "msrp", "arrived_on", "version")
    VIN_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    BRAND_FIELD_NUMBER: _ClassVar[int]
    MODEL_CODE_FIELD_NUMBER: _ClassVar[int]
    TRIM_CODE_FIELD_NUMBER: _ClassVar[int]
    COLOUR_CODE_FIELD_NUMBER: _ClassVar[int]
    MODEL_YEAR_FIELD_NUMBER: _ClassVar[int]
    ENERGY_TYPE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    MSRP_FIELD_NUMBER: _ClassVar[int]
    ARRIVED_ON_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    vin: str
    store_id: str
    brand: str
    model_code: str
    trim_code: str
    colour_code: str
    model_year: int
    energy_type: _inventory_pb2.EnergyType
    status: _inventory_pb2.VehicleStatus
    cost: _common_pb2.Money
    msrp: _common_pb2.Money
    arrived_on: str
    version: int
    def __init__(self, vin: _Optional[str] = ..., store_id: _Optional[str] = ..., brand: _Optional[str] = ..., model_code: _Optional[str] = ..., trim_code: _Optional[str] = ..., colour_code: _Optional[str] = ..., model_year: _Optional[int] = ..., energy_type: _Optional[_Union[_inventory_pb2.EnergyType, str]] = ..., status: _Optional[_Union[_inventory_pb2.VehicleStatus, str]] = ..., cost: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., msrp: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., arrived_on: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class TransferPartLine(_message.Message):
    __slots__ = ("part_number", "quantity", "unit_cost")
    PART_NUMBER_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    UNIT_COST_FIELD_NUMBER: _ClassVar[int]
    part_number: str
    quantity: int
    unit_cost: _common_pb2.Money
    def __init__(self, part_number: _Optional[str] = ..., quantity: _Optional[int] = ..., unit_cost: _Optional[_Union[_common_pb2.Money, _Mapping]] = ...) -> None: ...

class TransferSnapshot(_message.Message):
    __slots__ = ("transfer_id", "kind", "status", "from_store_id", "to_store_id", "vin", "vehicle_cost", "part_lines", "version")
    TRANSFER_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    FROM_STORE_ID_FIELD_NUMBER: _ClassVar[int]
    TO_STORE_ID_FIELD_NUMBER: _ClassVar[int]
    VIN_FIELD_NUMBER: _ClassVar[int]
    VEHICLE_COST_FIELD_NUMBER: _ClassVar[int]
    PART_LINES_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    transfer_id: str
    kind: _inventory_pb2.TransferKind
    status: _inventory_pb2.TransferStatus
    from_store_id: str
    to_store_id: str
    vin: str
    vehicle_cost: _common_pb2.Money
    part_lines: _containers.RepeatedCompositeFieldContainer[TransferPartLine]
    version: int
    def __init__(self, transfer_id: _Optional[str] = ..., kind: _Optional[_Union[_inventory_pb2.TransferKind, str]] = ..., status: _Optional[_Union[_inventory_pb2.TransferStatus, str]] = ..., from_store_id: _Optional[str] = ..., to_store_id: _Optional[str] = ..., vin: _Optional[str] = ..., vehicle_cost: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., part_lines: _Optional[_Iterable[_Union[TransferPartLine, _Mapping]]] = ..., version: _Optional[int] = ...) -> None: ...

class VehicleRegistered(_message.Message):
    __slots__ = ("occurred_at", "vehicle")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    VEHICLE_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    vehicle: VehicleSnapshot
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., vehicle: _Optional[_Union[VehicleSnapshot, _Mapping]] = ...) -> None: ...

class VehicleArrived(_message.Message):
    __slots__ = ("occurred_at", "vehicle")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    VEHICLE_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    vehicle: VehicleSnapshot
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., vehicle: _Optional[_Union[VehicleSnapshot, _Mapping]] = ...) -> None: ...

class VehicleReserved(_message.Message):
    __slots__ = ("occurred_at", "vehicle", "order_ref", "reserved_until")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    VEHICLE_FIELD_NUMBER: _ClassVar[int]
    ORDER_REF_FIELD_NUMBER: _ClassVar[int]
    RESERVED_UNTIL_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    vehicle: VehicleSnapshot
    order_ref: str
    reserved_until: _timestamp_pb2.Timestamp
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., vehicle: _Optional[_Union[VehicleSnapshot, _Mapping]] = ..., order_ref: _Optional[str] = ..., reserved_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class VehicleReservationReleased(_message.Message):
    __slots__ = ("occurred_at", "vehicle", "order_ref", "reason")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    VEHICLE_FIELD_NUMBER: _ClassVar[int]
    ORDER_REF_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    vehicle: VehicleSnapshot
    order_ref: str
    reason: str
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., vehicle: _Optional[_Union[VehicleSnapshot, _Mapping]] = ..., order_ref: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class VehicleReservationExpired(_message.Message):
    __slots__ = ("occurred_at", "vehicle", "order_ref")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    VEHICLE_FIELD_NUMBER: _ClassVar[int]
    ORDER_REF_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    vehicle: VehicleSnapshot
    order_ref: str
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., vehicle: _Optional[_Union[VehicleSnapshot, _Mapping]] = ..., order_ref: _Optional[str] = ...) -> None: ...

class VehicleSold(_message.Message):
    __slots__ = ("occurred_at", "vehicle", "order_ref")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    VEHICLE_FIELD_NUMBER: _ClassVar[int]
    ORDER_REF_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    vehicle: VehicleSnapshot
    order_ref: str
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., vehicle: _Optional[_Union[VehicleSnapshot, _Mapping]] = ..., order_ref: _Optional[str] = ...) -> None: ...

class VehicleDelivered(_message.Message):
    __slots__ = ("occurred_at", "vehicle", "order_ref")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    VEHICLE_FIELD_NUMBER: _ClassVar[int]
    ORDER_REF_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    vehicle: VehicleSnapshot
    order_ref: str
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., vehicle: _Optional[_Union[VehicleSnapshot, _Mapping]] = ..., order_ref: _Optional[str] = ...) -> None: ...

class VehicleDemoAssigned(_message.Message):
    __slots__ = ("occurred_at", "vehicle")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    VEHICLE_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    vehicle: VehicleSnapshot
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., vehicle: _Optional[_Union[VehicleSnapshot, _Mapping]] = ...) -> None: ...

class VehicleDemoReturned(_message.Message):
    __slots__ = ("occurred_at", "vehicle")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    VEHICLE_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    vehicle: VehicleSnapshot
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., vehicle: _Optional[_Union[VehicleSnapshot, _Mapping]] = ...) -> None: ...

class TransferRequested(_message.Message):
    __slots__ = ("occurred_at", "transfer", "actor", "reason")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    TRANSFER_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    transfer: TransferSnapshot
    actor: str
    reason: str
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., transfer: _Optional[_Union[TransferSnapshot, _Mapping]] = ..., actor: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class TransferApproved(_message.Message):
    __slots__ = ("occurred_at", "transfer", "actor")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    TRANSFER_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    transfer: TransferSnapshot
    actor: str
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., transfer: _Optional[_Union[TransferSnapshot, _Mapping]] = ..., actor: _Optional[str] = ...) -> None: ...

class TransferRejected(_message.Message):
    __slots__ = ("occurred_at", "transfer", "actor", "reason")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    TRANSFER_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    transfer: TransferSnapshot
    actor: str
    reason: str
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., transfer: _Optional[_Union[TransferSnapshot, _Mapping]] = ..., actor: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class TransferShipped(_message.Message):
    __slots__ = ("occurred_at", "transfer", "actor")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    TRANSFER_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    transfer: TransferSnapshot
    actor: str
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., transfer: _Optional[_Union[TransferSnapshot, _Mapping]] = ..., actor: _Optional[str] = ...) -> None: ...

class TransferReceived(_message.Message):
    __slots__ = ("occurred_at", "transfer", "actor")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    TRANSFER_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    transfer: TransferSnapshot
    actor: str
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., transfer: _Optional[_Union[TransferSnapshot, _Mapping]] = ..., actor: _Optional[str] = ...) -> None: ...

class TransferCancelled(_message.Message):
    __slots__ = ("occurred_at", "transfer", "actor", "reason")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    TRANSFER_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    transfer: TransferSnapshot
    actor: str
    reason: str
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., transfer: _Optional[_Union[TransferSnapshot, _Mapping]] = ..., actor: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class PartsReceived(_message.Message):
    __slots__ = ("occurred_at", "store_id", "part_number", "quantity", "unit_cost", "reference", "on_hand_after", "movement_id")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    PART_NUMBER_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    UNIT_COST_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    ON_HAND_AFTER_FIELD_NUMBER: _ClassVar[int]
    MOVEMENT_ID_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    store_id: str
    part_number: str
    quantity: int
    unit_cost: _common_pb2.Money
    reference: str
    on_hand_after: int
    movement_id: str
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., store_id: _Optional[str] = ..., part_number: _Optional[str] = ..., quantity: _Optional[int] = ..., unit_cost: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., reference: _Optional[str] = ..., on_hand_after: _Optional[int] = ..., movement_id: _Optional[str] = ...) -> None: ...

class PartsReserved(_message.Message):
    __slots__ = ("occurred_at", "store_id", "reference", "lines")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    store_id: str
    reference: str
    lines: _containers.RepeatedCompositeFieldContainer[_inventory_pb2.PartMovement]
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., store_id: _Optional[str] = ..., reference: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[_inventory_pb2.PartMovement, _Mapping]]] = ...) -> None: ...

class PartsConsumed(_message.Message):
    __slots__ = ("occurred_at", "store_id", "reference", "lines")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    store_id: str
    reference: str
    lines: _containers.RepeatedCompositeFieldContainer[_inventory_pb2.PartMovement]
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., store_id: _Optional[str] = ..., reference: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[_inventory_pb2.PartMovement, _Mapping]]] = ...) -> None: ...

class PartsReleased(_message.Message):
    __slots__ = ("occurred_at", "store_id", "reference", "lines")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    store_id: str
    reference: str
    lines: _containers.RepeatedCompositeFieldContainer[_inventory_pb2.PartMovement]
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., store_id: _Optional[str] = ..., reference: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[_inventory_pb2.PartMovement, _Mapping]]] = ...) -> None: ...

class SafetyStockBreached(_message.Message):
    __slots__ = ("occurred_at", "store_id", "model_code", "in_stock", "minimum")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_CODE_FIELD_NUMBER: _ClassVar[int]
    IN_STOCK_FIELD_NUMBER: _ClassVar[int]
    MINIMUM_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    store_id: str
    model_code: str
    in_stock: int
    minimum: int
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., store_id: _Optional[str] = ..., model_code: _Optional[str] = ..., in_stock: _Optional[int] = ..., minimum: _Optional[int] = ...) -> None: ...

class PartBelowReorderPoint(_message.Message):
    __slots__ = ("occurred_at", "store_id", "part_number", "available", "reorder_point")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    PART_NUMBER_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    REORDER_POINT_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    store_id: str
    part_number: str
    available: int
    reorder_point: int
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., store_id: _Optional[str] = ..., part_number: _Optional[str] = ..., available: _Optional[int] = ..., reorder_point: _Optional[int] = ...) -> None: ...

class StockAgeThresholdCrossed(_message.Message):
    __slots__ = ("occurred_at", "store_id", "vin", "model_code", "age_days", "bucket_days")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    VIN_FIELD_NUMBER: _ClassVar[int]
    MODEL_CODE_FIELD_NUMBER: _ClassVar[int]
    AGE_DAYS_FIELD_NUMBER: _ClassVar[int]
    BUCKET_DAYS_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    store_id: str
    vin: str
    model_code: str
    age_days: int
    bucket_days: int
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., store_id: _Optional[str] = ..., vin: _Optional[str] = ..., model_code: _Optional[str] = ..., age_days: _Optional[int] = ..., bucket_days: _Optional[int] = ...) -> None: ...
