"""gRPC servicer: proto <-> domain mapping lives only here; the kit maps errors to codes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from marque.inventory.v1 import inventory_pb2 as inv
from marque.inventory.v1 import inventory_service_pb2 as svc
from marque.inventory.v1 import inventory_service_pb2_grpc
from marque_inventory.domain.ageing import AgeBuckets
from marque_inventory.domain.vehicles import Vehicle
from marque_inventory.events import money, timestamp, vehicle_status
from marque_inventory.parts_service import RecordedMovement, run_parts_request, stock_levels
from marque_inventory.repository import load_vehicle
from marque_inventory.stock_service import (
    PartShortage,
    business_date,
    parts_stock_summary,
    vehicle_stock_summary,
)
from marque_inventory.unit_of_work import Inventory
from marque_inventory.vehicle_service import (
    mark_vehicle_delivered,
    mark_vehicle_sold,
    release_vehicle,
    reserve_vehicle,
)
from marque_kit.errors import InvalidInput
from marque_kit.rpc import current_principal

DEFAULT_HOLD = timedelta(hours=72)


def vehicle_message(vehicle: Vehicle) -> inv.Vehicle:
    held = vehicle.reservation
    message = inv.Vehicle(
        vin=vehicle.vin,
        store_id=vehicle.store_id,
        model_code=vehicle.model_code,
        trim_code=vehicle.trim_code,
        colour_code=vehicle.colour_code,
        model_year=vehicle.model_year,
        status=vehicle_status(vehicle.status.value),  # type: ignore[arg-type]
        cost=money(vehicle.cost_fen),
        arrived_on=vehicle.arrived_on.isoformat() if vehicle.arrived_on else "",
        order_ref=held.order_ref if held else "",
        version=vehicle.version,
    )
    if held:
        message.reserved_until.CopyFrom(timestamp(held.expires_at))
    return message


def _required(value: str, field: str) -> str:
    if not value.strip():
        raise InvalidInput(f"{field} is required.", errors=[{"field": field, "rule": "required"}])
    return value


def _shortage(part: PartShortage) -> svc.PartShortage:
    return svc.PartShortage(
        part_number=part.part_number,
        name=part.name,
        on_hand=part.on_hand,
        available=part.available,
        reorder_point=part.reorder_point,
    )


class InventoryRpc(inventory_service_pb2_grpc.InventoryServiceServicer):
    def __init__(self, inventory: Inventory, age_buckets: AgeBuckets | None = None) -> None:
        self.inventory = inventory
        self.age_buckets = age_buckets or AgeBuckets()

    async def ReserveVehicle(
        self, request: svc.ReserveVehicleRequest, context: Any
    ) -> svc.ReserveVehicleResponse:
        expires_at = (
            request.expires_at.ToDatetime(tzinfo=UTC)
            if request.HasField("expires_at")
            else datetime.now(UTC) + DEFAULT_HOLD
        )
        vehicle = await reserve_vehicle(
            self.inventory,
            current_principal(),
            request_id=request.request_id,
            vin=_required(request.vin, "vin"),
            order_ref=_required(request.order_ref, "order_ref"),
            expires_at=expires_at,
            store_id=request.store_id,
        )
        return svc.ReserveVehicleResponse(vehicle=vehicle_message(vehicle))

    async def ReleaseVehicle(
        self, request: svc.ReleaseVehicleRequest, context: Any
    ) -> svc.ReleaseVehicleResponse:
        reason = request.reason or "released by order"
        vehicle = await release_vehicle(
            self.inventory,
            current_principal(),
            request_id=request.request_id,
            vin=_required(request.vin, "vin"),
            order_ref=_required(request.order_ref, "order_ref"),
            reason=reason,
        )
        return svc.ReleaseVehicleResponse(vehicle=vehicle_message(vehicle))

    async def MarkSold(self, request: svc.MarkSoldRequest, context: Any) -> svc.MarkSoldResponse:
        vehicle = await mark_vehicle_sold(
            self.inventory,
            current_principal(),
            request_id=request.request_id,
            vin=_required(request.vin, "vin"),
            order_ref=_required(request.order_ref, "order_ref"),
        )
        return svc.MarkSoldResponse(vehicle=vehicle_message(vehicle))

    async def MarkDelivered(
        self, request: svc.MarkDeliveredRequest, context: Any
    ) -> svc.MarkDeliveredResponse:
        vehicle = await mark_vehicle_delivered(
            self.inventory,
            current_principal(),
            request_id=request.request_id,
            vin=_required(request.vin, "vin"),
            order_ref=_required(request.order_ref, "order_ref"),
        )
        return svc.MarkDeliveredResponse(vehicle=vehicle_message(vehicle))

    async def GetVehicle(
        self, request: svc.GetVehicleRequest, context: Any
    ) -> svc.GetVehicleResponse:
        principal = current_principal()
        principal.require("inventory.vehicles:read")
        async with self.inventory.db.session() as session:
            vehicle = await load_vehicle(session, _required(request.vin, "vin").strip().upper())
        principal.require_store(vehicle.store_id, what=f"Vehicle {request.vin}")
        return svc.GetVehicleResponse(vehicle=vehicle_message(vehicle))

    @staticmethod
    def _part_movement(movement: RecordedMovement) -> inv.PartMovement:
        return inv.PartMovement(
            movement_id=str(movement.movement_id),
            part_number=movement.part_number,
            quantity=movement.quantity,
            unit_cost=money(movement.unit_cost_fen),
            on_hand_after=movement.on_hand_after,
            available_after=movement.available_after,
        )

    async def _part_lines(self, method: str, request: Any) -> list[inv.PartMovement]:
        """Reserve, consume or release: the three requests share one shape."""
        movements = await run_parts_request(
            self.inventory,
            current_principal(),
            method,
            request_id=request.request_id,
            store_id=_required(request.store_id, "store_id"),
            reference=_required(request.reference, "reference"),
            lines=[(line.part_number, line.quantity) for line in request.lines],
        )
        return [self._part_movement(m) for m in movements]

    async def ReserveParts(
        self, request: svc.ReservePartsRequest, context: Any
    ) -> svc.ReservePartsResponse:
        return svc.ReservePartsResponse(movements=await self._part_lines("reserve", request))

    async def ConsumeParts(
        self, request: svc.ConsumePartsRequest, context: Any
    ) -> svc.ConsumePartsResponse:
        return svc.ConsumePartsResponse(movements=await self._part_lines("consume", request))

    async def ReleaseParts(
        self, request: svc.ReleasePartsRequest, context: Any
    ) -> svc.ReleasePartsResponse:
        return svc.ReleasePartsResponse(movements=await self._part_lines("release", request))

    async def GetStockLevels(
        self, request: svc.GetStockLevelsRequest, context: Any
    ) -> svc.GetStockLevelsResponse:
        stocks = await stock_levels(
            self.inventory,
            current_principal(),
            store_id=_required(request.store_id, "store_id"),
            part_numbers=list(request.part_numbers),
        )
        return svc.GetStockLevelsResponse(
            stock_levels=[
                inv.StockLevel(
                    part_number=s.part_number,
                    store_id=s.store_id,
                    on_hand=s.on_hand,
                    reserved=s.reserved,
                    available=s.available,
                    bin=s.bin,
                    reorder_point=s.reorder_point,
                )
                for s in stocks
            ]
        )

    async def GetVehicleStockSummary(
        self, request: svc.GetVehicleStockSummaryRequest, context: Any
    ) -> svc.GetVehicleStockSummaryResponse:
        summary = await vehicle_stock_summary(
            self.inventory,
            current_principal(),
            store_id=_required(request.store_id, "store_id").strip(),
            buckets=self.age_buckets,
            today=business_date(),
        )
        return svc.GetVehicleStockSummaryResponse(
            store_id=summary.store_id,
            status_counts=[
                svc.VehicleStatusCount(status=vehicle_status(status), count=n)  # type: ignore[arg-type]
                for status, n in summary.counts_by_status.items()
                if n
            ],
            in_stock_by_model=[
                svc.ModelStockCount(
                    model_code=m.model_code, model_name=m.model_name, in_stock=m.in_stock
                )
                for m in summary.in_stock_by_model
            ],
            age_buckets=[
                svc.AgeBucketCount(bucket=b.bucket, count=b.count, cost=money(b.cost_fen))
                for b in summary.age_buckets
            ],
            oldest_vehicle_days=summary.oldest_vehicle_days,
            business_date=summary.business_date.isoformat(),
        )

    async def GetPartsStockSummary(
        self, request: svc.GetPartsStockSummaryRequest, context: Any
    ) -> svc.GetPartsStockSummaryResponse:
        summary = await parts_stock_summary(
            self.inventory,
            current_principal(),
            store_id=_required(request.store_id, "store_id").strip(),
        )
        return svc.GetPartsStockSummaryResponse(
            store_id=summary.store_id,
            sku_count=summary.sku_count,
            stock_value=money(summary.stock_value_fen),
            below_reorder_point_count=summary.below_reorder_point_count,
            out_of_stock_count=summary.out_of_stock_count,
            below_reorder_point=[_shortage(p) for p in summary.below_reorder_point],
            out_of_stock=[_shortage(p) for p in summary.out_of_stock],
        )
