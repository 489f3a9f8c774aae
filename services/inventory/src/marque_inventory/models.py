"""Inventory's tables (SQLModel). Every business row carries store_id; the catalog carries none."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, Identity, Index, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel


def _ts(**kw: Any) -> Any:
    return Field(sa_column=Column(DateTime(timezone=True), **kw))


def _created() -> Any:
    return Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), server_default=func.now(), nullable=False),
    )


# --- group-level reference data --------------------------------------------------------------


class Store(SQLModel, table=True):
    __tablename__ = "stores"
    id: str = Field(primary_key=True, max_length=20)
    name: str
    city: str
    timezone: str = "Asia/Shanghai"


class Brand(SQLModel, table=True):
    __tablename__ = "brands"
    code: str = Field(primary_key=True, max_length=20)
    name: str
    country: str = Field(max_length=2)
    wmi: str = Field(default="", max_length=3)


class VehicleModel(SQLModel, table=True):
    __tablename__ = "vehicle_models"
    code: str = Field(primary_key=True, max_length=40)
    brand_code: str = Field(foreign_key="brands.code", index=True)
    name: str
    body: str = ""


class Trim(SQLModel, table=True):
    __tablename__ = "trims"
    code: str = Field(primary_key=True, max_length=40)
    model_code: str = Field(foreign_key="vehicle_models.code", index=True)
    name: str
    energy_type: str = Field(max_length=4)
    msrp_fen: int = Field(sa_type=BigInteger)
    dealer_cost_fen: int = Field(sa_type=BigInteger)


class Colour(SQLModel, table=True):
    __tablename__ = "colours"
    code: str = Field(primary_key=True, max_length=20)
    name: str
    hex: str = ""


class VehicleOption(SQLModel, table=True):
    __tablename__ = "options"
    code: str = Field(primary_key=True, max_length=40)
    name: str
    price_fen: int = Field(sa_type=BigInteger)


class Part(SQLModel, table=True):
    __tablename__ = "parts"
    part_number: str = Field(primary_key=True, max_length=40)
    name: str
    unit_price_fen: int = Field(sa_type=BigInteger)
    unit_cost_fen: int = Field(sa_type=BigInteger)


# --- vehicles --------------------------------------------------------------------------------


class VehicleRow(SQLModel, table=True):
    __tablename__ = "vehicles"
    __table_args__ = (
        Index("vehicles_store_status", "store_id", "status"),
        Index("vehicles_search", "trim_code", "colour_code", "status"),
        Index("vehicles_reserved_until", "reserved_until", postgresql_where="status = 'reserved'"),
    )
    vin: str = Field(primary_key=True, max_length=17)
    store_id: str = Field(foreign_key="stores.id", max_length=20)
    model_code: str = Field(foreign_key="vehicle_models.code")
    trim_code: str = Field(foreign_key="trims.code")
    colour_code: str = Field(foreign_key="colours.code")
    model_year: int
    cost_fen: int = Field(sa_type=BigInteger)
    status: str = Field(max_length=20)
    arrived_on: date | None = None
    order_ref: str | None = None
    reservation_request_id: str | None = None
    reserved_until: datetime | None = _ts(nullable=True)
    transfer_id: str | None = None
    option_codes: list[str] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]")
    )
    # Highest 库龄 bucket (days) already alerted for the current stay, so each alert fires once.
    age_alerted_days: int = 0
    version: int = 1
    created_at: datetime | None = _created()
    updated_at: datetime | None = _created()


class VehicleRequest(SQLModel, table=True):
    """gRPC calls already applied, by request id: a retried call answers without acting twice."""

    __tablename__ = "vehicle_requests"
    request_id: str = Field(primary_key=True, max_length=100)
    method: str = Field(max_length=40)
    vin: str = Field(max_length=17)
    order_ref: str = ""
    created_at: datetime | None = _created()


class SafetyStockRule(SQLModel, table=True):
    """安全库存: the minimum number of in-stock vehicles of a model a store keeps."""

    __tablename__ = "safety_stock_rules"
    store_id: str = Field(primary_key=True, foreign_key="stores.id", max_length=20)
    model_code: str = Field(primary_key=True, foreign_key="vehicle_models.code")
    minimum: int
    version: int = 1


# --- parts -----------------------------------------------------------------------------------


class PartStockRow(SQLModel, table=True):
    __tablename__ = "part_stocks"
    store_id: str = Field(primary_key=True, foreign_key="stores.id", max_length=20)
    part_number: str = Field(primary_key=True, foreign_key="parts.part_number")
    on_hand: int = 0
    reserved: int = 0
    bin: str = ""
    reorder_point: int = 0
    average_unit_cost_fen: int = Field(default=0, sa_type=BigInteger)
    version: int = 1


class StockMovementRow(SQLModel, table=True):
    """The append-only ledger: one row per change of a part's stock in a store."""

    __tablename__ = "stock_movements"
    __table_args__ = (Index("stock_movements_part", "store_id", "part_number", "id"),)
    id: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(always=True), primary_key=True)
    )
    store_id: str = Field(max_length=20)
    part_number: str
    kind: str = Field(max_length=20)
    on_hand_delta: int
    reserved_delta: int
    reference: str
    on_hand_after: int
    reserved_after: int
    unit_cost_fen: int = Field(sa_type=BigInteger)
    occurred_at: datetime = _ts(nullable=False)


# --- transfers -------------------------------------------------------------------------------


class TransferRow(SQLModel, table=True):
    __tablename__ = "transfers"
    __table_args__ = (
        Index("transfers_from", "from_store_id", "status"),
        Index("transfers_to", "to_store_id", "status"),
    )
    id: str = Field(primary_key=True, max_length=40)
    kind: str = Field(max_length=10)
    from_store_id: str = Field(foreign_key="stores.id", max_length=20)
    to_store_id: str = Field(foreign_key="stores.id", max_length=20)
    vin: str | None = Field(default=None, max_length=17)
    lines: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]")
    )
    status: str = Field(max_length=20)
    requested_by: str
    approved_by: str | None = None
    reason: str = ""
    valuation: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    received_on: date | None = None
    version: int = 1
    created_at: datetime | None = _created()
    updated_at: datetime | None = _created()
