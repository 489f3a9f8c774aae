"""Finance as a consumer of inventory's events (DESIGN.md §4): every golden fixture finance posts
from parses through finance's own proto -> fact mapping into balanced entries, and finance binds
exactly the routing keys inventory declares for those events."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from make_fixtures import GOLDEN

from marque_finance.consumers import MAPPERS, facts_from
from marque_finance.domain.posting_rules.inventory import (
    PartsIssue,
    PartsReceipt,
    TransferArrival,
    TransferMove,
    VehicleDelivery,
    VehicleReceipt,
    drafts_for,
)
from marque_kit.envelope import Envelope, MalformedEvent

ZONE = ZoneInfo("Asia/Shanghai")
PREFIX = "marque.inventory.v1."
CONSUMED = sorted(MAPPERS)


def envelope_of(event_type: str) -> Envelope:
    return Envelope.from_json(GOLDEN.path(event_type).read_bytes())


@pytest.mark.parametrize("event_type", CONSUMED, ids=lambda t: t.removeprefix(PREFIX))
def test_finance_maps_the_fixture_to_balanced_entries(event_type: str) -> None:
    envelope = envelope_of(event_type)
    fact = facts_from(envelope, ZONE)
    drafts = drafts_for(fact)

    assert drafts
    for draft in drafts:
        checked = draft.checked()  # raises unless debits equal credits
        assert checked.total > 0
        assert draft.source_event_id == envelope.id
        assert draft.source_type == event_type
        assert draft.store_id and draft.rule


@pytest.mark.parametrize("event_type", CONSUMED, ids=lambda t: t.removeprefix(PREFIX))
def test_finance_binds_the_routing_key_inventory_declares(event_type: str) -> None:
    routing_key, _ = MAPPERS[event_type]
    assert GOLDEN.routing_keys()[event_type.removeprefix(PREFIX)] == routing_key


def test_the_fixtures_values_arrive_in_the_facts() -> None:
    arrived = facts_from(envelope_of(PREFIX + "VehicleArrived"), ZONE)
    assert isinstance(arrived, VehicleReceipt)
    # The arrival's business date is the vehicle's arrived_on, not the event's timestamp.
    assert (arrived.store_id, arrived.vin, arrived.brand, arrived.model_code) == (
        "SH01",
        "LGXCE4CB5R0123456",
        "BYD",
        "BYD-HAN",
    )
    assert (arrived.cost_fen, arrived.received_on) == (19_100_000, date(2026, 10, 2))

    received = facts_from(envelope_of(PREFIX + "PartsReceived"), ZONE)
    assert isinstance(received, PartsReceipt)
    # occurredAt 2026-03-02T01:30Z is 09:30 the same day in Shanghai.
    assert (received.quantity, received.unit_cost_fen, received.received_on) == (
        24,
        5_200,
        date(2026, 3, 2),
    )

    shipped = facts_from(envelope_of(PREFIX + "TransferShipped"), ZONE)
    assert isinstance(shipped, TransferMove) and not isinstance(shipped, TransferArrival)
    assert (shipped.from_store_id, shipped.to_store_id, shipped.value_fen) == (
        "BJ01",
        "SH01",
        19_100_000,
    )
    out, incoming = drafts_for(shipped)
    assert (out.store_id, incoming.store_id) == ("BJ01", "SH01")

    arrival = facts_from(envelope_of(PREFIX + "TransferReceived"), ZONE)
    assert isinstance(arrival, TransferArrival)
    # The envelope names the sending store; the entry goes to the receiving one, from the data.
    assert envelope_of(PREFIX + "TransferReceived").store == "BJ01"
    (entry,) = drafts_for(arrival)
    assert entry.store_id == "SH01"
    assert arrival.value_fen == 12 * 5_200 + 20 * 29_000

    issued = facts_from(envelope_of(PREFIX + "PartsConsumed"), ZONE)
    assert isinstance(issued, PartsIssue) and issued.value_fen == 5_150

    delivered = facts_from(envelope_of(PREFIX + "VehicleDelivered"), ZONE)
    assert isinstance(delivered, VehicleDelivery)
    assert (delivered.cost_fen, delivered.order_ref) == (19_100_000, "SO-SH01-000125")


def ignored_fixtures() -> list[Path]:
    return sorted(p for p in GOLDEN.fixture_files() if p.stem not in MAPPERS)


@pytest.mark.parametrize("path", ignored_fixtures(), ids=lambda p: p.stem.removeprefix(PREFIX))
def test_events_finance_does_not_post_from_are_not_mapped(path: Path) -> None:
    # The consumer has no handler for these: it acks them as ignored. Mapping one is refused.
    with pytest.raises(MalformedEvent, match="posts nothing"):
        facts_from(Envelope.from_json(path.read_bytes()), ZONE)
