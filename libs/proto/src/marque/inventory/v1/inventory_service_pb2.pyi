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

class GetVehicleStockSummaryRequest(_message.Message):
    __slots__ = ("store_id",)
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    store_id: str
    def __init__(self, store_id: _Optional[str] = ...) -> None: ...

class VehicleStatusCount(_message.Message):
    __slots__ = ("status", "count")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    status: _inventory_pb2.VehicleStatus
    count: int
    def __init__(self, status: _Optional[_Union[_inventory_pb2.VehicleStatus, str]] = ..., count: _Optional[int] = ...) -> None: ...

class ModelStockCount(_message.Message):
    __slots__ = ("model_code", "model_name", "in_stock")
    MODEL_CODE_FIELD_NUMBER: _ClassVar[int]
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    IN_STOCK_FIELD_NUMBER: _ClassVar[int]
    model_code: str
    model_name: str
    in_stock: int
    def __init__(self, model_code: _Optional[str] = ..., model_name: _Optional[str] = ..., in_stock: _Optional[int] = ...) -> None: ...

class AgeBucketCount(_message.Message):
    __slots__ = ("bucket", "count", "cost")
    BUCKET_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    bucket: str
    count: int
    cost: _common_pb2.Money
    def __init__(self, bucket: _Optional[str] = ..., count: _Optional[int] = ..., cost: _Optional[_Union[_common_pb2.Money, _Mapping]] = ...) -> None: ...

class GetVehicleStockSummaryResponse(_message.Message):
    __slots__ = ("store_id", "status_counts", "in_stock_by_model", "age_buckets", "oldest_vehicle_days", "business_date")
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_COUNTS_FIELD_NUMBER: _ClassVar[int]
    IN_STOCK_BY_MODEL_FIELD_NUMBER: _ClassVar[int]
    AGE_BUCKETS_FIELD_NUMBER: _ClassVar[int]
    OLDEST_VEHICLE_DAYS_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_DATE_FIELD_NUMBER: _ClassVar[int]
    store_id: str
    status_counts: _containers.RepeatedCompositeFieldContainer[VehicleStatusCount]
    in_stock_by_model: _containers.RepeatedCompositeFieldContainer[ModelStockCount]
    age_buckets: _containers.RepeatedCompositeFieldContainer[AgeBucketCount]
    oldest_vehicle_days: int
    business_date: str
    def __init__(self, store_id: _Optional[str] = ..., status_counts: _Optional[_Iterable[_Union[VehicleStatusCount, _Mapping]]] = ..., in_stock_by_model: _Optional[_Iterable[_Union[ModelStockCount, _Mapping]]] = ..., age_buckets: _Optional[_Iterable[_Union[AgeBucketCount, _Mapping]]] = ..., oldest_vehicle_days: _Optional[int] = ..., business_date: _Optional[str] = ...) -> None: ...

class GetPartsStockSummaryRequest(_message.Message):
    __slots__ = ("store_id",)
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    store_id: str
    def __init__(self, store_id: _Optional[str] = ...) -> None: ...

class PartShortage(_message.Message):
    __slots__ = ("part_number", "name", "on_hand", "available", "reorder_point")
    PART_NUMBER_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ON_HAND_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    REORDER_POINT_FIELD_NUMBER: _ClassVar[int]
    part_number: str
    name: str
    on_hand: int
    available: int
    reorder_point: int
    def __init__(self, part_number: _Optional[str] = ..., name: _Optional[str] = ..., on_hand: _Optional[int] = ..., available: _Optional[int] = ..., reorder_point: _Optional[int] = ...) -> None: ...

class GetPartsStockSummaryResponse(_message.Message):
    __slots__ = ("store_id", "sku_count", "stock_value", "below_reorder_point_count", "out_of_stock_count", "below_reorder_point", "out_of_stock")
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    SKU_COUNT_FIELD_NUMBER: _ClassVar[int]
    STOCK_VALUE_FIELD_NUMBER: _ClassVar[int]
    BELOW_REORDER_POINT_COUNT_FIELD_NUMBER: _ClassVar[int]
    OUT_OF_STOCK_COUNT_FIELD_NUMBER: _ClassVar[int]
    BELOW_REORDER_POINT_FIELD_NUMBER: _ClassVar[int]
    OUT_OF_STOCK_FIELD_NUMBER: _ClassVar[int]
    store_id: str
    sku_count: int
    stock_value: _common_pb2.Money
    below_reorder_point_count: int
    out_of_stock_count: int
    below_reorder_point: _containers.RepeatedCompositeFieldContainer[PartShortage]
    out_of_stock: _containers.RepeatedCompositeFieldContainer[PartShortage]
    def __init__(self, store_id: _Optional[str] = ..., sku_count: _Optional[int] = ..., stock_value: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., below_reorder_point_count: _Optional[int] = ..., out_of_stock_count: _Optional[int] = ..., below_reorder_point: _Optional[_Iterable[_Union[PartShortage, _Mapping]]] = ..., out_of_stock: _Optional[_Iterable[_Union[PartShortage, _Mapping]]] = ...) -> None: ...
