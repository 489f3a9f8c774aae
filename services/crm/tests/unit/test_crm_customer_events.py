"""Customer events (CustomerCreated, CustomerMerged) against their golden fixtures (DESIGN.md §4).

Producer side: what `customers_service`'s event builders + `wrap` emit today has the fixture's
envelope keys, the same `data` shape, type, routing key and subject. Consumer side: every fixture
parses into its proto class. The fixtures are written by this module from the reference records
below, with fixed ids and times; after an intended change regenerate them and review the diff:

    .venv/bin/python services/crm/tests/unit/test_crm_customer_events.py
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
from marque_crm.customers_service import customer_created_event, customer_merged_event
from marque_crm.models import Customer, CustomerMerge
from marque_kit.context import correlation_id_var, traceparent_var
from marque_kit.db import OutgoingEvent
from marque_kit.envelope import Envelope, wrap

ROOT = Path(__file__).resolve().parents[4]
FIXTURES = ROOT / "tests" / "contract" / "fixtures"
EVENTS_PROTO = ROOT / "protos" / "marque" / "crm" / "v1" / "events.proto"
SOURCE = "marque/crm"
TYPE_PREFIX = "marque.crm.v1."
ID_NAMESPACE = uuid.UUID("0b7f4c2e-51d3-4a8e-9c61-3e2d7a9f4b10")
FIXED_TIME = datetime(2026, 3, 2, 2, 15, 42, 250000, tzinfo=UTC)
CORRELATION = "3c9e1a7b5d2f4e6a8b0c2d4e6f8a0b1c"
TRACEPARENT = "00-7a1c3e5f7b9d1f3a5c7e9b1d3f5a7c9e-1a3c5e7f9b2d4f6a-01"
ALL_TYPES = ("CustomerCreated", "CustomerMerged")


def _id(name: str, variant: int) -> str:
    return str(uuid.uuid5(ID_NAMESPACE, f"{name}-{variant}"))


def _customer(name: str, variant: int, **fields: Any) -> Customer:
    return Customer(
        id=_id(name, variant),
        kind=fields.pop("kind", "person"),
        name=fields.pop("display", "张伟"),
        mobile_sealed="sealed",
        mobile_index="index",
        mobile_masked=fields.pop("mobile_masked", "+86 138****8000"),
        store_id=fields.pop("store_id", "SH01"),
        owner=fields.pop("owner", "sh01.wang"),
        source=fields.pop("source", "walk_in"),
        created_at=datetime(2026, 3, 2, 2, 15, tzinfo=UTC),
        version=fields.pop("version", 1),
        **fields,
    )


def reference_events(variant: int = 0) -> list[OutgoingEvent]:
    """张伟 walks into the Shanghai store (a new customer), then a manager merges the record an
    汽车之家 lead had made for him. Variant 1 (a Guangzhou company from 易车) has other values in
    the same fields, so the producer test compares shapes, not copies."""
    store = ("SH01", "GZ01")[variant]
    created = _customer(
        "customer",
        variant,
        kind=("person", "company")[variant],
        display=("张伟", "广州飞驰物流有限公司")[variant],
        mobile_masked=("+86 138****8000", "+86 139****2671")[variant],
        store_id=store,
        owner=("sh01.wang", "gz01.chen")[variant],
        source=("walk_in", "yiche")[variant],
    )
    duplicate = _customer("duplicate", variant, store_id=store, version=2)
    merge = CustomerMerge(
        id=_id("merge", variant),
        survivor_id=created.id,
        merged_id=duplicate.id,
        store_id=store,
        actor=("sh01.manager", "gz01.manager")[variant],
        reason="同一人两条记录",
        moved={"vehicles_moved": 1},
        at=datetime(2026, 3, 2, 6, 40, tzinfo=UTC),
    )
    return [customer_created_event(created), customer_merged_event(merge, duplicate)]


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
        r"//\s*Routing key:\s*([\w.]+)[^\n]*\n\s*message\s+(\w+)", EVENTS_PROTO.read_text("utf-8")
    )
    return {message: key for key, message in found}


def shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: shape(item) for key, item in sorted(value.items())}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


PRODUCED = reference_events(variant=1)


def test_every_customer_event_type_has_a_reference_example() -> None:
    assert sorted(out.message.DESCRIPTOR.name for out in PRODUCED) == sorted(ALL_TYPES)


@pytest.mark.parametrize("out", PRODUCED, ids=lambda o: o.message.DESCRIPTOR.name)
def test_producer_emits_the_fixture_shape(out: OutgoingEvent) -> None:
    with request_context(
        correlation="77ef", traceparent="00-" + "ab" * 16 + "-" + "12" * 8 + "-01"
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
    message: Any = out.message
    subject = (
        message.customer.customer_id if name == "CustomerCreated" else message.merged_customer_id
    )
    assert emitted["subject"] == subject
    assert routing_keys_in_proto()[name] == out.routing_key


def test_fixtures_are_what_the_producer_emits_for_the_reference_records() -> None:
    for path, text in generate().items():
        assert path.read_text("utf-8") == text, f"{path.name} is stale; regenerate the fixtures"


@pytest.mark.parametrize("name", ALL_TYPES)
def test_consumer_parses_the_fixture(name: str) -> None:
    envelope = Envelope.from_json(fixture_path(TYPE_PREFIX + name).read_bytes())
    message: Any = envelope.parse(getattr(events_pb2, name))
    assert envelope.source == SOURCE and envelope.store == "SH01"
    assert message.occurred_at.ToDatetime().year == 2026


def test_the_fixtures_tell_the_customer_story() -> None:
    created = Envelope.from_json(fixture_path(TYPE_PREFIX + "CustomerCreated").read_bytes())
    customer: Any = created.parse(events_pb2.CustomerCreated)
    assert customer.source == crm_pb2.LEAD_CHANNEL_WALK_IN
    assert customer.customer.kind == crm_pb2.CUSTOMER_KIND_PERSON
    assert customer.customer.mobile_masked == "+86 138****8000"  # never the full number
    assert created.subject == customer.customer.customer_id
    merged = Envelope.from_json(fixture_path(TYPE_PREFIX + "CustomerMerged").read_bytes())
    merge: Any = merged.parse(events_pb2.CustomerMerged)
    assert merge.survivor_customer_id == customer.customer.customer_id
    assert merged.subject == merge.merged_customer_id != merge.survivor_customer_id
    assert merge.actor == "sh01.manager"


if __name__ == "__main__":
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for file, text in generate().items():
        file.write_text(text, encoding="utf-8")
        print(f"wrote {file.relative_to(ROOT)}")
