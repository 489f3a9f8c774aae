"""LeadAssigned (crm.lead.assigned) and LeadSlaBreached (crm.lead.sla_breached) against their golden
fixtures (DESIGN.md §4).

Producer side: what `assignment_service`'s event builders + `wrap` emit today has the fixture's
envelope keys, the same `data` shape, type, subject and routing key. Consumer side (notifier,
reporting): each fixture parses into its proto class. The fixtures are written by this module
from the reference leads below, with fixed ids and times; after an intended change regenerate
them and review the diff:

    .venv/bin/python services/crm/tests/unit/test_crm_assignment_events.py
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

import pytest

from marque.crm.v1 import crm_pb2, events_pb2
from marque_crm.assignment_service import lead_assigned_event, lead_sla_breached_event
from marque_crm.models import Lead
from marque_kit.context import correlation_id_var, traceparent_var
from marque_kit.db import OutgoingEvent
from marque_kit.envelope import Envelope, wrap

ROOT = Path(__file__).resolve().parents[4]
FIXTURES = ROOT / "tests" / "contract" / "fixtures"
EVENTS_PROTO = ROOT / "protos" / "marque" / "crm" / "v1" / "events.proto"
SOURCE = "marque/crm"
TYPE_PREFIX = "marque.crm.v1."
ID_NAMESPACE = uuid.UUID("b4e1c7a2-9d3f-4a6b-8c5e-1f2a3b4c5d6e")
FIXED_TIME = datetime(2026, 3, 4, 2, 30, 0, 125000, tzinfo=UTC)
CORRELATION = "6f1e3d5c7b9a4e2d8c6b4a2f0e1d3c5b"
TRACEPARENT = "00-5e7a9c1e3b5d7f9a1c3e5b7d9f1a3c5e-2c4e6a8b0d1f3a5c-01"
ALL_TYPES = ("LeadAssigned", "LeadSlaBreached")


def _id(name: str, variant: int) -> str:
    return str(uuid.uuid5(ID_NAMESPACE, f"{name}-{variant}"))


def reference_events(variant: int = 0) -> list[OutgoingEvent]:
    """Shanghai: an 汽车之家 lead for an ID.4 goes to sh.li by round robin at 10:00 local; nobody
    calls within the 30-minute SLA, so sales manager sh.zhou is told and the lead moves on to
    sh.wang. Variant 1 (Guangzhou, 易车, by model, two managers) has other values in the same
    fields, so the producer test compares shapes, not copies."""
    store = ("SH01", "GZ01")[variant]
    created = datetime(2026, 3, 4, 2, 0, tzinfo=UTC)
    lead = Lead(
        id=_id("lead", variant),
        store_id=store,
        customer_id=_id("customer", variant),
        channel=("autohome", "yiche")[variant],
        status="new",
        grade=("H", "A")[variant],
        model_code=("ID4", "HAN")[variant],
        trim_code=("ID4-PRO", "HAN-EV-LR")[variant],
        assigned_to=("sh.li", "gz.chen")[variant],
        assigned_at=created,
        created_at=created,
        version=(1, 2)[variant],
    )
    assigned = lead_assigned_event(
        lead,
        previous=("sh.zhao", "gz.lin")[variant],
        strategy=("round_robin", "by_model")[variant],
        reason=(
            "Round robin among 5 on duty.",
            "Routed by model 'HAN': round robin among 2 on duty.",
        )[variant],
        actor="system",
        at=created,
    )
    breached = lead_sla_breached_event(
        lead,
        sla_minutes=(30, 45)[variant],
        elapsed_minutes=(30, 47)[variant],
        escalated_to=(["sh.zhou"], ["gz.he", "gz.ma"])[variant],
        reassigned=True,
        at=datetime(2026, 3, 4, 2, 30, tzinfo=UTC),
    )
    return [assigned, breached]


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
        r"//[^\n]*Routing key:\s*([\w.]+)[^\n]*\n\s*message\s+(\w+)",
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


def test_every_assignment_event_type_has_a_reference_example() -> None:
    assert sorted(out.message.DESCRIPTOR.name for out in PRODUCED) == sorted(ALL_TYPES)


@pytest.mark.parametrize("out", PRODUCED, ids=lambda o: o.message.DESCRIPTOR.name)
def test_producer_emits_the_fixture_shape(out: OutgoingEvent) -> None:
    with request_context(
        correlation="91cd", traceparent="00-" + "ef" * 16 + "-" + "56" * 8 + "-01"
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
    assert emitted["marqueseq"] == 2
    assert routing_keys_in_proto()[name] == out.routing_key


def test_fixtures_are_what_the_producer_emits_for_the_reference_leads() -> None:
    for path, text in generate().items():
        assert path.read_text("utf-8") == text, f"{path.name} is stale; regenerate the fixtures"


def test_consumers_parse_the_fixtures() -> None:
    assigned_env = Envelope.from_json(fixture_path(TYPE_PREFIX + "LeadAssigned").read_bytes())
    assigned = assigned_env.parse(events_pb2.LeadAssigned)
    assert assigned_env.subject == assigned.lead.lead_id
    assert assigned_env.store == assigned.lead.store_id == "SH01"
    assert assigned.lead.assigned_to == "sh.li" and assigned.previous_assignee == "sh.zhao"
    assert assigned.strategy == "round_robin" and assigned.actor == "system"
    assert assigned.lead.channel == crm_pb2.LEAD_CHANNEL_AUTOHOME
    assert assigned.lead.status == crm_pb2.LEAD_STATUS_NEW
    assert assigned.lead.grade == crm_pb2.INTENT_GRADE_H

    breached_env = Envelope.from_json(fixture_path(TYPE_PREFIX + "LeadSlaBreached").read_bytes())
    breached = breached_env.parse(events_pb2.LeadSlaBreached)
    assert breached_env.subject == breached.lead.lead_id == assigned.lead.lead_id
    # The snapshot names who missed the first contact; escalated_to the managers told.
    assert breached.lead.assigned_to == "sh.li"
    assert (breached.sla_minutes, breached.elapsed_minutes) == (30, 30)
    assert breached.escalated_to == "sh.zhou" and breached.reassigned
    data = json.loads(fixture_path(TYPE_PREFIX + "LeadSlaBreached").read_text("utf-8"))["data"]
    assert data["occurredAt"] == "2026-03-04T02:30:00Z"
    assert data["lead"]["channel"] == "LEAD_CHANNEL_AUTOHOME"


def test_several_managers_are_comma_separated() -> None:
    breached = PRODUCED[1].message
    assert breached.escalated_to.split(",") == ["gz.he", "gz.ma"]  # type: ignore[attr-defined]


if __name__ == "__main__":
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for file, text in generate().items():
        file.write_text(text, encoding="utf-8")
        print(f"wrote {file.relative_to(ROOT)}")
