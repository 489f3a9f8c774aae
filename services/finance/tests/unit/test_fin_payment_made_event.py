"""PaymentMade against its golden fixture (DESIGN.md §4).

Producer side: what `payables_service.payment_made_event` + `wrap` emit has the fixture's
envelope keys, the same `data` shape, type and routing key. Consumer side: the fixture parses into
the proto class. The fixture is written by this module from the reference payment below, with a
fixed id and time (`marque_kit.testing.golden`); after an intended change regenerate it and
review the diff:

    .venv/bin/python services/finance/tests/unit/test_fin_payment_made_event.py
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from marque.finance.v1 import events_pb2
from marque_finance.payables_service import PAYMENT_MADE, payment_made_event
from marque_kit.db import OutgoingEvent
from marque_kit.testing.golden import Golden

GOLDEN = Golden(
    events_pb2,
    __file__,
    id_namespace=uuid.UUID("5d0c8b1e-2f47-4c3a-8e61-9b7a2d4c6e10"),
    fixed_time=datetime(2026, 11, 5, 3, 20, 11, 400000, tzinfo=UTC),
    correlation="8e2d4f6a1c3b4d5e9f0a7b6c5d4e3f21",
    traceparent="00-2c4e6a8b0d1f3a5c7e9b1d3f5a7c9e0b-3a5c7e9b1d2f4a6c-01",
)


def reference_payment(variant: int = 0) -> OutgoingEvent:
    """A partial payment to the OEM for one vehicle (variant 1: a parts supplier paid in full)."""
    if variant == 0:
        return payment_made_event(
            payment_id=GOLDEN.id("payment", 0),
            payable_id=GOLDEN.id("payable", 0),
            store_id="SH01",
            supplier="OEM:BYD",
            amount_fen=10_000_000,
            outstanding_fen=11_583_000,
            paid_on=date(2026, 11, 5),
            seq=2,
            at=datetime(2026, 11, 5, 3, 20, 10, tzinfo=UTC),
        )
    return payment_made_event(
        payment_id=str(uuid.uuid4()),
        payable_id=str(uuid.uuid4()),
        store_id="GZ01",
        supplier="SUPPLIER:PARTS",
        amount_fen=141_024,
        outstanding_fen=1,
        paid_on=date(2026, 10, 31),
        seq=3,
    )


def test_producer_emits_the_fixture_shape() -> None:
    out = reference_payment(1)
    emitted = GOLDEN.check_producer(out)
    assert out.subject == emitted["data"]["payableId"]
    assert emitted["marquestore"] == "GZ01"
    assert emitted["marqueseq"] == 3


def test_routing_key_is_the_one_in_the_proto() -> None:
    assert GOLDEN.routing_keys()["PaymentMade"] == PAYMENT_MADE == reference_payment(0).routing_key


def test_the_fixture_is_what_the_producer_emits_for_the_reference_payment() -> None:
    GOLDEN.check_up_to_date([reference_payment(0)])


def test_consumer_parses_the_fixture() -> None:
    envelope, message = GOLDEN.parse("PaymentMade")
    assert envelope.subject == message.payable_id
    assert envelope.store == message.store_id == "SH01"
    assert message.amount.amount_fen == 10_000_000 and message.amount.currency_code == "CNY"
    assert message.outstanding.amount_fen == 11_583_000
    assert message.supplier == "OEM:BYD" and message.paid_on == "2026-11-05"
    assert message.occurred_at.ToDatetime().year == 2026


if __name__ == "__main__":
    GOLDEN.write([reference_payment(0)])
