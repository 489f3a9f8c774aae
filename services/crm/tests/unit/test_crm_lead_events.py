"""Lead events (LeadCreated, LeadStatusChanged) against their golden fixtures (DESIGN.md §4).

Producer side: what `leads_service`'s event builders emit has the fixture's envelope keys, the same
`data` shape, type and routing key. Consumer side (reporting, the gateway's webhooks): every
fixture parses into its proto class. The fixtures are written by this module from the reference
leads below, with fixed ids and times; after an intended change regenerate them and review the
diff:

    .venv/bin/python services/crm/tests/unit/test_crm_lead_events.py
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from marque.crm.v1 import crm_pb2, events_pb2
from marque_crm.domain.leads import Transition
from marque_crm.leads_service import lead_created_event, lead_status_changed_event
from marque_crm.models import Lead
from marque_kit.context import correlation_id_var, traceparent_var
from marque_kit.db import OutgoingEvent
from marque_kit.envelope import Envelope, wrap

ROOT = Path(__file__).resolve().parents[4]
FIXTURES = ROOT / "tests" / "contract" / "fixtures"
EVENTS_PROTO = ROOT / "protos" / "marque" / "crm" / "v1" / "events.proto"
SOURCE = "marque/crm"
TYPE_PREFIX = "marque.crm.v1."
ID_NAMESPACE = uuid.UUID("0b7f3c52-9d4e-4a61-8e2f-6c1a5b3d7e90")
FIXED_TIME = datetime(2026, 3, 2, 2, 15, 3, 250000, tzinfo=UTC)
CORRELATION = "3f9c1e7a5b2d4c6e8a0b1d3f5e7a9c2b"
TRACEPARENT = "00-7c1e3a5b9d2f4e6a8c0b1d3e5f7a9b2c-4d6f8a0c2e4b6d8f-01"
ALL_TYPES = ("LeadCreated", "LeadStatusChanged")


def _id(name: str, variant: int) -> str:
    return str(uuid.uuid5(ID_NAMESPACE, f"{name}-{variant}"))


def reference_events(variant: int = 0) -> list[OutgoingEvent]:
    """An 汽车之家 lead for an ID.4 in Shanghai, created, and after a quote lost to a competitor.
    Variant 1 (a walk-in in Guangzhou, found not to be a buyer) has other values in the same
    fields, so the producer test compares shapes, not copies."""
    at = datetime(2026, 3, 2, 2, 15, tzinfo=UTC)
    lead = Lead(
        id=_id("lead", variant),
        store_id=("SH01", "GZ01")[variant],
        customer_id=_id("customer", variant),
        channel=("autohome", "walk_in")[variant],
        status=("new", "visited")[variant],
        grade=("A", "H")[variant],
        model_code=("ID4", "Q5L")[variant],
        trim_code=("ID4-PRO", "Q5L-45TFSI")[variant],
        assigned_to="",
        source_ref=("AH-88812345", "")[variant],
        created_at=at,
        version=1,
    )
    created = lead_created_event(lead, at)
    lead.status, lead.version = ("lost", "invalid")[variant], (5, 2)[variant]
    lead.assigned_to = ("sh01.zhang", "gz01.chen")[variant]
    moved = lead_status_changed_event(
        lead,
        Transition(
            ("quoted", "visited")[variant],
            lead.status,
            at + timedelta(days=(9, 0)[variant], minutes=(12, 95)[variant]),
            lead.assigned_to,
            ("bought_competitor", "not_a_buyer")[variant],
        ),
    )
    return [created, moved]


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


def fixture_path(event_type: str) -> Path:
    return FIXTURES / f"{event_type}.json"


def render(envelope: Envelope) -> str:
    return json.dumps(envelope.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def generate() -> dict[Path, str]:
    files: dict[Path, str] = {}
    with request_context():
        for out in reference_events(0):
            name = out.message.DESCRIPTOR.name
            envelope = produce(out, event_id=str(uuid.uuid5(ID_NAMESPACE, name)), time=FIXED_TIME)
            files[fixture_path(envelope.type)] = render(envelope)
    return files


def routing_keys_in_proto() -> dict[str, str]:
    found = re.findall(
        r"//[^\n]*Routing key:\s*([\w.]+)[^\n]*\n(?:\s*//[^\n]*\n)*\s*message\s+(\w+)",
        EVENTS_PROTO.read_text("utf-8"),
    )
    return {message: key for key, message in found}


def shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: shape(item) for key, item in sorted(value.items())}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


PRODUCED = reference_events(variant=1)


def test_every_lead_event_type_has_a_reference_example() -> None:
    assert sorted(out.message.DESCRIPTOR.name for out in PRODUCED) == sorted(ALL_TYPES)


@pytest.mark.parametrize("out", PRODUCED, ids=lambda o: o.message.DESCRIPTOR.name)
def test_producer_emits_the_fixture_shape(out: OutgoingEvent) -> None:
    with request_context(
        correlation="51ab", traceparent="00-" + "cd" * 16 + "-" + "34" * 8 + "-01"
    ):
        envelope = produce(out)
    path = fixture_path(envelope.type)
    assert path.exists(), f"no golden fixture for {envelope.type}; regenerate them"
    fixture = json.loads(path.read_text("utf-8"))
    emitted = envelope.to_dict()
    assert sorted(emitted) == sorted(fixture)
    assert shape(emitted["data"]) == shape(fixture["data"])
    name = out.message.DESCRIPTOR.name
    assert emitted["type"] == fixture["type"] == TYPE_PREFIX + name
    assert emitted["source"] == fixture["source"] == SOURCE
    assert emitted["marquestore"] == out.store_id == "GZ01"
    assert emitted["subject"] == out.message.lead.lead_id  # type: ignore[attr-defined]
    assert emitted["marqueseq"] == out.message.lead.version  # type: ignore[attr-defined]
    assert routing_keys_in_proto()[name] == out.routing_key


def test_fixtures_are_what_the_producer_emits_for_the_reference_leads() -> None:
    for path, text in generate().items():
        assert path.read_text("utf-8") == text, f"{path.name} is stale; regenerate the fixtures"


@pytest.mark.parametrize("name", ALL_TYPES)
def test_consumer_parses_the_fixture(name: str) -> None:
    envelope = Envelope.from_json(fixture_path(TYPE_PREFIX + name).read_bytes())
    message: Any = envelope.parse(getattr(events_pb2, name))
    assert envelope.source == SOURCE and envelope.store == message.lead.store_id == "SH01"
    assert envelope.subject == message.lead.lead_id
    assert message.lead.channel == crm_pb2.LEAD_CHANNEL_AUTOHOME
    assert message.lead.model_code == "ID4"
    assert message.occurred_at.ToDatetime().year == 2026


def test_the_fixtures_tell_the_lead_story() -> None:
    def data(name: str) -> dict[str, Any]:
        body: dict[str, Any] = json.loads(fixture_path(TYPE_PREFIX + name).read_text("utf-8"))
        return dict(body["data"])

    created = data("LeadCreated")
    assert created["lead"]["status"] == "LEAD_STATUS_NEW"
    assert created["lead"]["grade"] == "INTENT_GRADE_A"
    assert "assignedTo" not in created["lead"]  # assignment follows as LeadAssigned
    moved = data("LeadStatusChanged")
    assert moved["lead"]["leadId"] == created["lead"]["leadId"]
    assert (moved["previousStatus"], moved["lead"]["status"]) == (
        "LEAD_STATUS_QUOTED",
        "LEAD_STATUS_LOST",
    )
    assert moved["reason"] == "bought_competitor"
    assert moved["lead"]["version"] == "5" and moved["actor"] == "sh01.zhang"


if __name__ == "__main__":
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for file, text in generate().items():
        file.write_text(text, encoding="utf-8")
        print(f"wrote {file.relative_to(ROOT)}")
