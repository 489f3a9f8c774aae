import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from marque.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class VehicleStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VEHICLE_STATUS_UNSPECIFIED: _ClassVar[VehicleStatus]
    VEHICLE_STATUS_ON_ORDER: _ClassVar[VehicleStatus]
    VEHICLE_STATUS_IN_STOCK: _ClassVar[VehicleStatus]
    VEHICLE_STATUS_RESERVED: _ClassVar[VehicleStatus]
    VEHICLE_STATUS_SOLD: _ClassVar[VehicleStatus]
    VEHICLE_STATUS_DELIVERED: _ClassVar[VehicleStatus]
    VEHICLE_STATUS_IN_TRANSFER: _ClassVar[VehicleStatus]
    VEHICLE_STATUS_DEMO: _ClassVar[VehicleStatus]

class EnergyType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ENERGY_TYPE_UNSPECIFIED: _ClassVar[EnergyType]
    ENERGY_TYPE_ICE: _ClassVar[EnergyType]
    ENERGY_TYPE_HEV: _ClassVar[EnergyType]
    ENERGY_TYPE_PHEV: _ClassVar[EnergyType]
    ENERGY_TYPE_BEV: _ClassVar[EnergyType]

class TransferKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRANSFER_KIND_UNSPECIFIED: _ClassVar[TransferKind]
    TRANSFER_KIND_VEHICLE: _ClassVar[TransferKind]
    TRANSFER_KIND_PARTS: _ClassVar[TransferKind]

class TransferStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRANSFER_STATUS_UNSPECIFIED: _ClassVar[TransferStatus]
    TRANSFER_STATUS_REQUESTED: _ClassVar[TransferStatus]
    TRANSFER_STATUS_APPROVED: _ClassVar[TransferStatus]
    TRANSFER_STATUS_REJECTED: _ClassVar[TransferStatus]
    TRANSFER_STATUS_SHIPPED: _ClassVar[TransferStatus]
    TRANSFER_STATUS_RECEIVED: _ClassVar[TransferStatus]
    TRANSFER_STATUS_CANCELLED: _ClassVar[TransferStatus]
VEHICLE_STATUS_UNSPECIFIED: VehicleStatus
VEHICLE_STATUS_ON_ORDER: VehicleStatus
VEHICLE_STATUS_IN_STOCK: VehicleStatus
VEHICLE_STATUS_RESERVED: VehicleStatus
VEHICLE_STATUS_SOLD: VehicleStatus
VEHICLE_STATUS_DELIVERED: VehicleStatus
VEHICLE_STATUS_IN_TRANSFER: VehicleStatus
VEHICLE_STATUS_DEMO: VehicleStatus
ENERGY_TYPE_UNSPECIFIED: EnergyType
ENERGY_TYPE_ICE: EnergyType
ENERGY_TYPE_HEV: EnergyType
ENERGY_TYPE_PHEV: EnergyType
ENERGY_TYPE_BEV: EnergyType
TRANSFER_KIND_UNSPECIFIED: TransferKind
TRANSFER_KIND_VEHICLE: TransferKind
TRANSFER_KIND_PARTS: TransferKind
TRANSFER_STATUS_UNSPECIFIED: TransferStatus
TRANSFER_STATUS_REQUESTED: TransferStatus
TRANSFER_STATUS_APPROVED: TransferStatus
TRANSFER_STATUS_REJECTED: TransferStatus
TRANSFER_STATUS_SHIPPED: TransferStatus
TRANSFER_STATUS_RECEIVED: TransferStatus
TRANSFER_STATUS_CANCELLED: TransferStatus

class Vehicle(_message.Message):
    __slots__ = ("vin", "store_id", "brand", "model_code", "trim_code", "colour_code", "model_year", "status", "msrp", "cost", "arrived_on", "order_ref", "reserved_until", "version", "energy_type")
    VIN_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    BRAND_FIELD_NUMBER: _ClassVar[int]
    MODEL_CODE_FIELD_NUMBER: _ClassVar[int]
    TRIM_CODE_FIELD_NUMBER: _ClassVar[int]
    COLOUR_CODE_FIELD_NUMBER: _ClassVar[int]
    MODEL_YEAR_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    MSRP_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    ARRIVED_ON_FIELD_NUMBER: _ClassVar[int]
    ORDER_REF_FIELD_NUMBER: _ClassVar[int]
    RESERVED_UNTIL_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ENERGY_TYPE_FIELD_NUMBER: _ClassVar[int]
    vin: str
    store_id: str
    brand: str
    model_code: str
    trim_code: str
    colour_code: str
    model_year: int
    status: VehicleStatus
    msrp: _common_pb2.Money
    cost: _common_pb2.Money
    arrived_on: str
    order_ref: str
    reserved_until: _timestamp_pb2.Timestamp
    version: int
    energy_type: EnergyType
    def __init__(self, vin: _Optional[str] = ..., store_id: _Optional[str] = ..., brand: _Optional[str] = ..., model_code: _Optional[str] = ..., trim_code: _Optional[str] = ..., colour_code: _Optional[str] = ..., model_year: _Optional[int] = ..., status: _Optional[_Union[VehicleStatus, str]] = ..., msrp: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., cost: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., arrived_on: _Optional[str] = ..., order_ref: _Optional[str] = ..., reserved_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., version: _Optional[int] = ..., energy_type: _Optional[_Union[EnergyType, str]] = ...) -> None: ...

class PartLine(_message.Message):
    __slots__ = ("part_number", "quantity")
    PART_NUMBER_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    part_number: str
    quantity: int
    def __init__(self, part_number: _Optional[str] = ..., quantity: _Optional[int] = ...) -> None: ...

class PartMovement(_message.Message):
    __slots__ = ("movement_id", "part_number", "quantity", "unit_cost", "on_hand_after", "available_after")
    MOVEMENT_ID_FIELD_NUMBER: _ClassVar[int]
    PART_NUMBER_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    UNIT_COST_FIELD_NUMBER: _ClassVar[int]
    ON_HAND_AFTER_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_AFTER_FIELD_NUMBER: _ClassVar[int]
    movement_id: str
    part_number: str
    quantity: int
    unit_cost: _common_pb2.Money
    on_hand_after: int
    available_after: int
    def __init__(self, movement_id: _Optional[str] = ..., part_number: _Optional[str] = ..., quantity: _Optional[int] = ..., unit_cost: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., on_hand_after: _Optional[int] = ..., available_after: _Optional[int] = ...) -> None: ...

class StockLevel(_message.Message):
    __slots__ = ("part_number", "store_id", "on_hand", "reserved", "available", "bin", "reorder_point")
    PART_NUMBER_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    ON_HAND_FIELD_NUMBER: _ClassVar[int]
    RESERVED_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    BIN_FIELD_NUMBER: _ClassVar[int]
    REORDER_POINT_FIELD_NUMBER: _ClassVar[int]
    part_number: str
    store_id: str
    on_hand: int
    reserved: int
    available: int
    bin: str
    reorder_point: int
    def __init__(self, part_number: _Optional[str] = ..., store_id: _Optional[str] = ..., on_hand: _Optional[int] = ..., reserved: _Optional[int] = ..., available: _Optional[int] = ..., bin: _Optional[str] = ..., reorder_point: _Optional[int] = ...) -> None: ...
