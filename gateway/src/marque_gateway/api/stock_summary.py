"""`GET /api/v1/group/stores/{store_id}/stock-summary`: one store's stock at a glance.

Composed by the gateway from inventory's vehicles and parts summaries (gRPC, concurrently, each
within `compose_deadline_seconds`) and the gateway's own staff count. When inventory is down the
answer is still 200: its sections are null, `partial` is true and `unavailable` says why.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlmodel import col

from marque_gateway.clients.inventory import InventoryClient, PartsStockSummary, VehicleStockSummary
from marque_gateway.compose import Section, compose, grpc_channel
from marque_gateway.deps import GatewayDep, require
from marque_gateway.gateway import Gateway
from marque_gateway.models import User
from marque_gateway.proxy import principal_signer
from marque_kit.auth import Principal

router = APIRouter(prefix="/api/v1/group", tags=["group: composed views"])

PERMISSION = "inventory.vehicles:read"


class StaffSummary(BaseModel):
    active_users: int = Field(description="Enabled accounts that work in this store")
    by_role: dict[str, int] = Field(description="Enabled accounts per role (one user may hold two)")


class UnavailableSection(BaseModel):
    section: str = Field(examples=["vehicles"])
    service: str = Field(examples=["inventory"])
    reason: str = Field(examples=["inventory is not answering; try again shortly."])


class StockSummaryOut(BaseModel):
    store_id: str
    vehicles: VehicleStockSummary | None
    parts: PartsStockSummary | None = Field(description="Needs inventory.parts:read")
    staff: StaffSummary | None
    partial: bool = Field(description="True when a section is missing; see `unavailable`")
    unavailable: list[UnavailableSection]


async def staff_summary(gateway: Gateway, store_id: str) -> StaffSummary:
    """Enabled users of the store (not HQ's `*`), per role, from the gateway's own table."""
    in_store = col(User.stores).contains([store_id])
    enabled = col(User.disabled).is_(False)
    role = func.unnest(col(User.roles)).label("role")
    per_role = (
        select(role, func.count())
        .select_from(User)
        .where(enabled, in_store)
        .group_by(role)
        .order_by(role)
    )
    total = select(func.count()).select_from(User).where(enabled, in_store)
    async with gateway.db.session() as session:
        rows = (await session.execute(per_role)).all()
        active = int(await session.scalar(total) or 0)
    return StaffSummary(active_users=active, by_role={str(r): int(n) for r, n in rows})


@router.get(
    "/stores/{store_id}/stock-summary",
    response_model=StockSummaryOut,
    summary="One store's stock at a glance (vehicles, parts, staff)",
)
async def stock_summary(
    store_id: str,
    gateway: GatewayDep,
    principal: Annotated[Principal, Depends(require(PERMISSION))],
) -> dict[str, Any]:
    """Vehicles by status, in stock by model and by 库龄 bucket; parts value and shortages; staff
    per role. Another store answers 404. A section whose service is down is null, `partial` is
    true and `unavailable` names it; the answer is still 200."""
    store_id = store_id.strip().upper()
    principal.require_store(store_id, what=f"Store {store_id}")
    settings = gateway.settings
    inventory = InventoryClient(
        grpc_channel(gateway, "inventory"),
        principal_token=principal_signer(gateway).token_for(principal),
        timeout=settings.compose_deadline_seconds,
    )
    composed = await compose(
        [
            Section("vehicles", "inventory", lambda: inventory.vehicle_stock_summary(store_id)),
            Section(
                "parts",
                "inventory",
                lambda: inventory.parts_stock_summary(store_id),
                permission="inventory.parts:read",
            ),
            Section("staff", "gateway", lambda: staff_summary(gateway, store_id)),
        ],
        principal=principal,
        deadline_seconds=settings.compose_deadline_seconds,
    )
    return composed.body(store_id=store_id)
