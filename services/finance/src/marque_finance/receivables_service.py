"""Receivables commands and queries: issue an invoice, record a receipt, refund, read the AR ledger
and its ageing. Shared by the HTTP routes and the gRPC servicer.

Each command runs inside the caller's `finance.uow()` (one transaction): the documents, their
journal entries (through `books.post`) and the outgoing event commit together or not at all.
Commands on one reference (a sales order, a repair order, a customer's deposits on account) take a
transaction-scoped advisory lock on it, so a receipt and an invoice for the same order arriving at
the same moment can never both miss each other.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from marque.finance.v1 import events_pb2 as fev
from marque_finance import books
from marque_finance.domain import credit_notes as cn
from marque_finance.domain import receivables as rv
from marque_finance.domain.accounts import AR, CUSTOMER_ADVANCES, BusinessLine
from marque_finance.domain.ageing import Ageing
from marque_finance.domain.posting_rules import money_in
from marque_finance.events import money, outgoing, timestamp
from marque_finance.models import (
    CreditNote,
    CreditNoteLine,
    CreditNoteRelease,
    Invoice,
    InvoiceLine,
    Receipt,
    ReceiptApplication,
    Refund,
)
from marque_finance.unit_of_work import Finance
from marque_kit.auth import Principal
from marque_kit.db import OutgoingEvent, UnitOfWork
from marque_kit.errors import IdempotencyMismatch, InvalidInput, NotFound

INVOICES_READ = "finance.invoices:read"
INVOICES_WRITE = "finance.invoices:write"
RECEIPTS_READ = "finance.receipts:read"
RECEIPTS_WRITE = "finance.receipts:write"
RECEIPTS_REFUND = "finance.receipts:refund"
AR_READ = "finance.ar:read"

MAX_STORE_ID = 20
MAX_CUSTOMER_ID = 80
MAX_NAME = 200
MAX_BANK_REFERENCE = 100
MAX_REQUEST_ID = 200


# --- commands and documents -----------------------------------------------------------------


@dataclass(frozen=True)
class IssueInvoice:
    store_id: str
    customer_id: str
    reference_type: str
    reference: str
    lines: Sequence[rv.InvoiceLineDraft]
    customer_name: str = ""
    issued_on: date | None = None
    due_on: date | None = None


@dataclass(frozen=True)
class RecordReceipt:
    store_id: str
    customer_id: str
    reference_type: str
    reference: str
    method: str
    amount: object
    received_on: date | None = None
    payer_name: str = ""
    bank_reference: str = ""
    # The caller's key: the same request id in the same store records one receipt, ever.
    request_id: str | None = None


@dataclass(frozen=True)
class RefundReceipt:
    amount: object
    reason: str
    refunded_on: date | None = None
    bank_reference: str = ""


@dataclass(frozen=True)
class CreditInvoice:
    """A credit note (红字发票): `full` takes back what is left of every line, or `lines`
    ((line_no, gross fen) pairs) take back part of chosen lines."""

    reason: str
    lines: Sequence[cn.CreditAsk] = ()
    full: bool = False
    note: str = ""
    credited_on: date | None = None
    # The caller's key: the same request id in the same store issues one credit note, ever.
    request_id: str | None = None


@dataclass
class CreditNoteDoc:
    credit_note: CreditNote
    lines: list[CreditNoteLine]
    releases: list[CreditNoteRelease] = field(default_factory=list)


@dataclass
class InvoiceDoc:
    invoice: Invoice
    lines: list[InvoiceLine]
    applications: list[ReceiptApplication] = field(default_factory=list)
    credit_notes: list[CreditNoteDoc] = field(default_factory=list)
    # True when a repeated request id answered with the credit note it issued the first time.
    replayed: bool = False

    @property
    def outstanding(self) -> int:
        return outstanding(self.invoice)


def outstanding(invoice: Invoice) -> int:
    """What the customer still owes on an invoice: total less payments and credit notes."""
    return invoice.total_fen - invoice.paid_fen - invoice.credited_fen


@dataclass
class ReceiptDoc:
    receipt: Receipt
    applications: list[ReceiptApplication] = field(default_factory=list)
    refunds: list[Refund] = field(default_factory=list)
    total_received_for_reference: int = 0
    # True when a repeated request id answered with the receipt it recorded the first time.
    replayed: bool = False

    @property
    def unapplied(self) -> int:
        r = self.receipt
        return rv.unapplied(r.amount_fen, r.applied_fen, r.refunded_fen)


# --- small checks ---------------------------------------------------------------------------


def _required(value: str, name: str, limit: int) -> str:
    cleaned = value.strip()
    if not cleaned:
        raise InvalidInput(f"{name} is required.", errors=[{"field": name, "rule": "required"}])
    if len(cleaned) > limit:
        raise InvalidInput(
            f"{name} is at most {limit} characters ({len(cleaned)} given).",
            errors=[{"field": name, "rule": "max_length"}],
        )
    return cleaned


def _optional(value: str, name: str, limit: int) -> str:
    cleaned = value.strip()
    if len(cleaned) > limit:
        raise InvalidInput(
            f"{name} is at most {limit} characters ({len(cleaned)} given).",
            errors=[{"field": name, "rule": "max_length"}],
        )
    return cleaned


def _now() -> datetime:
    return datetime.now(UTC)


async def _lock(session: AsyncSession, key: str) -> None:
    """Serialise commands on one key until this transaction ends."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key}
    )


