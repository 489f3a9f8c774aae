"""Period events (PeriodClosed, PeriodReopened) against their golden fixtures (DESIGN.md §4).

Producer side: what `periods_service.period_closed` / `period_reopened` + `wrap` emit has the
fixture's envelope keys, `data` shape, type and routing key. Consumer side: each fixture parses
into its proto class. The fixtures are written by this module with fixed ids and times
(`marque_kit.testing.golden`); after an intended change regenerate them and review the diff:

    .venv/bin/python services/finance/tests/unit/test_fin_period_events.py
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from marque.finance.v1 import events_pb2
from marque_finance.periods_service import period_closed, period_reopened
from marque_kit.db import OutgoingEvent
from marque_kit.testing.golden import Golden, message_names

GOLDEN = Golden(
    events_pb2,
    __file__,
    id_namespace=uuid.UUID("5d0e8f4a-2b71-4c3e-8a9d-71f0c2b6e4a3"),
    fixed_time=datetime(2026, 11, 2, 1, 45, 12, 500000, tzinfo=UTC),
    correlation="a1c3e5f7092b4d6f8a0c2e4f6a8b0d2e",
    traceparent="00-2f4e6a8c0b1d3f5e7a9c1b3d5f7e9a0c-3e5d7c9b1a0f2e4d-01",
)
ALL_TYPES = ("PeriodClosed", "PeriodReopened")


def reference_events(variant: int = 0) -> list[OutgoingEvent]:
    """October closed by the store's finance, then reopened by HQ finance with a reason."""
    store = ("SH01", "HZ01")[variant]
    at = datetime(2026, 11, 2, 1, 45, tzinfo=UTC)
    city = store[:2].lower()
    return [
        period_closed(store, "2026-10", f"user:demo-{city}-finance", seq=2 + variant, at=at),
        period_reopened(
            store,
            "2026-10",
            "user:demo-hq-finance",
            "主机厂十月返利红字发票迟到, 需补记 (OEM rebate credit note arrived late)",
            seq=3 + variant,
            at=at,
        ),
    ]


PRODUCED = reference_events(variant=1)


def test_every_period_event_type_has_a_reference_example() -> None:
    assert message_names(PRODUCED) == message_names(reference_events(0)) == sorted(ALL_TYPES)


@pytest.mark.parametrize("out", PRODUCED, ids=lambda o: o.message.DESCRIPTOR.name)
def test_producer_emits_the_fixture_shape(out: OutgoingEvent) -> None:
    emitted = GOLDEN.check_producer(out)
    assert emitted["subject"] == "HZ01/2026-10" and emitted["marquestore"] == "HZ01"


def test_fixtures_are_what_the_producer_emits_for_the_reference_events() -> None:
    GOLDEN.check_up_to_date(reference_events(0))


@pytest.mark.parametrize("name", ALL_TYPES)
def test_consumer_parses_the_fixture(name: str) -> None:
    envelope, message = GOLDEN.parse(name)
    assert envelope.store == message.store_id == "SH01"
    assert envelope.subject == f"{message.store_id}/{message.period}" == "SH01/2026-10"
    assert message.actor.startswith("user:")
    assert message.occurred_at.ToDatetime().year == 2026
    if name == "PeriodReopened":
        assert message.reason and envelope.seq == 3


if __name__ == "__main__":
    GOLDEN.write(reference_events(0))
