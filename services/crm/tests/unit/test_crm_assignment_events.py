"""LeadAssigned (crm.lead.assigned) and LeadSlaBreached (crm.lead.sla_breached) against their golden
fixtures (DESIGN.md §4).

Producer side: what `assignment_service`'s event builders + `wrap` emit today has the fixture's
envelope keys, the same `data` shape, type, subject and routing key. Consumer side (notifier,
reporting): each fixture parses into its proto class. The fixtures are written by this module
from the reference leads below, with fixed ids and times (`marque_kit.testing.golden`); after an
intended change regenerate them and review the diff:

    .venv/bin/python services/crm/tests/unit/test_crm_assignment_events.py
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from marque.crm.v1 import crm_pb2, events_pb2
from marque_crm.assignment_service import lead_assigned_event, lead_sla_breached_event
from marque_crm.models import Lead
from marque_kit.db import OutgoingEvent
from marque_kit.testing.golden import Golden, message_names

GOLDEN = Golden(
    events_pb2,
    __file__,
    id_namespace=uuid.UUID("b4e1c7a2-9d3f-4a6b-8c5e-1f2a3b4c5d6e"),
    fixed_time=datetime(2026, 3, 4, 2, 30, 0, 125000, tzinfo=UTC),
    correlation="6f1e3d5c7b9a4e2d8c6b4a2f0e1d3c5b",
    traceparent="00-5e7a9c1e3b5d7f9a1c3e5b7d9f1a3c5e-2c4e6a8b0d1f3a5c-01",
)
ALL_TYPES = ("LeadAssigned", "LeadSlaBreached")


def reference_events(variant: int = 0) -> list[OutgoingEvent]:
    """Shanghai: an 汽车之家 lead for an ID.4 goes to sh.li by round robin at 10:00 local; nobody
    calls within the 30-minute SLA, so sales manager sh.zhou is told and the lead moves on to
    sh.wang. Variant 1 (Guangzhou, 易车, by model, two managers) has other values in the same
    fields, so the producer test compares shapes, not copies."""
    store = ("SH01", "GZ01")[variant]
    created = datetime(2026, 3, 4, 2, 0, tzinfo=UTC)
    lead = Lead(
        id=GOLDEN.id("lead", variant),
        store_id=store,
        customer_id=GOLDEN.id("customer", variant),
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


PRODUCED = reference_events(variant=1)


def test_every_assignment_event_type_has_a_reference_example() -> None:
    assert message_names(PRODUCED) == sorted(ALL_TYPES)


@pytest.mark.parametrize("out", PRODUCED, ids=lambda o: o.message.DESCRIPTOR.name)
def test_producer_emits_the_fixture_shape(out: OutgoingEvent) -> None:
    emitted = GOLDEN.check_producer(out)
    assert emitted["marquestore"] == "GZ01"
    assert emitted["subject"] == out.message.lead.lead_id  # type: ignore[attr-defined]
    assert emitted["marqueseq"] == 2


def test_fixtures_are_what_the_producer_emits_for_the_reference_leads() -> None:
    GOLDEN.check_up_to_date(reference_events(0))


def test_consumers_parse_the_fixtures() -> None:
    assigned_env, assigned = GOLDEN.parse("LeadAssigned")
    assert assigned_env.subject == assigned.lead.lead_id
    assert assigned_env.store == assigned.lead.store_id == "SH01"
    assert assigned.lead.assigned_to == "sh.li" and assigned.previous_assignee == "sh.zhao"
    assert assigned.strategy == "round_robin" and assigned.actor == "system"
    assert assigned.lead.channel == crm_pb2.LEAD_CHANNEL_AUTOHOME
    assert assigned.lead.status == crm_pb2.LEAD_STATUS_NEW
    assert assigned.lead.grade == crm_pb2.INTENT_GRADE_H

    breached_env, breached = GOLDEN.parse("LeadSlaBreached")
    assert breached_env.subject == breached.lead.lead_id == assigned.lead.lead_id
    # The snapshot names who missed the first contact; escalated_to the managers told.
    assert breached.lead.assigned_to == "sh.li"
    assert (breached.sla_minutes, breached.elapsed_minutes) == (30, 30)
    assert breached.escalated_to == "sh.zhou" and breached.reassigned
    data = GOLDEN.data("LeadSlaBreached")
    assert data["occurredAt"] == "2026-03-04T02:30:00Z"
    assert data["lead"]["channel"] == "LEAD_CHANNEL_AUTOHOME"


def test_several_managers_are_comma_separated() -> None:
    breached = PRODUCED[1].message
    assert breached.escalated_to.split(",") == ["gz.he", "gz.ma"]  # type: ignore[attr-defined]
    assert list(breached.escalated_to_ids) == ["gz.he", "gz.ma"]  # type: ignore[attr-defined]


if __name__ == "__main__":
    GOLDEN.write(reference_events(0))