async def _next_number(session: AsyncSession, kind: str, store_id: str, year: int) -> str:
    result = await session.execute(
        text(
            "INSERT INTO receivable_counters (store_id, kind, year, last_no) "
            "VALUES (:s, :k, :y, 1) ON CONFLICT (store_id, kind, year) "
            "DO UPDATE SET last_no = receivable_counters.last_no + 1 RETURNING last_no"
        ),
        {"s": store_id, "k": kind, "y": year},
    )
    return f"{kind}-{store_id}-{year:04d}-{result.scalar_one():06d}"


def _store(principal: Principal, store_id: str, scope: str) -> str:
    principal.require(scope)
    store = _required(store_id, "store_id", MAX_STORE_ID)
    principal.require_store(store, what=f"Store {store}")
    return store


# --- events ---------------------------------------------------------------------------------


def method_enum(method: str) -> str:
    """`wechat_pay` -> the proto enum's name, `PAYMENT_METHOD_WECHAT_PAY`."""
    return "PAYMENT_METHOD_" + method.upper()


def reference_enum(reference_type: str) -> str:
    """`sales_order` -> `RECEIPT_REFERENCE_SALES_ORDER`."""
    return "RECEIPT_REFERENCE_" + reference_type.upper()


def invoice_issued_event(invoice: Invoice) -> OutgoingEvent:
    """finance.invoice.issued: revenue and output VAT are booked for the reference."""
    return outgoing(
        fev.InvoiceIssued(
            occurred_at=timestamp(invoice.created_at),
            invoice_id=invoice.id,
            store_id=invoice.store_id,
            customer_id=invoice.customer_id,
            reference_type=reference_enum(invoice.reference_type),
            reference=invoice.reference,
            total=money(invoice.total_fen),
            vat=money(invoice.vat_fen),
            issued_on=invoice.issued_on.isoformat(),
            due_on=invoice.due_on.isoformat(),
        ),
        "finance.invoice.issued",
        subject=invoice.id,
        store_id=invoice.store_id,
        seq=invoice.version,
    )


def payment_received_event(receipt: Receipt, total_for_reference: int) -> OutgoingEvent:
    """finance.payment.received: sales and aftersales mark their orders paid from this."""
    return outgoing(
        fev.PaymentReceived(
            occurred_at=timestamp(receipt.created_at),
            receipt_id=receipt.id,
            store_id=receipt.store_id,
            customer_id=receipt.customer_id,
            reference_type=reference_enum(receipt.reference_type),
            reference=receipt.reference,
            method=method_enum(receipt.method),
            amount=money(receipt.amount_fen),
            received_on=receipt.received_on.isoformat(),
            total_received_for_reference=money(total_for_reference),
        ),
        "finance.payment.received",
        subject=receipt.id,
        store_id=receipt.store_id,
        seq=receipt.version,
    )


def payment_refunded_event(
    refund: Refund, receipt: Receipt, total_for_reference: int
) -> OutgoingEvent:
    """finance.payment.refunded: money went back to the customer out of a receipt."""
    return outgoing(
        fev.PaymentRefunded(
            occurred_at=timestamp(refund.created_at),
            refund_id=refund.id,
            receipt_id=receipt.id,
            store_id=receipt.store_id,
            customer_id=receipt.customer_id,
            reference_type=reference_enum(receipt.reference_type),
            reference=receipt.reference,
            amount=money(refund.amount_fen),
            reason=refund.reason,
            refunded_on=refund.refunded_on.isoformat(),
            total_received_for_reference=money(total_for_reference),
        ),
        "finance.payment.refunded",
        subject=receipt.id,
        store_id=receipt.store_id,
        seq=receipt.version,
    )


# --- invoices -------------------------------------------------------------------------------


