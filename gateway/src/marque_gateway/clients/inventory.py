"""The gateway's gRPC client of inventory, for composed views.

Every call carries the caller's signed principal (`x-marque-principal`, so inventory applies its
own permission and store checks) and a deadline; a failed call comes back as the domain error
inventory raised (`Unavailable` when it is down or too slow).
"""

from __future__ import annotations

import grpc
from pydantic import BaseModel, Field

from marque.inventory.v1 import inventory_pb2 as inv
from marque.inventory.v1 import inventory_service_pb2 as svc
from marque.inventory.v1.inventory_service_pb2_grpc import InventoryServiceStub
from marque_kit.auth import METADATA_KEY
from marque_kit.rpc import domain_errors

_STATUS_PREFIX = "VEHICLE_STATUS_"


class ModelInStock(BaseModel):
    model_code: str
    model_name: str
    in_stock: int


class AgeBucket(BaseModel):
    bucket: str = Field(examples=["0-30"])
    count: int
    cost_fen: int = Field(description="Dealer cost tied up in these vehicles, VAT excluded")


class VehicleStockSummary(BaseModel):
    counts_by_status: dict[str, int] = Field(description="Vehicles per status, every status listed")
    in_stock_by_model: list[ModelInStock]
    age_buckets: list[AgeBucket] = Field(description="库龄: vehicles that age, per bucket")
    oldest_vehicle_days: int
    business_date: str


class PartShortage(BaseModel):
    part_number: str
    name: str
    on_hand: int
    available: int
    reorder_point: int


class PartsStockSummary(BaseModel):
    sku_count: int
    stock_value_fen: int = Field(description="On-hand stock at moving-average cost, VAT excluded")
    below_reorder_point_count: int
    out_of_stock_count: int
    below_reorder_point: list[PartShortage] = Field(description="The 20 shortest, worst first")
    out_of_stock: list[PartShortage] = Field(description="Up to 20, by part number")


def _status_name(value: int) -> str:
    return inv.VehicleStatus.Name(value).removeprefix(_STATUS_PREFIX).lower()


def _shortage(part: svc.PartShortage) -> PartShortage:
    return PartShortage(
        part_number=part.part_number,
        name=part.name,
        on_hand=part.on_hand,
        available=part.available,
        reorder_point=part.reorder_point,
    )


class InventoryClient:
    def __init__(self, channel: grpc.aio.Channel, *, principal_token: str, timeout: float) -> None:
        self.stub = InventoryServiceStub(channel)
        self.metadata = ((METADATA_KEY, principal_token),)
        self.timeout = timeout

    async def vehicle_stock_summary(self, store_id: str) -> VehicleStockSummary:
        with domain_errors():
            answer: svc.GetVehicleStockSummaryResponse = await self.stub.GetVehicleStockSummary(
                svc.GetVehicleStockSummaryRequest(store_id=store_id),
                metadata=self.metadata,
                timeout=self.timeout,
            )
        counts = {
            _status_name(v): 0
            for v in inv.VehicleStatus.values()
            if v != inv.VEHICLE_STATUS_UNSPECIFIED
        }
        for entry in answer.status_counts:
            counts[_status_name(entry.status)] = entry.count
        return VehicleStockSummary(
            counts_by_status=counts,
            in_stock_by_model=[
                ModelInStock(model_code=m.model_code, model_name=m.model_name, in_stock=m.in_stock)
                for m in answer.in_stock_by_model
            ],
            age_buckets=[
                AgeBucket(bucket=b.bucket, count=b.count, cost_fen=b.cost.amount_fen)
                for b in answer.age_buckets
            ],
            oldest_vehicle_days=answer.oldest_vehicle_days,
            business_date=answer.business_date,
        )

    async def parts_stock_summary(self, store_id: str) -> PartsStockSummary:
        with domain_errors():
            answer: svc.GetPartsStockSummaryResponse = await self.stub.GetPartsStockSummary(
                svc.GetPartsStockSummaryRequest(store_id=store_id),
                metadata=self.metadata,
                timeout=self.timeout,
            )
        return PartsStockSummary(
            sku_count=answer.sku_count,
            stock_value_fen=answer.stock_value.amount_fen,
            below_reorder_point_count=answer.below_reorder_point_count,
            out_of_stock_count=answer.out_of_stock_count,
            below_reorder_point=[_shortage(p) for p in answer.below_reorder_point],
            out_of_stock=[_shortage(p) for p in answer.out_of_stock],
        )
