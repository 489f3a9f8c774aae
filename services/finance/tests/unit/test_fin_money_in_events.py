"""Money-in events (PaymentReceived, PaymentRefunded, InvoiceIssued, InvoiceCredited) against
their golden fixtures (DESIGN.md §4).

Producer side: what `receivables_service`'s event builders + `wrap` emit today has the fixture's
envelope keys, the same `data` shape, type and routing key. Consumer side (sales, aftersales):
every fixture parses into its proto class. The fixtures are written by this module from the
reference documents below, with fixed ids and times (`marque_kit.testing.golden`); after an
intended change regenerate them and review the diff:

    .venv/bin/python services/finance/tests/unit/test_fin_money_in_events.py
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from marque.finance.v1 import events_pb2, finance_pb2
from marque_finance.models import CreditNote, Invoice, Receipt, Refund
from marque_finance.receivables_service import (
    invoice_credited_event,
    invoice_issued_event,
    payment_received_event,
    payment_refunded_event,
)
from marque_kit.db import OutgoingEvent
from marque_kit.testing.golden import Golden, message_names

GOLDEN = Golden(
    events_pb2,
    __file__,
    id_namespace=uuid.UUID("5d1e9a40-7c2b-4f6e-8a13-2b9c4e7f0a66"),
    fixed_time=datetime(2026, 3, 2, 3, 20, 11, 500000, tzinfo=UTC),
    correlation="8e4b2a6c0d1f4e3a9b7c5d2e1f0a3b4c",
    traceparent="00-2f6a8c0e4b1d3f5a7c9e1b3d5f7a9c0e-3b5d7f9a1c2e4f6a-01",
)
ALL_TYPES = ("PaymentReceived", "PaymentRefunded", "InvoiceIssued", "InvoiceCredited")


def reference_events(variant: int = 0) -> list[OutgoingEvent]:
    """A car sold in Shanghai: the deposit received by WeChat Pay, part of it refunded, and the
    invoice issued. Variant 1 (Guangzhou, a repair order paid by card) has other values in the
    same fields, so the producer test compares shapes, not copies."""
    store = ("SH01", "GZ01")[variant]
    reference_type = ("sales_order", "repair_order")[variant]
    reference = ("SO-SH01-000123", "RO-GZ01-20260302-0042")[variant]
    at = datetime(2026, 3, 2, 3, 20, tzinfo=UTC)
    day = date(2026, 3, 2)
    receipt = Receipt(
        id=GOLDEN.id("receipt", variant),
        number=f"RCT-{store}-2026-{17 + variant:06d}",
        store_id=store,
        customer_id=("CUST-000812", "CUST-004411")[variant],
        payer_name=("张伟", "陈静")[variant],
        reference_type=reference_type,
        reference=reference,
        method=("wechat_pay", "pos_card")[variant],
        amount_fen=(5_000_000, 339_000)[variant],
        applied_fen=0,
        refunded_fen=0,
        received_on=day,
        bank_reference=("4200001234202603021234567890", "POS-889911")[variant],
        created_at=at,
        version=1,
    )
    received = payment_received_event(receipt, receipt.amount_fen + variant * 100_000)
    refund = Refund(
        id=GOLDEN.id("refund", variant),
        number=f"RFD-{store}-2026-{3 + variant:06d}",
        store_id=store,
        receipt_id=receipt.id,
        amount_fen=(1_000_000, 39_000)[variant],
        reason=("客户改选配置, 退还部分定金 customer changed trim", "discount agreed")[variant],
        refunded_on=day,
        created_at=at,
    )
    receipt.refunded_fen = refund.amount_fen
    receipt.version = 2
    refunded = payment_refunded_event(
        refund, receipt, receipt.amount_fen - refund.amount_fen + variant * 100_000
    )
    invoice = Invoice(
        id=GOLDEN.id("invoice", variant),
        number=f"INV-{store}-2026-{42 + variant:06d}",
        store_id=store,
        customer_id=receipt.customer_id,
        customer_name=receipt.payer_name,
        reference_type=reference_type,
        reference=reference,
        issued_on=day,
        due_on=date(2026, 4, 1),
        total_fen=(22_600_000, 339_000)[variant],
        net_fen=(20_000_000, 300_000)[variant],
        vat_fen=(2_600_000, 39_000)[variant],
        paid_fen=0,
        status="open",
        created_at=at,
        version=1,
    )
    issued = invoice_issued_event(invoice)
    # The customer paid 100,000.00 of the invoice, then the price was cut by 11,300.00 CNY
    # (variant 1: 1,130.00 CNY of the repair order credited before anything was paid).
    invoice.paid_fen = (10_000_000, 0)[variant]
    credited = (1_130_000, 113_000)[variant]
    note = CreditNote(
        id=GOLDEN.id("credit_note", variant),
        number=f"CN-{store}-2026-{5 + variant:06d}",
        store_id=store,
        invoice_id=invoice.id,
        customer_id=invoice.customer_id,
        reason=("price_adjustment", "wrong_details")[variant],
        note=("厂家让利 OEM price support", "")[variant],
        credited_on=date(2026, 3, 9),
        total_fen=credited,
        net_fen=(1_000_000, 100_000)[variant],
        vat_fen=(130_000, 13_000)[variant],
        released_fen=0,
        created_at=at,
    )
    invoice.credited_fen = credited
    invoice.status = ("partially_paid", "open")[variant]
    invoice.version = 3
    return [received, refunded, issued, invoice_credited_event(note, invoice)]


PRODUCED = reference_events(variant=1)


def test_every_money_in_event_type_has_a_reference_example() -> None:
    assert message_names(PRODUCED) == sorted(ALL_TYPES)


@pytest.mark.parametrize("out", PRODUCED, ids=lambda o: o.message.DESCRIPTOR.name)
def test_producer_emits_the_fixture_shape(out: OutgoingEvent) -> None:
    emitted = GOLDEN.check_producer(out)
    assert emitted["marquestore"] == "GZ01"
    name = out.message.DESCRIPTOR.name
    subject_field = "invoice_id" if name.startswith("Invoice") else "receipt_id"
    assert emitted["subject"] == getattr(out.message, subject_field)


def test_fixtures_are_what_the_producer_emits_for_the_reference_documents() -> None:
    GOLDEN.check_up_to_date(reference_events(0))


@pytest.mark.parametrize("name", ALL_TYPES)
def test_consumer_parses_the_fixture(name: str) -> None:
    envelope, message = GOLDEN.parse(name)
    assert envelope.store == message.store_id == "SH01"
    assert message.reference_type == finance_pb2.RECEIPT_REFERENCE_SALES_ORDER
    assert message.reference == "SO-SH01-000123"
    assert message.occurred_at.ToDatetime().year == 2026


def test_the_fixtures_tell_the_sales_story() -> None:
    received = GOLDEN.data("PaymentReceived")
    assert received["method"] == "PAYMENT_METHOD_WECHAT_PAY"
    assert received["amount"] == {"amountFen": "5000000", "currencyCode": "CNY"}
    assert received["totalReceivedForReference"]["amountFen"] == "5000000"
    refunded = GOLDEN.data("PaymentRefunded")
    assert refunded["receiptId"] == received["receiptId"]
    assert refunded["totalReceivedForReference"]["amountFen"] == "4000000"
    issued = GOLDEN.data("InvoiceIssued")
    assert (issued["total"]["amountFen"], issued["vat"]["amountFen"]) == ("22600000", "2600000")
    assert issued["dueOn"] == "2026-04-01"
    credited = GOLDEN.data("InvoiceCredited")
    assert credited["invoiceId"] == issued["invoiceId"]
    assert credited["reason"] == "CREDIT_REASON_PRICE_ADJUSTMENT"
    assert (credited["total"]["amountFen"], credited["vat"]["amountFen"]) == ("1130000", "130000")
    assert credited["outstanding"]["amountFen"] == "11470000"


if __name__ == "__main__":
    GOLDEN.write(reference_events(0))