async def issue_invoice(
    uow: UnitOfWork, finance: Finance, principal: Principal, cmd: IssueInvoice
) -> InvoiceDoc:
    """Issue an invoice, book revenue and output VAT, and apply money already waiting for it."""
    store = _store(principal, cmd.store_id, INVOICES_WRITE)
    reference_type = rv.parse_reference_type(cmd.reference_type)
    reference = rv.check_reference(reference_type, cmd.reference, for_invoice=True)
    customer = _required(cmd.customer_id, "customer_id", MAX_CUSTOMER_ID)
    customer_name = _optional(cmd.customer_name, "customer_name", MAX_NAME)
    priced = rv.price_invoice(cmd.lines)
    issued_on = cmd.issued_on or finance.today()
    due_on = rv.due_date(issued_on, cmd.due_on, finance.settings.invoice_terms_days)
    session = uow.session
    await _lock(session, rv.reference_key(store, reference_type, reference, customer))

    invoice = Invoice(
        id=str(uuid.uuid4()),
        number=await _next_number(session, "INV", store, issued_on.year),
        store_id=store,
        customer_id=customer,
        customer_name=customer_name,
        reference_type=reference_type.value,
        reference=reference,
        issued_on=issued_on,
        due_on=due_on,
        total_fen=priced.total,
        net_fen=priced.net,
        vat_fen=priced.vat,
        paid_fen=0,
        status=rv.InvoiceStatus.OPEN.value,
        created_by=principal.label(),
        created_at=_now(),
    )
    lines = [
        InvoiceLine(
            invoice_id=invoice.id,
            line_no=n,
            description=line.description,
            business_line=line.business_line.value,
            model_code=line.model_code,
            vin=line.vin,
            gross_fen=line.gross,
            net_fen=line.net,
            vat_fen=line.vat,
        )
        for n, line in enumerate(priced.lines, start=1)
    ]
    session.add(invoice)
    await session.flush()
    session.add_all(lines)
    posted = await books.post(
        session,
        money_in.invoice_issued(
            store_id=store,
            invoice_id=invoice.id,
            number=invoice.number,
            customer_id=customer,
            reference=reference,
            issued_on=issued_on,
            lines=priced.lines,
            created_by=principal.label(),
        ),
    )
    invoice.entry_id = posted.id if posted else ""

    waiting = (
        (
            await session.execute(
                select(Receipt)
                .where(
                    col(Receipt.store_id) == store,
                    col(Receipt.reference_type) == reference_type.value,
                    col(Receipt.reference) == reference,
                    col(Receipt.amount_fen) - col(Receipt.applied_fen) - col(Receipt.refunded_fen)
                    > 0,
                )
                .order_by(col(Receipt.received_on), col(Receipt.created_at), col(Receipt.id))
                .with_for_update()
            )
        )
        .scalars()
        .all()
    )
    receipts = {r.id: r for r in waiting}
    allocations, _ = rv.allocate(
        invoice.total_fen,
        [(r.id, rv.unapplied(r.amount_fen, r.applied_fen, r.refunded_fen)) for r in waiting],
    )
    applications = []
    for allocation in allocations:
        receipt = receipts[allocation.target]
        applications.append(
            await _apply_advance(session, principal, receipt, invoice, allocation.amount)
        )
    invoice.paid_fen = sum(a.amount_fen for a in applications)
    invoice.status = rv.invoice_status(invoice.total_fen, invoice.paid_fen).value
    await session.flush()
    uow.record(invoice_issued_event(invoice))
    return InvoiceDoc(invoice, lines, applications)


async def _apply_advance(
    session: AsyncSession, principal: Principal, receipt: Receipt, invoice: Invoice, amount: int
) -> ReceiptApplication:
    """Money waiting in advances (2203) pays an invoice: Dr 2203 / Cr 1122, on the later date of
    the two documents. The caller updates the invoice's paid amount."""
    on = max(receipt.received_on, invoice.issued_on)
    posted = await books.post(
        session,
        money_in.advance_applied(
            store_id=invoice.store_id,
            receipt_id=receipt.id,
            receipt_number=receipt.number,
            receipt_customer=receipt.customer_id,
            invoice_id=invoice.id,
            invoice_number=invoice.number,
            invoice_customer=invoice.customer_id,
            amount=amount,
            on=on,
            created_by=principal.label(),
        ),
    )
    application = ReceiptApplication(
        store_id=invoice.store_id,
        receipt_id=receipt.id,
        invoice_id=invoice.id,
        amount_fen=amount,
        applied_on=on,
        source="invoice",
        entry_id=posted.id if posted else "",
        created_at=_now(),
    )
    session.add(application)
    receipt.applied_fen += amount
    receipt.version += 1
    return application


async def load_invoice(session: AsyncSession, principal: Principal, invoice_id: str) -> InvoiceDoc:
    principal.require(INVOICES_READ)
    invoice = await session.get(Invoice, invoice_id.strip())
    if invoice is None or not principal.sees_store(invoice.store_id):
        raise NotFound(f"Invoice {invoice_id} was not found in your stores.")
    lines = (
        (
            await session.execute(
                select(InvoiceLine)
                .where(col(InvoiceLine.invoice_id) == invoice.id)
                .order_by(col(InvoiceLine.line_no))
            )
        )
        .scalars()
        .all()
    )
    applications = (
        (
            await session.execute(
                select(ReceiptApplication)
                .where(col(ReceiptApplication.invoice_id) == invoice.id)
                .order_by(col(ReceiptApplication.id))
            )
        )
        .scalars()
        .all()
    )
    return InvoiceDoc(
        invoice, list(lines), list(applications), await _credit_notes(session, invoice.id)
    )


async def _credit_notes(session: AsyncSession, invoice_id: str) -> list[CreditNoteDoc]:
    notes = (
        (
            await session.execute(
                select(CreditNote)
                .where(col(CreditNote.invoice_id) == invoice_id)
                .order_by(col(CreditNote.created_at), col(CreditNote.id))
            )
        )
        .scalars()
        .all()
    )
    ids = [n.id for n in notes]
    lines = (
        (
            await session.execute(
                select(CreditNoteLine)
                .where(col(CreditNoteLine.credit_note_id).in_(ids))
                .order_by(col(CreditNoteLine.invoice_line_no))
            )
        )
        .scalars()
        .all()
    )
    releases = (
        (
            await session.execute(
                select(CreditNoteRelease)
                .where(col(CreditNoteRelease.credit_note_id).in_(ids))
                .order_by(col(CreditNoteRelease.id))
            )
        )
        .scalars()
        .all()
    )
    return [
        CreditNoteDoc(
            n,
            [x for x in lines if x.credit_note_id == n.id],
            [r for r in releases if r.credit_note_id == n.id],
        )
        for n in notes
    ]


