"""Inventory's events against their golden fixtures (DESIGN.md §4).

Producer side: what `to_outgoing` + `wrap` emit today has the fixture's envelope keys, the same
`data` shape, type and routing key (`marque_kit.testing.golden` checks it). Consumer side: every
fixture parses into its proto class. Regenerate the fixtures with
`.venv/bin/python tests/contract/make_fixtures.py` after an intended change, and review the diff.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from make_fixtures import GOLDEN, build_events, outgoing

from marque.inventory.v1 import events_pb2
from marque_inventory.domain import events as ev
from marque_kit.envelope import Envelope, MalformedEvent

TYPE_PREFIX = GOLDEN.type_prefix
AGGREGATES = ("vehicle", "transfer", "part", "alert")
# Messages in events.proto that are parts of events, never published on their own.
NOT_EVENTS = {"VehicleSnapshot", "TransferSnapshot", "TransferPartLine"}


def concrete_event_types() -> list[type[ev.InventoryEvent]]:
    """Every domain event class that is raised (the leaves of the InventoryEvent tree)."""
    leaves: list[type[ev.InventoryEvent]] = []
    pending: list[type[ev.InventoryEvent]] = [ev.InventoryEvent]
    while pending:
        cls = pending.pop()
        children = cls.__subclasses__()
        if children:
            pending.extend(children)
        else:
            leaves.append(cls)
    return sorted(leaves, key=lambda c: c.__name__)


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


PRODUCED = build_events(variant=1)


def test_every_domain_event_type_has_a_realistic_example() -> None:
    built = sorted({type(e).__name__ for e in PRODUCED})
    assert built == [c.__name__ for c in concrete_event_types()]


@pytest.mark.parametrize("event", PRODUCED, ids=lambda e: type(e).__name__)
def test_producer_emits_the_fixture_shape(event: ev.InventoryEvent) -> None:
    out = outgoing(event)
    emitted = GOLDEN.check_producer(out)
    assert emitted["source"] == "marque/inventory"


@pytest.mark.parametrize("event", PRODUCED, ids=lambda e: type(e).__name__)
def test_routing_key_follows_the_convention(event: ev.InventoryEvent) -> None:
    out = outgoing(event)
    name = out.message.DESCRIPTOR.name
    svc, aggregate, key = out.routing_key.split(".")
    assert svc == "inventory" and aggregate in AGGREGATES
    assert re.fullmatch(r"[a-z]+(_[a-z]+)*", key), out.routing_key
    # The event name is the aggregate (singular or plural) then the key, e.g. PartsReceived.
    if aggregate != "alert":
        assert snake(name) in {f"{aggregate}_{key}", f"{aggregate}s_{key}"}, out.routing_key
    else:
        assert snake(name) == key
    assert GOLDEN.routing_keys()[name] == out.routing_key


def test_fixtures_are_what_the_producer_emits_for_the_reference_events() -> None:
    # A hand-edited or stale fixture would pin a shape the producer no longer emits.
    GOLDEN.check_up_to_date(map(outgoing, build_events(0)))


@pytest.mark.parametrize(
    "path", GOLDEN.fixture_files(), ids=lambda p: p.stem.removeprefix(TYPE_PREFIX)
)
def test_consumer_parses_the_fixture(path: Path) -> None:
    envelope, message = GOLDEN.parse(path.stem)

    assert envelope.type == path.stem
    assert envelope.source == "marque/inventory"
    assert message.HasField("occurred_at")
    assert message.occurred_at.ToDatetime().year == 2026
    fields = {f.name for f in message.DESCRIPTOR.fields}
    for name in ("vehicle", "transfer"):
        if name in fields:
            # The aggregate's version travels twice: in the snapshot and as marqueseq.
            assert getattr(message, name).version == envelope.seq


def test_every_published_message_has_a_fixture_and_no_fixture_is_orphaned() -> None:
    published = set(GOLDEN.routing_keys())
    declared = set(events_pb2.DESCRIPTOR.message_types_by_name)
    assert published == declared - NOT_EVENTS
    assert len(published) == 22
    fixtures = {p.stem.removeprefix(TYPE_PREFIX) for p in GOLDEN.fixture_files()}
    assert fixtures == published


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"not json", id="not-json"),
        pytest.param(b"[1, 2]", id="not-an-object"),
        pytest.param(b'{"specversion": "1.0", "id": "x", "type": "t"}', id="missing-attrs"),
    ],
)
def test_a_malformed_envelope_is_refused(body: bytes) -> None:
    with pytest.raises(MalformedEvent):
        Envelope.from_json(body)


def test_an_envelope_of_another_version_or_with_bad_data_is_refused() -> None:
    good = GOLDEN.fixture("VehicleReserved")
    with pytest.raises(MalformedEvent, match="specversion"):
        Envelope.from_dict({**good, "specversion": "0.3"})
    with pytest.raises(MalformedEvent, match="not a JSON object"):
        Envelope.from_dict({**good, "data": "LGXCE4CB5R0123456"})
    with pytest.raises(MalformedEvent, match="marqueseq"):
        Envelope.from_dict({**good, "marqueseq": "three"})
    wrong_field_type = {**good, "data": {**good["data"], "orderRef": {"nested": True}}}
    with pytest.raises(MalformedEvent, match="does not match"):
        Envelope.from_dict(wrong_field_type).parse(events_pb2.VehicleReserved)
    with pytest.raises(MalformedEvent, match="Expected event type"):
        Envelope.from_dict(good).parse(events_pb2.VehicleSold)
