"""Customer events (CustomerCreated, CustomerMerged) against their golden fixtures (DESIGN.md §4).

Producer side: what `customers_service`'s event builders + `wrap` emit today has the fixture's
envelope keys, the same `data` shape, type, routing key and subject. Consumer side: every fixture
parses into its proto class. The fixtures are written by this module from the reference records
below, with fixed ids and times (`marque_kit.testing.golden`); after an intended change
regenerate them and review the diff:

    .venv/bin/python services/crm/tests/unit/test_crm_customer_events.py
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from marque.crm.v1 import crm_pb2, events_pb2
from marque_crm.customers_service import customer_created_event, customer_merged_event
from marque_crm.models import Customer, CustomerMerge
from marque_kit.db import OutgoingEvent
from marque_kit.testing.golden import Golden, message_names

GOLDEN = Golden(
    events_pb2,
    __file__,
    id_namespace=uuid.UUID("0b7f4c2e-51d3-4a8e-9c61-3e2d7a9f4b10"),
    fixed_time=datetime(2026, 3, 2, 2, 15, 42, 250000, tzinfo=UTC),
    correlation="3c9e1a7b5d2f4e6a8b0c2d4e6f8a0b1c",
    traceparent="00-7a1c3e5f7b9d1f3a5c7e9b1d3f5a7c9e-1a3c5e7f9b2d4f6a-01",
)
ALL_TYPES = ("CustomerCreated", "CustomerMerged")


def _customer(name: str, variant: int, **fields: Any) -> Customer:
    return Customer(
        id=GOLDEN.id(name, variant),
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
        id=GOLDEN.id("merge", variant),
        survivor_id=created.id,
        merged_id=duplicate.id,
        store_id=store,
        actor=("sh01.manager", "gz01.manager")[variant],
        reason="同一人两条记录",
        moved={"vehicles_moved": 1},
        at=datetime(2026, 3, 2, 6, 40, tzinfo=UTC),
    )
    return [customer_created_event(created), customer_merged_event(merge, duplicate)]


PRODUCED = reference_events(variant=1)


def test_every_customer_event_type_has_a_reference_example() -> None:
    assert message_names(PRODUCED) == sorted(ALL_TYPES)


@pytest.mark.parametrize("out", PRODUCED, ids=lambda o: o.message.DESCRIPTOR.name)
def test_producer_emits_the_fixture_shape(out: OutgoingEvent) -> None:
    emitted = GOLDEN.check_producer(out)
    assert emitted["marquestore"] == "GZ01"
    message: Any = out.message
    if out.message.DESCRIPTOR.name == "CustomerCreated":
        assert emitted["subject"] == message.customer.customer_id
    else:
        assert emitted["subject"] == message.merged_customer_id


def test_fixtures_are_what_the_producer_emits_for_the_reference_records() -> None:
    GOLDEN.check_up_to_date(reference_events(0))


@pytest.mark.parametrize("name", ALL_TYPES)
def test_consumer_parses_the_fixture(name: str) -> None:
    envelope, message = GOLDEN.parse(name)
    assert envelope.store == "SH01"
    assert message.occurred_at.ToDatetime().year == 2026


def test_the_fixtures_tell_the_customer_story() -> None:
    created, customer = GOLDEN.parse("CustomerCreated")
    assert customer.source == crm_pb2.LEAD_CHANNEL_WALK_IN
    assert customer.customer.kind == crm_pb2.CUSTOMER_KIND_PERSON
    assert customer.customer.mobile_masked == "+86 138****8000"  # never the full number
    assert created.subject == customer.customer.customer_id
    merged, merge = GOLDEN.parse("CustomerMerged")
    assert merge.survivor_customer_id == customer.customer.customer_id
    assert merged.subject == merge.merged_customer_id != merge.survivor_customer_id
    assert merge.actor == "sh01.manager"


if __name__ == "__main__":
    GOLDEN.write(reference_events(0))
