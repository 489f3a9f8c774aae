"""Write the golden event fixtures: one real envelope per inventory event type.

Run by hand when an event changes on purpose, then review the diff like any contract change:

    .venv/bin/python tests/contract/make_fixtures.py

Each fixture is what the producer really emits: a realistic domain event, mapped by
`marque_inventory.events.to_outgoing` with realistic catalog facts, wrapped by
`marque_kit.envelope.wrap` inside a request context (correlation id, traceparent), written as
`tests/contract/fixtures/<CloudEvents type>.json`. Ids and times are fixed so that reruns give
the same bytes. `test_inventory_events.py` imports the builders from here (variant 1 gives other
values of the same shape) to check that the producer still emits these shapes.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from marque_inventory.domain import events as ev
from marque_inventory.domain.part_lines import CostedPartLine, PartLine
from marque_inventory.events import TrimFacts, to_outgoing
from marque_kit.context import correlation_id_var, traceparent_var
from marque_kit.db import OutgoingEvent
from marque_kit.envelope import Envelope, wrap

FIXTURES = Path(__file__).resolve().parent / "fixtures"
EVENTS_PROTO = (
    Path(__file__).resolve().parents[2] / "protos" / "marque" / "inventory" / "v1" / "events.proto"
)
SOURCE = "marque/inventory"
# Fixed so that regenerating the fixtures is byte-for-byte repeatable.
ID_NAMESPACE = uuid.UUID("6f1c1d3e-8a61-4c1e-9f3b-6d2a4b8e0c11")
FIXED_TIME = datetime(2026, 3, 2, 1, 30, 5, 123000, tzinfo=UTC)
CORRELATION = "9b2f6c1e8d4a4f0b9e3c5a7d1f2e4b6c"
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

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
    at = FIXED_TIME - timedelta(seconds=5) + timedelta(days=variant * 40)
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


@contextmanager
def request_context(
    correlation: str = CORRELATION, traceparent: str = TRACEPARENT
) -> Iterator[None]:
    """What a request served by the inventory binds before it writes its events."""
    tokens = (correlation_id_var.set(correlation), traceparent_var.set(traceparent))
    try:
        yield
    finally:
        correlation_id_var.reset(tokens[0])
        traceparent_var.reset(tokens[1])


def produce(
    event: ev.InventoryEvent,
    *,
    event_id: str | None = None,
    time: datetime | None = None,
) -> tuple[OutgoingEvent, Envelope]:
    """The producer's path (as `marque_kit.db.write_outbox` takes it): map, then wrap."""
    out = to_outgoing(event, FACTS)
    envelope = wrap(
        out.message,
        source=SOURCE,
        subject=out.subject,
        store=out.store_id,
        seq=out.seq,
        event_id=event_id,
        time=time,
    )
    return out, envelope


def routing_keys_in_proto() -> dict[str, str]:
    """{message name: routing key} from the `// Routing key:` comments in events.proto."""
    found = re.findall(
        r"//\s*Routing key:\s*(\S+)\s*\n\s*message\s+(\w+)", EVENTS_PROTO.read_text("utf-8")
    )
    return {message: key for key, message in found}


def fixture_path(event_type: str) -> Path:
    return FIXTURES / f"{event_type}.json"


def render(envelope: Envelope) -> str:
    return json.dumps(envelope.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def generate() -> dict[Path, str]:
    """{fixture path: its text} for the reference events (variant 0)."""
    files: dict[Path, str] = {}
    with request_context():
        for event in build_events(0):
            name = type(event).__name__
            _, envelope = produce(
                event, event_id=str(uuid.uuid5(ID_NAMESPACE, name)), time=FIXED_TIME
            )
            files[fixture_path(envelope.type)] = render(envelope)
    return files


def main() -> None:
    FIXTURES.mkdir(exist_ok=True)
    for path, text in generate().items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(FIXTURES.parents[2])}")


if __name__ == "__main__":
    main()
