"""Lead events (LeadCreated, LeadStatusChanged) against their golden fixtures (DESIGN.md §4).

Producer side: what `leads_service`'s event builders emit has the fixture's envelope keys, the same
`data` shape, type and routing key. Consumer side (reporting, the gateway's webhooks): every
fixture parses into its proto class. The fixtures are written by this module from the reference
leads below, with fixed ids and times (`marque_kit.testing.golden`); after an intended change
regenerate them and review the diff:

    .venv/bin/python services/crm/tests/unit/test_crm_lead_events.py
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from marque.crm.v1 import crm_pb2, events_pb2
from marque_crm.domain.leads import Transition
from marque_crm.leads_service import lead_created_event, lead_status_changed_event
from marque_crm.models import Lead
from marque_kit.db import OutgoingEvent
from marque_kit.testing.golden import Golden, message_names

GOLDEN = Golden(
    events_pb2,
    __file__,
    id_namespace=uuid.UUID("0b7f3c52-9d4e-4a61-8e2f-6c1a5b3d7e90"),
    fixed_time=datetime(2026, 3, 2, 2, 15, 3, 250000, tzinfo=UTC),
    correlation="3f9c1e7a5b2d4c6e8a0b1d3f5e7a9c2b",
    traceparent="00-7c1e3a5b9d2f4e6a8c0b1d3e5f7a9b2c-4d6f8a0c2e4b6d8f-01",
)
ALL_TYPES = ("LeadCreated", "LeadStatusChanged")


def reference_events(variant: int = 0) -> list[OutgoingEvent]:
    """An 汽车之家 lead for an ID.4 in Shanghai, created, and after a quote lost to a competitor.
    Variant 1 (a walk-in in Guangzhou, found not to be a buyer) has other values in the same
    fields, so the producer test compares shapes, not copies."""
    at = datetime(2026, 3, 2, 2, 15, tzinfo=UTC)
    lead = Lead(
        id=GOLDEN.id("lead", variant),
        store_id=("SH01", "GZ01")[variant],
        customer_id=GOLDEN.id("customer", variant),
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


PRODUCED = reference_events(variant=1)


def test_every_lead_event_type_has_a_reference_example() -> None:
    assert message_names(PRODUCED) == sorted(ALL_TYPES)


@pytest.mark.parametrize("out", PRODUCED, ids=lambda o: o.message.DESCRIPTOR.name)
def test_producer_emits_the_fixture_shape(out: OutgoingEvent) -> None:
    emitted = GOLDEN.check_producer(out)
    assert emitted["marquestore"] == "GZ01"
    assert emitted["subject"] == out.message.lead.lead_id  # type: ignore[attr-defined]
    assert emitted["marqueseq"] == out.message.lead.version  # type: ignore[attr-defined]


def test_fixtures_are_what_the_producer_emits_for_the_reference_leads() -> None:
    GOLDEN.check_up_to_date(reference_events(0))


@pytest.mark.parametrize("name", ALL_TYPES)
def test_consumer_parses_the_fixture(name: str) -> None:
    envelope, message = GOLDEN.parse(name)
    assert envelope.store == message.lead.store_id == "SH01"
    assert envelope.subject == message.lead.lead_id
    assert message.lead.channel == crm_pb2.LEAD_CHANNEL_AUTOHOME
    assert message.lead.model_code == "ID4"
    assert message.occurred_at.ToDatetime().year == 2026


def test_the_fixtures_tell_the_lead_story() -> None:
    created = GOLDEN.data("LeadCreated")
    assert created["lead"]["status"] == "LEAD_STATUS_NEW"
    assert created["lead"]["grade"] == "INTENT_GRADE_A"
    assert "assignedTo" not in created["lead"]  # assignment follows as LeadAssigned
    moved = GOLDEN.data("LeadStatusChanged")
    assert moved["lead"]["leadId"] == created["lead"]["leadId"]
    assert (moved["previousStatus"], moved["lead"]["status"]) == (
        "LEAD_STATUS_QUOTED",
        "LEAD_STATUS_LOST",
    )
    assert moved["reason"] == "bought_competitor"
    assert moved["lead"]["version"] == "5" and moved["actor"] == "sh01.zhang"


if __name__ == "__main__":
    GOLDEN.write(reference_events(0))
