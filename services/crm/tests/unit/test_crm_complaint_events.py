"""ComplaintRegistered against its golden fixture (DESIGN.md §4).

Producer side: what `complaints_service.complaint_registered_event` emits has the fixture's
envelope keys, the same `data` shape, type and routing key. Consumer side (aftersales, which will
open the repair side of a complaint, ADR 0023): the fixture parses into the proto class and
carries the repair order and VIN. The fixture is written by this module from the reference
complaint below, with fixed ids and times; after an intended change regenerate it and review the
diff:

    .venv/bin/python services/crm/tests/unit/test_crm_complaint_events.py
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from marque.crm.v1 import events_pb2
from marque_crm.complaints_service import ROUTING_KEY, complaint_registered_event
from marque_crm.models import Complaint
from marque_kit.context import correlation_id_var, traceparent_var
from marque_kit.db import OutgoingEvent
from marque_kit.envelope import Envelope, wrap

ROOT = Path(__file__).resolve().parents[4]
FIXTURES = ROOT / "tests" / "contract" / "fixtures"
EVENTS_PROTO = ROOT / "protos" / "marque" / "crm" / "v1" / "events.proto"
SOURCE = "marque/crm"
TYPE = "marque.crm.v1.ComplaintRegistered"
ID_NAMESPACE = uuid.UUID("9e2d4b61-3c7a-4f18-b5e0-7a1c9d3f6b24")
FIXED_TIME = datetime(2026, 3, 2, 6, 40, 12, 125000, tzinfo=UTC)
CORRELATION = "6a1c3e5b7d9f4a2c8e0b2d4f6a8c1e3b"
TRACEPARENT = "00-1b3d5f7a9c2e4a6c8e0a2c4e6a8b0d2f-5e7a9c1b3d5f7a9c-01"


def reference_event(variant: int = 0) -> OutgoingEvent:
    """A customer in Shanghai complains, by the 400 hotline, of engine noise after a service
    (repair order and VIN given: aftersales' side). Variant 1, a billing complaint in Guangzhou
    with no vehicle concerned, fills the same fields with other values."""
    at = datetime(2026, 3, 2, 6, 40, tzinfo=UTC)
    complaint = Complaint(
        id=str(uuid.uuid5(ID_NAMESPACE, f"complaint-{variant}")),
        store_id=("SH01", "GZ01")[variant],
        customer_id=str(uuid.uuid5(ID_NAMESPACE, f"customer-{variant}")),
        department=("service", "finance")[variant],
        category=("repair_quality", "billing")[variant],
        severity=("high", "low")[variant],
        channel=("hotline_400", "walk_in")[variant],
        summary=("保养后发动机异响 engine noise after the 20,000 km service", "发票抬头错误")[
            variant
        ],
        status="received",
        # 240 business minutes from 14:40 Shanghai (stores open 09:00-18:00): 09:40 next day.
        respond_by=datetime(2026, 3, (3, 5)[variant], 1, 40, tzinfo=UTC),
        repair_order=("RO-SH01-20260227-0042", "RO-GZ01-20260301-0007")[variant],
        vin=("LGXCE4CB5R0123456", "LFV2A21K8N3045678")[variant],
        created_at=at,
        version=1,
    )
    return complaint_registered_event(complaint)


@contextmanager
def request_context(
    correlation: str = CORRELATION, traceparent: str = TRACEPARENT
) -> Iterator[None]:
    tokens = (correlation_id_var.set(correlation), traceparent_var.set(traceparent))
    try:
        yield
    finally:
        correlation_id_var.reset(tokens[0])
        traceparent_var.reset(tokens[1])


def produce(
    out: OutgoingEvent, *, event_id: str | None = None, time: datetime | None = None
) -> Envelope:
    """The producer's path (as `marque_kit.db.write_outbox` takes it): wrap the outgoing event."""
    return wrap(
        out.message,
        source=SOURCE,
        subject=out.subject,
        store=out.store_id,
        seq=out.seq,
        event_id=event_id,
        time=time,
    )


FIXTURE = FIXTURES / f"{TYPE}.json"


def render(envelope: Envelope) -> str:
    return json.dumps(envelope.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def generate() -> str:
    with request_context():
        envelope = produce(
            reference_event(0),
            event_id=str(uuid.uuid5(ID_NAMESPACE, "ComplaintRegistered")),
            time=FIXED_TIME,
        )
    return render(envelope)


def routing_keys_in_proto() -> dict[str, str]:
    found = re.findall(
        r"//\s*Routing key:\s*([\w.]+)[^\n]*\n\s*message\s+(\w+)", EVENTS_PROTO.read_text("utf-8")
    )
    return {message: key for key, message in found}


def shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: shape(item) for key, item in sorted(value.items())}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def test_producer_emits_the_fixture_shape() -> None:
    out = reference_event(variant=1)
    with request_context(
        correlation="77ab", traceparent="00-" + "ef" * 16 + "-" + "12" * 8 + "-01"
    ):
        envelope = produce(out)
    assert FIXTURE.exists(), "no golden fixture for ComplaintRegistered; regenerate it"
    fixture = json.loads(FIXTURE.read_text("utf-8"))
    emitted = envelope.to_dict()
    assert sorted(emitted) == sorted(fixture)
    assert shape(emitted["data"]) == shape(fixture["data"])
    assert emitted["type"] == fixture["type"] == TYPE
    assert emitted["source"] == fixture["source"] == SOURCE
    assert emitted["marquestore"] == out.store_id == "GZ01"
    assert emitted["subject"] == out.message.complaint_id  # type: ignore[attr-defined]
    assert routing_keys_in_proto()["ComplaintRegistered"] == out.routing_key == ROUTING_KEY


def test_the_fixture_is_what_the_producer_emits_for_the_reference_complaint() -> None:
    assert FIXTURE.read_text("utf-8") == generate(), "the fixture is stale; regenerate it"


def test_aftersales_can_parse_the_fixture_and_find_the_repair_side() -> None:
    envelope = Envelope.from_json(FIXTURE.read_bytes())
    message: Any = envelope.parse(events_pb2.ComplaintRegistered)
    assert envelope.source == SOURCE and envelope.store == message.store_id == "SH01"
    assert envelope.subject == message.complaint_id
    assert message.department == "service" and message.category == "repair_quality"
    assert message.repair_order == "RO-SH01-20260227-0042"
    assert message.vin == "LGXCE4CB5R0123456"
    assert message.respond_by.ToDatetime(tzinfo=UTC) > message.occurred_at.ToDatetime(tzinfo=UTC)
    data = json.loads(FIXTURE.read_text("utf-8"))["data"]
    assert data["repairOrder"] == "RO-SH01-20260227-0042" and "respondBy" in data


if __name__ == "__main__":
    FIXTURES.mkdir(parents=True, exist_ok=True)
    FIXTURE.write_text(generate(), encoding="utf-8")
    print(f"wrote {FIXTURE.relative_to(ROOT)}")
