"""Inventory's events against their golden fixtures (DESIGN.md §4).

Producer side: what `to_outgoing` + `wrap` emit today has the fixture's envelope keys, the same
`data` shape, type and routing key. Consumer side: every fixture parses into its proto class.
Regenerate the fixtures with `.venv/bin/python tests/contract/make_fixtures.py` after an
intended change, and review the diff.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.message import Message
from make_fixtures import (
    FIXTURES,
    build_events,
    fixture_path,
    generate,
    produce,
    request_context,
    routing_keys_in_proto,
)

from marque.inventory.v1 import events_pb2
from marque_inventory.domain import events as ev
from marque_kit.envelope import Envelope, MalformedEvent

TYPE_PREFIX = "marque.inventory.v1."
AGGREGATES = ("vehicle", "transfer", "part", "alert")
# Messages in events.proto that are parts of events, never published on their own.
NOT_EVENTS = {"VehicleSnapshot", "TransferSnapshot", "TransferPartLine"}


def shape(value: Any) -> Any:
    """The recursive key structure of a JSON value, with the JSON type of each leaf."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in sorted(value.items())}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


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


def proto_class(event_type: str) -> type[Message]:
    assert event_type.startswith(TYPE_PREFIX), event_type
    cls: type[Message] = getattr(events_pb2, event_type.removeprefix(TYPE_PREFIX))
    return cls


def load_fixture(path: Path) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return body


def fixture_files() -> list[Path]:
    return sorted(FIXTURES.glob(TYPE_PREFIX + "*.json"))  # other producers have their own


PRODUCED = build_events(variant=1)


def test_every_domain_event_type_has_a_realistic_example() -> None:
    built = sorted({type(e).__name__ for e in PRODUCED})
    assert built == [c.__name__ for c in concrete_event_types()]


@pytest.mark.parametrize("event", PRODUCED, ids=lambda e: type(e).__name__)
def test_producer_emits_the_fixture_shape(event: ev.InventoryEvent) -> None:
    with request_context(
        correlation="5e1d0c9b", traceparent="00-" + "ab" * 16 + "-" + "cd" * 8 + "-01"
    ):
        out, envelope = produce(event)
    path = fixture_path(envelope.type)
    assert path.exists(), f"no golden fixture for {envelope.type}; run make_fixtures.py"
    fixture = load_fixture(path)
    emitted = envelope.to_dict()

    assert sorted(emitted) == sorted(fixture)
    assert shape(emitted["data"]) == shape(fixture["data"])
    assert emitted["type"] == fixture["type"] == TYPE_PREFIX + out.message.DESCRIPTOR.name
    assert emitted["source"] == fixture["source"] == "marque/inventory"
    assert emitted["subject"] == out.subject and emitted["subject"]
    assert emitted["marquestore"] == out.store_id and emitted["marquestore"]


@pytest.mark.parametrize("event", PRODUCED, ids=lambda e: type(e).__name__)
def test_routing_key_follows_the_convention(event: ev.InventoryEvent) -> None:
    out, _ = produce(event)
    name = out.message.DESCRIPTOR.name
    svc, aggregate, key = out.routing_key.split(".")
    assert svc == "inventory" and aggregate in AGGREGATES
    assert re.fullmatch(r"[a-z]+(_[a-z]+)*", key), out.routing_key
    # The event name is the aggregate (singular or plural) then the key, e.g. PartsReceived.
    if aggregate != "alert":
        assert snake(name) in {f"{aggregate}_{key}", f"{aggregate}s_{key}"}, out.routing_key
    else:
        assert snake(name) == key
    assert routing_keys_in_proto()[name] == out.routing_key


def test_fixtures_are_what_the_producer_emits_for_the_reference_events() -> None:
    # A hand-edited or stale fixture would pin a shape the producer no longer emits.
    for path, text in generate().items():
        assert path.read_text("utf-8") == text, f"{path.name} is stale; run make_fixtures.py"


@pytest.mark.parametrize("path", fixture_files(), ids=lambda p: p.stem.removeprefix(TYPE_PREFIX))
def test_consumer_parses_the_fixture(path: Path) -> None:
    envelope = Envelope.from_json(path.read_bytes())
    message = envelope.parse(proto_class(envelope.type))

    assert envelope.type == path.stem
    assert envelope.source == "marque/inventory"
    assert envelope.subject and envelope.store and envelope.seq >= 0
    assert message.HasField("occurred_at")
    assert message.occurred_at.ToDatetime().year == 2026  # type: ignore[attr-defined]
    fields = {f.name for f in message.DESCRIPTOR.fields}
    for name in ("vehicle", "transfer"):
        if name in fields:
            # The aggregate's version travels twice: in the snapshot and as marqueseq.
            assert getattr(message, name).version == envelope.seq


def test_every_published_message_has_a_fixture_and_no_fixture_is_orphaned() -> None:
    published = set(routing_keys_in_proto())
    declared = set(events_pb2.DESCRIPTOR.message_types_by_name)
    assert published == declared - NOT_EVENTS
    assert len(published) == 22
    fixtures = {p.stem.removeprefix(TYPE_PREFIX) for p in fixture_files()}
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
    good = load_fixture(fixture_path(TYPE_PREFIX + "VehicleReserved"))
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