# --- credit notes (红字发票) ------------------------------------------------------------------


def reason_enum(reason: str) -> str:
    """`sale_cancelled` -> `CREDIT_REASON_SALE_CANCELLED`."""
    return "CREDIT_REASON_" + reason.upper()


def invoice_credited_event(note: CreditNote, invoice: Invoice) -> OutgoingEvent:
    """finance.invoice.credited: a credit note reversed part or all of an invoice."""
    return outgoing(
        fev.InvoiceCredited(
            occurred_at=timestamp(note.created_at),
            credit_note_id=note.id,
            invoice_id=invoice.id,
            store_id=invoice.store_id,
            customer_id=invoice.customer_id,
            reference_type=reference_enum(invoice.reference_type),
            reference=invoice.reference,
            total=money(note.total_fen),
            vat=money(note.vat_fen),
            reason=reason_enum(note.reason),
            credited_on=note.credited_on.isoformat(),
            released_to_advances=money(note.released_fen),
            outstanding=money(outstanding(invoice)),
            total_credited=money(invoice.credited_fen),
        ),
        "finance.invoice.credited",
        subject=invoice.id,
        store_id=invoice.store_id,
        seq=invoice.version,
    )


def _same_credit(existing: CreditNoteDoc, invoice_id: str, cmd: CreditInvoice) -> bool:
    note = existing.credit_note
    if note.invoice_id != invoice_id or note.reason != cmd.reason:
        return False
    if note.note != cmd.note.strip():
        return False
    if cmd.credited_on is not None and note.credited_on != cmd.credited_on:
        return False
    if cmd.full:
        return True
    asked = sorted((a.line_no, a.gross) for a in cmd.lines)
    return asked == sorted((x.invoice_line_no, x.gross_fen) for x in existing.lines)


