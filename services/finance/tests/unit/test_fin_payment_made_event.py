"""PaymentMade against its golden fixture (DESIGN.md §4).

Producer side: what `payables_service.payment_made_event` + `wrap` emit has the fixture's
envelope keys, the same `data` shape, type and routing key. Consumer side: the fixture parses into
the proto class. The fixture is written by this module from the reference payment below, with a
fixed id and time; after an intended change regenerate it and review the diff:

    .venv/bin/python services/finance/tests/unit/test_fin_payment_made_event.py
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from marque.finance.v1 import events_pb2
from marque_finance.payables_service import PAYMENT_MADE, payment_made_event
from marque_kit.context import correlation_id_var, traceparent_var
from marque_kit.db import OutgoingEvent
from marque_kit.envelope import Envelope, wrap

ROOT = Path(__file__).resolve().parents[4]
FIXTURE = ROOT / "tests" / "contract" / "fixtures" / "marque.finance.v1.PaymentMade.json"
EVENTS_PROTO = ROOT / "protos" / "marque" / "finance" / "v1" / "events.proto"
ID_NAMESPACE = uuid.UUID("5d0c8b1e-2f47-4c3a-8e61-9b7a2d4c6e10")
FIXED_TIME = datetime(2026, 11, 5, 3, 20, 11, 400000, tzinfo=UTC)
CORRELATION = "8e2d4f6a1c3b4d5e9f0a7b6c5d4e3f21"
TRACEPARENT = "00-2c4e6a8b0d1f3a5c7e9b1d3f5a7c9e0b-3a5c7e9b1d2f4a6c-01"


def reference_payment(variant: int = 0) -> OutgoingEvent:
    """A partial payment to the OEM for one vehicle (variant 1: a parts supplier paid in full)."""
    if variant == 0:
        return payment_made_event(
            payment_id=str(uuid.uuid5(ID_NAMESPACE, "payment-0")),
            payable_id=str(uuid.uuid5(ID_NAMESPACE, "payable-0")),
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


@contextmanager
def request_context() -> Iterator[None]:
    tokens = (correlation_id_var.set(CORRELATION), traceparent_var.set(TRACEPARENT))
    try:
        yield
    finally:
        correlation_id_var.reset(tokens[0])
        traceparent_var.reset(tokens[1])


def produce(out: OutgoingEvent, **kw: Any) -> Envelope:
    """The producer's path (as `marque_kit.db.write_outbox` takes it)."""
    return wrap(
        out.message,
        source="marque/finance",
        subject=out.subject,
        store=out.store_id,
        seq=out.seq,
        **kw,
    )


def render() -> str:
    with request_context():
        envelope = produce(
            reference_payment(0),
            event_id=str(uuid.uuid5(ID_NAMESPACE, "PaymentMade")),
            time=FIXED_TIME,
        )
    return json.dumps(envelope.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: shape(item) for key, item in sorted(value.items())}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def test_producer_emits_the_fixture_shape() -> None:
    fixture = json.loads(FIXTURE.read_text("utf-8"))
    out = reference_payment(1)
    with request_context():
        emitted = produce(out).to_dict()
    assert sorted(emitted) == sorted(fixture)
    assert shape(emitted["data"]) == shape(fixture["data"])
    assert emitted["type"] == fixture["type"] == "marque.finance.v1.PaymentMade"
    assert emitted["source"] == fixture["source"] == "marque/finance"
    assert emitted["subject"] == out.subject and out.subject == emitted["data"]["payableId"]
    assert emitted["marquestore"] == out.store_id == "GZ01"
    assert emitted["marqueseq"] == 3


def test_routing_key_is_the_one_in_the_proto() -> None:
    found = dict(
        (message, key)
        for key, message in re.findall(
            r"//\s*Routing key:\s*(\S+?);?\s.*\n\s*message\s+(\w+)",
            EVENTS_PROTO.read_text("utf-8"),
        )
    )
    assert found["PaymentMade"] == PAYMENT_MADE == reference_payment(0).routing_key


def test_the_fixture_is_what_the_producer_emits_for_the_reference_payment() -> None:
    assert FIXTURE.read_text("utf-8") == render(), "stale fixture; run this module to regenerate"


def test_consumer_parses_the_fixture() -> None:
    envelope = Envelope.from_json(FIXTURE.read_bytes())
    message = envelope.parse(events_pb2.PaymentMade)
    assert envelope.source == "marque/finance" and envelope.subject == message.payable_id
    assert envelope.store == message.store_id == "SH01"
    assert message.amount.amount_fen == 10_000_000 and message.amount.currency_code == "CNY"
    assert message.outstanding.amount_fen == 11_583_000
    assert message.supplier == "OEM:BYD" and message.paid_on == "2026-11-05"
    assert message.occurred_at.ToDatetime().year == 2026


if __name__ == "__main__":
    FIXTURE.write_text(render(), encoding="utf-8")
    print(f"wrote {FIXTURE.relative_to(ROOT)}")
