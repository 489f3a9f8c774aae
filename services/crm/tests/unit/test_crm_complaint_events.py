"""ComplaintRegistered against its golden fixture (DESIGN.md §4).

Producer side: what `complaints_service.complaint_registered_event` emits has the fixture's
envelope keys, the same `data` shape, type and routing key. Consumer side (aftersales, which will
open the repair side of a complaint, ADR 0023): the fixture parses into the proto class and
carries the repair order and VIN. The fixture is written by this module from the reference
complaint below, with fixed ids and times (`marque_kit.testing.golden`); after an intended change
regenerate it and review the diff:

    .venv/bin/python services/crm/tests/unit/test_crm_complaint_events.py
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from marque.crm.v1 import events_pb2
from marque_crm.complaints_service import ROUTING_KEY, complaint_registered_event
from marque_crm.models import Complaint
from marque_kit.db import OutgoingEvent
from marque_kit.testing.golden import Golden

GOLDEN = Golden(
    events_pb2,
    __file__,
    id_namespace=uuid.UUID("9e2d4b61-3c7a-4f18-b5e0-7a1c9d3f6b24"),
    fixed_time=datetime(2026, 3, 2, 6, 40, 12, 125000, tzinfo=UTC),
    correlation="6a1c3e5b7d9f4a2c8e0b2d4f6a8c1e3b",
    traceparent="00-1b3d5f7a9c2e4a6c8e0a2c4e6a8b0d2f-5e7a9c1b3d5f7a9c-01",
)


def reference_event(variant: int = 0) -> OutgoingEvent:
    """A customer in Shanghai complains, by the 400 hotline, of engine noise after a service
    (repair order and VIN given: aftersales' side). Variant 1, a billing complaint in Guangzhou
    with no vehicle concerned, fills the same fields with other values."""
    at = datetime(2026, 3, 2, 6, 40, tzinfo=UTC)
    complaint = Complaint(
        id=GOLDEN.id("complaint", variant),
        store_id=("SH01", "GZ01")[variant],
        customer_id=GOLDEN.id("customer", variant),
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


def test_producer_emits_the_fixture_shape() -> None:
    out = reference_event(variant=1)
    emitted = GOLDEN.check_producer(out)
    assert emitted["marquestore"] == "GZ01"
    assert emitted["subject"] == out.message.complaint_id  # type: ignore[attr-defined]
    assert out.routing_key == ROUTING_KEY


def test_the_fixture_is_what_the_producer_emits_for_the_reference_complaint() -> None:
    GOLDEN.check_up_to_date([reference_event(0)])


def test_aftersales_can_parse_the_fixture_and_find_the_repair_side() -> None:
    envelope, message = GOLDEN.parse("ComplaintRegistered")
    assert envelope.store == message.store_id == "SH01"
    assert envelope.subject == message.complaint_id
    assert message.department == "service" and message.category == "repair_quality"
    assert message.repair_order == "RO-SH01-20260227-0042"
    assert message.vin == "LGXCE4CB5R0123456"
    assert message.respond_by.ToDatetime(tzinfo=UTC) > message.occurred_at.ToDatetime(tzinfo=UTC)
    data = GOLDEN.data("ComplaintRegistered")
    assert data["repairOrder"] == "RO-SH01-20260227-0042" and "respondBy" in data


if __name__ == "__main__":
    GOLDEN.write([reference_event(0)])