async def credit_invoice(
    uow: UnitOfWork, finance: Finance, principal: Principal, invoice_id: str, cmd: CreditInvoice
) -> tuple[CreditNoteDoc, InvoiceDoc]:
    """Issue a credit note (红字发票) against an invoice: reverse revenue and output VAT for what
    it takes back, take it off what the customer owes, and release what was already paid into
    the customer's advances (2203), where it can be refunded or pay a later invoice."""
    principal.require(INVOICES_WRITE)
    reason = cn.parse_reason(cmd.reason)
    note_text = cn.check_note(cmd.note)
    request_id = (
        _required(cmd.request_id, "request_id", MAX_REQUEST_ID)
        if cmd.request_id is not None
        else None
    )
    session = uow.session
    found = await session.get(Invoice, invoice_id.strip())
    if found is None or not principal.sees_store(found.store_id):
        raise NotFound(f"Invoice {invoice_id} was not found in your stores.")
    store = found.store_id
    principal.require_store(store, what=f"Store {store}")
    await _lock(
        session,
        rv.reference_key(
            store, rv.ReferenceType(found.reference_type), found.reference, found.customer_id
        ),
    )
    if request_id is not None:
        existing = (
            await session.execute(
                select(CreditNote).where(
                    col(CreditNote.store_id) == store, col(CreditNote.request_id) == request_id
                )
            )
        ).scalar_one_or_none()
        if existing is not None:
            docs = await _credit_notes(session, existing.invoice_id)
            [doc] = [d for d in docs if d.credit_note.id == existing.id]
            if not _same_credit(doc, found.id, cmd):
                raise IdempotencyMismatch(
                    f"Request id {request_id} already issued credit note {existing.number} with "
                    "other details; use a new request id for a new credit note.",
                    errors=[{"field": "request_id", "rule": "reused"}],
                )
            invoice_doc = await load_invoice(session, principal, found.id)
            invoice_doc.replayed = True
            return doc, invoice_doc
    invoice = (
        await session.execute(
            select(Invoice)
            .where(col(Invoice.id) == found.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    credited_on = cmd.credited_on or finance.today()
    if credited_on < invoice.issued_on:
        raise InvalidInput(
            f"credited_on {credited_on.isoformat()} is before the invoice was issued "
            f"({invoice.issued_on.isoformat()}); a credit note follows its invoice.",
            errors=[{"field": "credited_on", "rule": "not_before_issue"}],
        )

    lines = (
        (
            await session.execute(
                select(InvoiceLine)
                .where(col(InvoiceLine.invoice_id) == invoice.id)
                .order_by(col(InvoiceLine.line_no))
            )
        )
        .scalars()
        .all()
    )
    earlier = await session.execute(
        select(
            col(CreditNoteLine.invoice_line_no),
            func.sum(col(CreditNoteLine.gross_fen)),
            func.sum(col(CreditNoteLine.net_fen)),
            func.sum(col(CreditNoteLine.vat_fen)),
        )
        .join(CreditNote, col(CreditNote.id) == col(CreditNoteLine.credit_note_id))
        .where(col(CreditNote.invoice_id) == invoice.id)
        .group_by(col(CreditNoteLine.invoice_line_no))
    )
    taken = {no: (int(g), int(n), int(v)) for no, g, n, v in earlier}
    creditable = [
        cn.CreditableLine(
            line_no=line.line_no,
            description=line.description,
            business_line=BusinessLine(line.business_line),
            gross=line.gross_fen,
            net=line.net_fen,
            vat=line.vat_fen,
            model_code=line.model_code,
            vin=line.vin,
            credited_gross=taken.get(line.line_no, (0, 0, 0))[0],
            credited_net=taken.get(line.line_no, (0, 0, 0))[1],
            credited_vat=taken.get(line.line_no, (0, 0, 0))[2],
        )
        for line in lines
    ]
    plan = cn.plan_credit(invoice.number, creditable, full=cmd.full, asks=cmd.lines)
    settlement = cn.settle(
        plan.total,
        total=invoice.total_fen,
        paid=invoice.paid_fen,
        credited=invoice.credited_fen,
    )

    # Receipts that pay this invoice, newest first, with what each still pays on it.
    paid_rows = await session.execute(
        select(col(ReceiptApplication.receipt_id), func.sum(col(ReceiptApplication.amount_fen)))
        .where(col(ReceiptApplication.invoice_id) == invoice.id)
        .group_by(col(ReceiptApplication.receipt_id))
    )
    paid_by = {rid: int(amount) for rid, amount in paid_rows}
    released_rows = await session.execute(
        select(col(CreditNoteRelease.receipt_id), func.sum(col(CreditNoteRelease.amount_fen)))
        .where(col(CreditNoteRelease.invoice_id) == invoice.id)
        .group_by(col(CreditNoteRelease.receipt_id))
    )
    for rid, amount in released_rows:
        paid_by[rid] = paid_by.get(rid, 0) - int(amount)
    receipts: dict[str, Receipt] = {}
    if settlement.released:
        receipts = {
            r.id: r
            for r in (
                await session.execute(
                    select(Receipt)
                    .where(col(Receipt.id).in_(sorted(paid_by)))
                    .with_for_update()
                    .execution_options(populate_existing=True)
                )
            )
            .scalars()
            .all()
        }
    newest_first = sorted(
        receipts.values(),
        key=lambda r: (r.received_on, r.created_at or _now(), r.id),
        reverse=True,
    )
    releases = cn.release_from(settlement.released, [(r.id, paid_by[r.id]) for r in newest_first])

    note = CreditNote(
        id=str(uuid.uuid4()),
        number=await _next_number(session, "CN", store, credited_on.year),
        store_id=store,
        invoice_id=invoice.id,
        customer_id=invoice.customer_id,
        reason=reason.value,
        note=note_text,
        credited_on=credited_on,
        total_fen=plan.total,
        net_fen=plan.net,
        vat_fen=plan.vat,
        released_fen=settlement.released,
        request_id=request_id,
        created_by=principal.label(),
        created_at=_now(),
    )
    session.add(note)
    await session.flush()
    note_lines = [
        CreditNoteLine(
            credit_note_id=note.id,
            invoice_line_no=c.line_no,
            description=c.priced.description,
            business_line=c.priced.business_line.value,
            model_code=c.priced.model_code,
            vin=c.priced.vin,
            gross_fen=c.priced.gross,
            net_fen=c.priced.net,
            vat_fen=c.priced.vat,
        )
        for c in plan.lines
    ]
    session.add_all(note_lines)
    posted = await books.post(
        session,
        money_in.invoice_credited(
            store_id=store,
            credit_note_id=note.id,
            number=note.number,
            invoice_number=invoice.number,
            customer_id=invoice.customer_id,
            reason=reason.value,
            credited_on=credited_on,
            lines=[c.priced for c in plan.lines],
            released=[
                money_in.Released(receipts[rid].number, receipts[rid].customer_id, amount)
                for rid, amount in releases
            ],
            created_by=principal.label(),
        ),
    )
    note.entry_id = posted.id if posted else ""
    release_rows = []
    for rid, amount in releases:
        receipt = receipts[rid]
        receipt.applied_fen -= amount
        receipt.version += 1
        release_rows.append(
            CreditNoteRelease(
                store_id=store,
                credit_note_id=note.id,
                receipt_id=rid,
                invoice_id=invoice.id,
                amount_fen=amount,
                released_on=credited_on,
            )
        )
    session.add_all(release_rows)
    invoice.paid_fen -= settlement.released
    invoice.credited_fen += plan.total
    invoice.status = rv.invoice_status(
        invoice.total_fen, invoice.paid_fen, invoice.credited_fen
    ).value
    invoice.version += 1
    await session.flush()
    uow.record(invoice_credited_event(note, invoice))
    return CreditNoteDoc(note, note_lines, release_rows), await load_invoice(
        session, principal, invoice.id
    )


# --- receipts -------------------------------------------------------------------------------


def _same_request(existing: Receipt, cmd: RecordReceipt, amount: int, reference: str) -> bool:
    return (
        existing.customer_id == cmd.customer_id.strip()
        and existing.reference_type == cmd.reference_type
        and existing.reference == reference
        and existing.method == cmd.method
        and existing.amount_fen == amount
        and existing.bank_reference == cmd.bank_reference.strip()
        and (cmd.received_on is None or existing.received_on == cmd.received_on)
    )


async def record_receipt(
    uow: UnitOfWork, finance: Finance, principal: Principal, cmd: RecordReceipt
) -> ReceiptDoc:
    """Record money received; it pays open invoices of the reference first, the rest waits in
    advances. A request id seen before in the store answers the first receipt (replayed)."""
    store = _store(principal, cmd.store_id, RECEIPTS_WRITE)
    method = rv.parse_method(cmd.method)
    reference_type = rv.parse_reference_type(cmd.reference_type)
    reference = rv.check_reference(reference_type, cmd.reference)
    customer = _required(cmd.customer_id, "customer_id", MAX_CUSTOMER_ID)
    amount = rv.check_amount(cmd.amount)
    payer_name = _optional(cmd.payer_name, "payer_name", MAX_NAME)
    bank_reference = _optional(cmd.bank_reference, "bank_reference", MAX_BANK_REFERENCE)
    request_id = (
        None if cmd.request_id is None else _required(cmd.request_id, "request_id", MAX_REQUEST_ID)
    )
    received_on = cmd.received_on or finance.today()
    session = uow.session

    if request_id is not None:
        # The request lock is always taken before the reference lock, never after: no deadlock.
        await _lock(session, f"receipt-request|{store}|{request_id}")
        existing = (
            await session.execute(
                select(Receipt).where(
                    col(Receipt.store_id) == store, col(Receipt.request_id) == request_id
                )
            )
        ).scalar_one_or_none()
        if existing is not None:
            if not _same_request(existing, cmd, amount, reference):
                raise IdempotencyMismatch(
                    f"Request id {request_id} already recorded receipt {existing.number} with "
                    "other details; use a new request id for a new receipt.",
                    errors=[{"field": "request_id", "rule": "reused"}],
                )
            doc = await load_receipt(session, principal, existing.id, scope=RECEIPTS_WRITE)
            doc.replayed = True
            return doc

    await _lock(session, rv.reference_key(store, reference_type, reference, customer))
    open_invoices: Sequence[Invoice] = []
    if reference_type in rv.INVOICEABLE:
        open_invoices = (
            (
                await session.execute(
                    select(Invoice)
                    .where(
                        col(Invoice.store_id) == store,
                        col(Invoice.reference_type) == reference_type.value,
                        col(Invoice.reference) == reference,
                        col(Invoice.paid_fen) + col(Invoice.credited_fen) < col(Invoice.total_fen),
                    )
                    .order_by(col(Invoice.issued_on), col(Invoice.created_at), col(Invoice.id))
                    .with_for_update()
                )
            )
            .scalars()
            .all()
        )
    invoices = {i.id: i for i in open_invoices}
    allocations, _ = rv.allocate(amount, [(i.id, outstanding(i)) for i in open_invoices])

    receipt = Receipt(
        id=str(uuid.uuid4()),
        number=await _next_number(session, "RCT", store, received_on.year),
        store_id=store,
        customer_id=customer,
        payer_name=payer_name,
        reference_type=reference_type.value,
        reference=reference,
        method=method.value,
        amount_fen=amount,
        applied_fen=0,
        refunded_fen=0,
        received_on=received_on,
        bank_reference=bank_reference,
        request_id=request_id,
        created_by=principal.label(),
        created_at=_now(),
    )
    session.add(receipt)
    await session.flush()

    # Invoices issued by the receipt's date are paid in the receipt's own entry (Cr 1122); one
    # issued later (a back-dated receipt) takes the money from advances on its own issue date.
    direct = [a for a in allocations if invoices[a.target].issued_on <= received_on]
    later = [a for a in allocations if invoices[a.target].issued_on > received_on]
    posted = await books.post(
        session,
        money_in.receipt_recorded(
            store_id=store,
            receipt_id=receipt.id,
            number=receipt.number,
            customer_id=customer,
            reference=reference,
            method=method,
            amount=amount,
            received_on=received_on,
            bank_reference=bank_reference,
            applied=[
                money_in.AppliedTo(
                    invoices[a.target].number, invoices[a.target].customer_id, a.amount
                )
                for a in direct
            ],
            created_by=principal.label(),
        ),
    )
    receipt.entry_id = posted.id if posted else ""
    applications = []
    for allocation in direct:
        applications.append(
            ReceiptApplication(
                store_id=store,
                receipt_id=receipt.id,
                invoice_id=allocation.target,
                amount_fen=allocation.amount,
                applied_on=received_on,
                source="receipt",
                entry_id=receipt.entry_id,
                created_at=_now(),
            )
        )
        receipt.applied_fen += allocation.amount
    session.add_all(applications)
    for allocation in later:
        applications.append(
            await _apply_advance(
                session, principal, receipt, invoices[allocation.target], allocation.amount
            )
        )
    for allocation in allocations:
        invoice = invoices[allocation.target]
        invoice.paid_fen += allocation.amount
        invoice.status = rv.invoice_status(
            invoice.total_fen, invoice.paid_fen, invoice.credited_fen
        ).value
        invoice.version += 1
    await session.flush()
    total = await total_received_for_reference(session, receipt)
    uow.record(payment_received_event(receipt, total))
    return ReceiptDoc(receipt, applications, [], total)


async def total_received_for_reference(session: AsyncSession, receipt: Receipt) -> int:
    """Everything received against the receipt's reference so far, net of refunds."""
    stmt = select(
        func.coalesce(func.sum(col(Receipt.amount_fen) - col(Receipt.refunded_fen)), 0)
    ).where(
        col(Receipt.store_id) == receipt.store_id,
        col(Receipt.reference_type) == receipt.reference_type,
        col(Receipt.reference) == receipt.reference,
    )
    if not receipt.reference:
        stmt = stmt.where(col(Receipt.customer_id) == receipt.customer_id)
    return int((await session.execute(stmt)).scalar_one())


async def load_receipt(
    session: AsyncSession, principal: Principal, receipt_id: str, *, scope: str = RECEIPTS_READ
) -> ReceiptDoc:
    principal.require(scope)
    receipt = await session.get(Receipt, receipt_id.strip())
    if receipt is None or not principal.sees_store(receipt.store_id):
        raise NotFound(f"Receipt {receipt_id} was not found in your stores.")
    applications = (
        (
            await session.execute(
                select(ReceiptApplication)
                .where(col(ReceiptApplication.receipt_id) == receipt.id)
                .order_by(col(ReceiptApplication.id))
            )
        )
        .scalars()
        .all()
    )
    refunds = (
        (
            await session.execute(
                select(Refund)
                .where(col(Refund.receipt_id) == receipt.id)
                .order_by(col(Refund.created_at), col(Refund.id))
            )
        )
        .scalars()
        .all()
    )
    total = await total_received_for_reference(session, receipt)
    return ReceiptDoc(receipt, list(applications), list(refunds), total)


# --- refunds --------------------------------------------------------------------------------


async def refund_receipt(
    uow: UnitOfWork, finance: Finance, principal: Principal, receipt_id: str, cmd: RefundReceipt
) -> tuple[Refund, ReceiptDoc]:
    """Pay money back out of a receipt's unapplied remainder: Dr 2203 / Cr cash or bank."""
    principal.require(RECEIPTS_REFUND)
    session = uow.session
    found = await session.get(Receipt, receipt_id)
    if found is None or not principal.sees_store(found.store_id):
        raise NotFound(f"Receipt {receipt_id} was not found in your stores.")
    reference_type = rv.ReferenceType(found.reference_type)
    await _lock(
        session,
        rv.reference_key(found.store_id, reference_type, found.reference, found.customer_id),
    )
    receipt = (
        await session.execute(
            select(Receipt)
            .where(col(Receipt.id) == found.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    amount, reason = rv.check_refund(
        cmd.amount,
        cmd.reason,
        receipt_number=receipt.number,
        receipt_amount=receipt.amount_fen,
        applied=receipt.applied_fen,
        refunded=receipt.refunded_fen,
    )
    bank_reference = _optional(cmd.bank_reference, "bank_reference", MAX_BANK_REFERENCE)
    refunded_on = cmd.refunded_on or finance.today()
    if refunded_on < receipt.received_on:
        raise InvalidInput(
            f"refunded_on {refunded_on.isoformat()} is before the money was received "
            f"({receipt.received_on.isoformat()}); a refund follows its receipt.",
            errors=[{"field": "refunded_on", "rule": "not_before_receipt"}],
        )
    refund = Refund(
        id=str(uuid.uuid4()),
        number=await _next_number(session, "RFD", receipt.store_id, refunded_on.year),
        store_id=receipt.store_id,
        receipt_id=receipt.id,
        amount_fen=amount,
        reason=reason,
        refunded_on=refunded_on,
        bank_reference=bank_reference,
        created_by=principal.label(),
        created_at=_now(),
    )
    session.add(refund)
    await session.flush()
    posted = await books.post(
        session,
        money_in.refund_paid(
            store_id=receipt.store_id,
            refund_id=refund.id,
            number=refund.number,
            receipt_number=receipt.number,
            customer_id=receipt.customer_id,
            method=rv.PaymentMethod(receipt.method),
            amount=amount,
            on=refunded_on,
            reason=reason,
            bank_reference=bank_reference,
            created_by=principal.label(),
        ),
    )
    refund.entry_id = posted.id if posted else ""
    receipt.refunded_fen += amount
    receipt.version += 1
    await session.flush()
    doc = await load_receipt(session, principal, receipt.id, scope=RECEIPTS_REFUND)
    uow.record(payment_refunded_event(refund, receipt, doc.total_received_for_reference))
    return refund, doc


# --- AR ledger and ageing -------------------------------------------------------------------


@dataclass
class CustomerLedger:
    store_id: str
    customer_id: str
    customer_name: str
    invoices: list[Invoice]
    receipts: list[Receipt]
    applications: list[ReceiptApplication]
    refunds: list[Refund]
    credit_notes: list[CreditNote]
    # From the books: the customer's debit balance on 1122 and credit balance on 2203.
    receivable_fen: int
    advances_fen: int

    @property
    def outstanding_fen(self) -> int:
        """What the open invoices still owe (equals `receivable_fen` when the books agree)."""
        return sum(outstanding(i) for i in self.invoices)

    @property
    def unapplied_fen(self) -> int:
        """Money received and neither applied nor refunded (equals `advances_fen`)."""
        return sum(rv.unapplied(r.amount_fen, r.applied_fen, r.refunded_fen) for r in self.receipts)

    @property
    def net_fen(self) -> int:
        """Owed by the customer (positive) or held for them (negative)."""
        return self.receivable_fen - self.advances_fen


async def _party_balance(session: AsyncSession, store_id: str, account: str, party: str) -> int:
    result = await session.execute(
        text(
            "SELECT COALESCE(SUM(debit_fen - credit_fen), 0) FROM journal_lines "
            "WHERE store_id = :s AND party = :p AND (account_code = :a OR account_code LIKE :c)"
        ),
        {"s": store_id, "p": party, "a": account, "c": account + ".%"},
    )
    return int(result.scalar_one())


async def customer_ledger(
    session: AsyncSession, principal: Principal, store_id: str, customer_id: str
) -> CustomerLedger:
    """A customer's AR ledger in one store: documents plus the balances the books hold."""
    store = _store(principal, store_id, AR_READ)
    customer = _required(customer_id, "customer_id", MAX_CUSTOMER_ID)
    invoices = list(
        (
            await session.execute(
                select(Invoice)
                .where(col(Invoice.store_id) == store, col(Invoice.customer_id) == customer)
                .order_by(col(Invoice.issued_on), col(Invoice.created_at), col(Invoice.id))
            )
        )
        .scalars()
        .all()
    )
    receipts = list(
        (
            await session.execute(
                select(Receipt)
                .where(col(Receipt.store_id) == store, col(Receipt.customer_id) == customer)
                .order_by(col(Receipt.received_on), col(Receipt.created_at), col(Receipt.id))
            )
        )
        .scalars()
        .all()
    )
    ids = [i.id for i in invoices]
    receipt_ids = [r.id for r in receipts]
    applications = list(
        (
            await session.execute(
                select(ReceiptApplication)
                .where(
                    col(ReceiptApplication.store_id) == store,
                    col(ReceiptApplication.invoice_id).in_(ids)
                    | col(ReceiptApplication.receipt_id).in_(receipt_ids),
                )
                .order_by(col(ReceiptApplication.applied_on), col(ReceiptApplication.id))
            )
        )
        .scalars()
        .all()
    )
    refunds = list(
        (
            await session.execute(
                select(Refund)
                .where(col(Refund.receipt_id).in_(receipt_ids))
                .order_by(col(Refund.refunded_on), col(Refund.created_at))
            )
        )
        .scalars()
        .all()
    )
    credit_notes = list(
        (
            await session.execute(
                select(CreditNote)
                .where(col(CreditNote.invoice_id).in_(ids))
                .order_by(col(CreditNote.credited_on), col(CreditNote.created_at))
            )
        )
        .scalars()
        .all()
    )
    name = next((i.customer_name for i in reversed(invoices) if i.customer_name), "")
    if not name:
        name = next((r.payer_name for r in reversed(receipts) if r.payer_name), "")
    return CustomerLedger(
        store_id=store,
        customer_id=customer,
        customer_name=name,
        invoices=invoices,
        receipts=receipts,
        applications=applications,
        refunds=refunds,
        credit_notes=credit_notes,
        receivable_fen=await _party_balance(session, store, AR, customer),
        advances_fen=-await _party_balance(session, store, CUSTOMER_ADVANCES, customer),
    )


async def ar_ageing(
    session: AsyncSession, principal: Principal, store_id: str | None, as_of: date
) -> tuple[Ageing, dict[str, str]]:
    """AR ageing as of a date (what was still owed at the end of that day), and customer names.

    `store_id` None: every store the caller sees (HQ: the group)."""
    principal.require(AR_READ)
    params: dict[str, object] = {"as_of": as_of}
    where = "i.issued_on <= :as_of"
    if store_id is not None:
        store = _store(principal, store_id, AR_READ)
        where += " AND i.store_id = :store"
        params["store"] = store
    elif (stores := principal.store_filter()) is not None:
        where += " AND i.store_id = ANY(:stores)"
        params["stores"] = list(stores)
    rows = await session.execute(
        text(
            "SELECT i.id, i.customer_id, i.customer_name, i.due_on, "
            "i.total_fen - COALESCE(SUM(a.amount_fen) FILTER (WHERE a.applied_on <= :as_of), 0) "
            # A credit note takes its amount off; the part it released from receipts was paid
            # before and is no longer (so it is added back to what applications took off).
            "- COALESCE((SELECT SUM(c.total_fen - c.released_fen) FROM credit_notes c "
            "WHERE c.invoice_id = i.id AND c.credited_on <= :as_of), 0) AS outstanding "
            "FROM invoices i LEFT JOIN receipt_applications a ON a.invoice_id = i.id "
            f"WHERE {where} GROUP BY i.id"
        ),
        params,
    )
    items = []
    names: dict[str, str] = {}
    for invoice_id, customer, name, due_on, outstanding in rows:
        if name:
            names.setdefault(customer, name)
        items.append(rv.OpenInvoice(customer, invoice_id, due_on, int(outstanding)))
    return rv.ar_ageing(items, as_of), names
