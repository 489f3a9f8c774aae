"""Write the golden event fixtures: one real envelope per inventory event type.

Run by hand when an event changes on purpose, then review the diff like any contract change:

    .venv/bin/python tests/contract/make_fixtures.py

Each fixture is what the producer really emits: a realistic domain event, mapped by
`marque_inventory.events.to_outgoing` with realistic catalog facts, wrapped by
`marque_kit.envelope.wrap` inside a request context (correlation id, traceparent), written as
`tests/contract/fixtures/<CloudEvents type>.json` (`marque_kit.testing.golden` does the
producing, writing and checking for every producer). Ids and times are fixed so that reruns give
the same bytes. `test_inventory_events.py` imports the builders from here (variant 1 gives other
values of the same shape) to check that the producer still emits these shapes.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from marque.inventory.v1 import events_pb2
from marque_inventory.domain import events as ev
from marque_inventory.domain.part_lines import CostedPartLine, PartLine
from marque_inventory.events import TrimFacts, to_outgoing
from marque_kit.db import OutgoingEvent
from marque_kit.testing.golden import Golden

# Fixed so that regenerating the fixtures is byte-for-byte repeatable.
GOLDEN = Golden(
    events_pb2,
    __file__,
    id_namespace=uuid.UUID("6f1c1d3e-8a61-4c1e-9f3b-6d2a4b8e0c11"),
    fixed_time=datetime(2026, 3, 2, 1, 30, 5, 123000, tzinfo=UTC),
    correlation="9b2f6c1e8d4a4f0b9e3c5a7d1f2e4b6c",
    traceparent="00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
)
# What the catalog answers for the trims used below (brand, energy type, VAT-inclusive MSRP).
FACTS: dict[str, TrimFacts] = {
    "BYD-HAN-EV-610": TrimFacts("BYD", "BEV", 20_980_000),
    "TYT-CAMRY-HEV": TrimFacts("TOYOTA", "HEV", 23_980_000),
}


def _vehicle(variant: int, *, status: str, version: int) -> dict[str, Any]:
    """The vehicle fields every vehicle event carries, as they stand after the change."""
    if variant == 0:
        return dict(
            vin="LGXCE4CB5R0123456",
            store_id="SH01",
            model_code="BYD-HAN",
            trim_code="BYD-HAN-EV-610",
            colour_code="WHT",
            model_year=2026,
            cost_fen=19_100_000,
            status=status,
            version=version,
        )
    return dict(
        vin="LVGBE40K8SG654321",
        store_id="GZ01",
        model_code="TYT-CAMRY",
        trim_code="TYT-CAMRY-HEV",
        colour_code="BLK",
        model_year=2025,
        cost_fen=20_800_000,
        status=status,
        version=version + 3,
    )


def _transfer(variant: int, *, kind: str, status: str, version: int) -> dict[str, Any]:
    stores = ("BJ01", "SH01") if variant == 0 else ("CD01", "WH01")
    lines = (
        (PartLine("06L115562B", 12), PartLine("G052167M2", 20))
        if variant == 0
        else (PartLine("04152-YZZA1", 3),)
    )
    return dict(
        transfer_id=f"TR-{stores[0]}-{20260302 + variant}-0007",
        kind=kind,
        from_store_id=stores[0],
        to_store_id=stores[1],
        status=status,
        version=version + variant,
        vin=(
            _vehicle(variant, status="in_transfer", version=1)["vin"] if kind == "vehicle" else None
        ),
        lines=lines if kind == "parts" else (),
    )


def _costed(variant: int) -> tuple[CostedPartLine, ...]:
    if variant == 0:
        return (CostedPartLine("06L115562B", 12, 5_200), CostedPartLine("G052167M2", 20, 29_000))
    return (CostedPartLine("04152-YZZA1", 3, 4_100),)


def _part(variant: int, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = (
        dict(store_id="SH01", part_number="06L115562B", reference="RO-SH01-20260302-0042")
        if variant == 0
        else dict(store_id="BJ01", part_number="17801-21050", reference="PO-BJ01-2026-0117")
    )
    return {**base, **fields}


def build_events(variant: int = 0) -> list[ev.InventoryEvent]:
    """One realistic domain event per concrete inventory event type.

    Variant 0 is what the fixtures hold; variant 1 has other values in the same fields, so the
    producer test compares shapes, not copies.
    """
    at = GOLDEN.fixed_time - timedelta(seconds=5) + timedelta(days=variant * 40)
    day = at.date()
    v = variant
    vehicle = partial_vehicle(v)
    return [
        ev.VehicleRegistered(occurred_at=at, **vehicle("on_order", 1)),
        ev.VehicleArrived(occurred_at=at, **vehicle("in_stock", 2)),
        ev.VehicleReserved(
            occurred_at=at,
            **vehicle("reserved", 3),
            order_ref=f"SO-SH01-{123 + v:06d}",
            request_id=f"sales-reserve-{41 + v}",
            expires_at=at + timedelta(hours=72),
        ),
        ev.VehicleReservationReleased(
            occurred_at=at,
            **vehicle("in_stock", 4),
            order_ref=f"SO-SH01-{123 + v:06d}",
            reason="客户取消订单 customer cancelled the order" if v == 0 else "car swapped",
        ),
        ev.VehicleReservationExpired(
            occurred_at=at,
            **vehicle("in_stock", 4),
            order_ref=f"SO-SH01-{124 + v:06d}",
            expired_at=at,
        ),
        ev.VehicleSold(occurred_at=at, **vehicle("sold", 5), order_ref=f"SO-SH01-{125 + v:06d}"),
        ev.VehicleDelivered(
            occurred_at=at,
            **vehicle("delivered", 6),
            order_ref=f"SO-SH01-{125 + v:06d}",
        ),
        ev.VehicleDemoAssigned(occurred_at=at, **vehicle("demo", 3)),
        ev.VehicleDemoReturned(occurred_at=at, **vehicle("in_stock", 4)),
        ev.TransferRequested(
            occurred_at=at,
            **_transfer(v, kind="vehicle", status="requested", version=1),
            requested_by="user:sh01-sales-manager",
            reason="客户指定颜色 customer wants this colour",
        ),
        ev.TransferApproved(
            occurred_at=at,
            **_transfer(v, kind="vehicle", status="approved", version=2),
            approved_by="user:hq-ops",
        ),
        ev.TransferRejected(
            occurred_at=at,
            **_transfer(v, kind="parts", status="rejected", version=2),
            rejected_by="user:hq-ops",
            reason="sending store below safety stock",
        ),
        ev.TransferCancelled(
            occurred_at=at,
            **_transfer(v, kind="parts", status="cancelled", version=2),
            cancelled_by="user:sh01-parts-clerk",
            reason="bought locally",
        ),
        ev.TransferShipped(
            occurred_at=at,
            **_transfer(v, kind="vehicle", status="shipped", version=3),
            shipped_by="user:bj01-stock-clerk",
            vehicle_cost_fen=19_100_000 + v,
            costed_lines=(),
            value_fen=19_100_000 + v,
        ),
        ev.TransferReceived(
            occurred_at=at,
            **_transfer(v, kind="parts", status="received", version=4),
            received_by="user:sh01-parts-clerk",
            received_on=day,
            vehicle_cost_fen=None,
            costed_lines=_costed(v),
            value_fen=sum(c.value_fen for c in _costed(v)),
        ),
        ev.PartsReceived(
            occurred_at=at,
            **_part(v, quantity=24, on_hand=31, reserved=2, version=7),
            unit_cost_fen=5_200 + v,
        ),
        ev.PartsReserved(occurred_at=at, **_part(v, quantity=1, on_hand=31, reserved=3, version=8)),
        ev.PartsReleased(occurred_at=at, **_part(v, quantity=1, on_hand=31, reserved=2, version=9)),
        ev.PartsConsumed(
            occurred_at=at,
            **_part(v, quantity=1, on_hand=30, reserved=1, version=10),
            unit_cost_fen=5_150 + v,
        ),
        ev.PartBelowReorderPoint(
            occurred_at=at,
            store_id="SH01" if v == 0 else "BJ01",
            part_number="06L115562B",
            available=4 + v,
            reorder_point=5 + v,
            on_hand=6 + v,
            reserved=2,
            version=11 + v,
        ),
        ev.SafetyStockBreached(
            occurred_at=at,
            store_id="SH01" if v == 0 else "GZ01",
            model_code="BYD-HAN" if v == 0 else "TYT-CAMRY",
            minimum=3 + v,
            in_stock=2 + v,
        ),
        ev.StockAgeThresholdCrossed(
            occurred_at=at,
            vin=vehicle("in_stock", 2)["vin"],
            store_id="SH01" if v == 0 else "GZ01",
            model_code="BYD-HAN" if v == 0 else "TYT-CAMRY",
            trim_code="BYD-HAN-EV-610" if v == 0 else "TYT-CAMRY-HEV",
            cost_fen=19_100_000,
            arrived_on=day - timedelta(days=91 + v * 30),
            age_days=91 + v * 30,
            threshold_days=90 + v * 30,
            bucket="90+" if v == 0 else "120+",
            version=2,
        ),
    ]


def partial_vehicle(variant: int) -> Callable[[str, int], dict[str, Any]]:
    def fields(status: str, version: int) -> dict[str, Any]:
        arrived = None if status == "on_order" else date(2026, 10, 2) + timedelta(days=variant)
        return {**_vehicle(variant, status=status, version=version), "arrived_on": arrived}

    return fields


def outgoing(event: ev.InventoryEvent) -> OutgoingEvent:
    """The producer's mapping of a domain event (with the catalog facts above)."""
    return to_outgoing(event, FACTS)


if __name__ == "__main__":
    GOLDEN.write(map(outgoing, build_events(0)))
