"""What the relay benchmarks carry: a real VehicleReserved event, sized like production's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from marque.common.v1 import common_pb2
from marque.inventory.v1 import events_pb2, inventory_pb2
from marque_kit.db import Database, OutgoingEvent
from marque_kit.migrations import install_platform_tables

SOURCE = "marque/bench"
PRODUCER = "bench"


def _ts(at: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(at)
    return stamp


def vehicle_reserved(n: int, routing_key: str) -> OutgoingEvent:
    """The n-th reservation of a synthetic vehicle, as the inventory service would emit it."""
    now = datetime.now(UTC)
    vin = f"LRWBENCH{n:09d}"
    message = events_pb2.VehicleReserved(
        occurred_at=_ts(now),
        vehicle=events_pb2.VehicleSnapshot(
            vin=vin,
            store_id="SH01",
            brand="TESLA",
            model_code="TSL-MY",
            trim_code="TSL-MY-LR",
            colour_code="WHT",
            model_year=2026,
            energy_type=inventory_pb2.ENERGY_TYPE_BEV,
            status=inventory_pb2.VEHICLE_STATUS_RESERVED,
            cost=common_pb2.Money(amount_fen=28_100_000, currency_code="CNY"),
            msrp=common_pb2.Money(amount_fen=30_350_000, currency_code="CNY"),
            arrived_on=now.date().isoformat(),
            version=2,
        ),
        order_ref=f"SO-SH01-{n:06d}",
        reserved_until=_ts(now + timedelta(hours=72)),
    )
    return OutgoingEvent(message, routing_key, subject=vin, store_id="SH01", seq=2)


async def install_schema(db: Database) -> None:
    """Platform tables plus the two tables of the end-to-end figure (producer and consumer)."""

    def ddl(sync_conn: object) -> None:
        install_platform_tables(sync_conn)  # type: ignore[arg-type]

    async with db.engine.begin() as conn:
        await conn.run_sync(ddl)
        await _bench_tables(conn)


async def _bench_tables(conn: AsyncConnection) -> None:
    await conn.execute(
        text(
            "CREATE TABLE bench_reservations ("
            " order_ref text PRIMARY KEY, vin text NOT NULL,"
            " created_at timestamptz NOT NULL DEFAULT clock_timestamp())"
        )
    )
    await conn.execute(
        text(
            "CREATE TABLE bench_received ("
            " event_id text PRIMARY KEY, vin text NOT NULL,"
            " received_at timestamptz NOT NULL DEFAULT clock_timestamp())"
        )
    )
