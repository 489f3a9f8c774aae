"""Receivables (应收): customer invoices, receipts (收款) and refunds, the AR ledger and ageing."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, BeforeValidator, Field
from sqlalchemy import select
from sqlmodel import col

from marque_finance import receivables_service as svc
from marque_finance.api.deps import FinanceDep
from marque_finance.domain.accounts import BusinessLine
from marque_finance.domain.ageing import BUCKETS
from marque_finance.domain.credit_notes import MAX_NOTE, CreditAsk, CreditReason
from marque_finance.domain.receivables import (
    MAX_AMOUNT_FEN,
    InvoiceLineDraft,
    InvoiceStatus,
    PaymentMethod,
    ReferenceType,
    unapplied,
)
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
from marque_kit.http import (
    CurrentPrincipal,
    Day,
    IdempotencyDep,
    Page,
    PageQuery,
    paginate,
    permission,
    scope_to_stores,
)

router = APIRouter(prefix="/api/v1/finance", tags=["receivables"])


def _whole_fen(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"must be a whole number of fen (1 CNY = 100 fen), not {value!r}")
    return value


# A positive amount in fen; floats and strings are refused (they lose or invent fen).
Fen = Annotated[int, BeforeValidator(_whole_fen), Field(gt=0, le=MAX_AMOUNT_FEN)]


# --- bodies ---------------------------------------------------------------------------------


class InvoiceLineIn(BaseModel):
    description: str = Field(min_length=1, max_length=200, examples=["BYD 汉 EV 610 白色"])
    business_line: BusinessLine = Field(examples=["new_vehicles"])
    amount_fen: Fen = Field(description="VAT included (13%)", examples=[22_600_000])
    model_code: str = Field("", max_length=40, examples=["BYD-HAN"])
    vin: str = Field("", max_length=17, examples=["LGXCE4CB5R0123456"])


class InvoiceIn(BaseModel):
    store_id: str = Field(min_length=1, max_length=20, examples=["SH01"])
    customer_id: str = Field(min_length=1, max_length=80, examples=["CUST-000812"])
    customer_name: str = Field("", max_length=200, examples=["张伟"])
    reference_type: ReferenceType = Field(examples=["sales_order"])
    reference: str = Field(min_length=1, max_length=60, examples=["SO-SH01-000123"])
    issued_on: Day | None = Field(None, description="Default: today in the store's time zone")
    due_on: Day | None = Field(None, description="Default: issued_on + the store's terms")
    lines: list[InvoiceLineIn] = Field(min_length=1, max_length=100)


class ReceiptIn(BaseModel):
    store_id: str = Field(min_length=1, max_length=20, examples=["SH01"])
    customer_id: str = Field(min_length=1, max_length=80, examples=["CUST-000812"])
    payer_name: str = Field("", max_length=200, examples=["张伟"])
    reference_type: ReferenceType = Field(examples=["sales_order"])
    reference: str = Field(
        "", max_length=60, description="Order number; may be empty for a deposit on account"
    )
    method: PaymentMethod = Field(examples=["wechat_pay"])
    amount_fen: Fen = Field(examples=[500_000])
    received_on: Day | None = Field(None, description="Default: today in the store's time zone")
    bank_reference: str = Field(
        "", max_length=100, description="The bank's or provider's transaction reference"
    )
    request_id: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="Caller's key: one receipt per request id and store, however often sent",
    )


class RefundIn(BaseModel):
    amount_fen: Fen = Field(examples=[200_000])
    reason: str = Field(min_length=1, max_length=500, examples=["客户取消订单 order cancelled"])
    refunded_on: Day | None = Field(None, description="Default: today in the store's time zone")
    bank_reference: str = Field("", max_length=100)


class CreditLineIn(BaseModel):
    line_no: int = Field(ge=1, le=1000, description="The invoice line taken back", examples=[2])
    amount_fen: Fen = Field(description="VAT included (13%), at most what is left of the line")


class CreditNoteIn(BaseModel):
    full: bool = Field(False, description="Credit what is left of every line of the invoice")
    lines: list[CreditLineIn] | None = Field(
        None, max_length=100, description="Or: which lines, and how much of each (gross, fen)"
    )
    reason: CreditReason = Field(examples=["sale_cancelled"])
    note: str = Field("", max_length=MAX_NOTE, examples=["客户退订 customer cancelled the order"])
    credited_on: Day | None = Field(None, description="Default: today in the store's time zone")
    request_id: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="Caller's key: one credit note per request id and store, however often sent",
    )


# --- answers --------------------------------------------------------------------------------


class InvoiceLineOut(BaseModel):
    line_no: int
    description: str
    business_line: str
    model_code: str
    vin: str
    amount_fen: int = Field(description="VAT included")
    net_fen: int
    vat_fen: int

    @classmethod
    def of(cls, line: InvoiceLine) -> InvoiceLineOut:
        return cls(
            line_no=line.line_no,
            description=line.description,
            business_line=line.business_line,
            model_code=line.model_code,
            vin=line.vin,
            amount_fen=line.gross_fen,
            net_fen=line.net_fen,
            vat_fen=line.vat_fen,
        )


class ApplicationOut(BaseModel):
    receipt_id: str
    invoice_id: str
    amount_fen: int
    applied_on: date
    source: str = Field(description="'receipt' (paid at receipt) or 'invoice' (from advances)")
    entry_id: str

    @classmethod
    def of(cls, a: ReceiptApplication) -> ApplicationOut:
        return cls(
            receipt_id=a.receipt_id,
            invoice_id=a.invoice_id,
            amount_fen=a.amount_fen,
            applied_on=a.applied_on,
            source=a.source,
            entry_id=a.entry_id,
        )


class InvoiceSummaryOut(BaseModel):
    id: str
    number: str
    store_id: str
    customer_id: str
    customer_name: str
    reference_type: str
    reference: str
    issued_on: date
    due_on: date
    status: str
    total_fen: int = Field(description="VAT included")
    net_fen: int
    vat_fen: int
    paid_fen: int
    credited_fen: int = Field(description="Taken back by credit notes (红字发票)")
    outstanding_fen: int = Field(description="total - paid - credited")
    entry_id: str
    created_by: str
    created_at: datetime | None
    version: int

    @classmethod
    def summary(cls, i: Invoice) -> dict[str, Any]:
        return dict(
            id=i.id,
            number=i.number,
            store_id=i.store_id,
            customer_id=i.customer_id,
            customer_name=i.customer_name,
            reference_type=i.reference_type,
            reference=i.reference,
            issued_on=i.issued_on,
            due_on=i.due_on,
            status=i.status,
            total_fen=i.total_fen,
            net_fen=i.net_fen,
            vat_fen=i.vat_fen,
            paid_fen=i.paid_fen,
            credited_fen=i.credited_fen,
            outstanding_fen=svc.outstanding(i),
            entry_id=i.entry_id,
            created_by=i.created_by,
            created_at=i.created_at,
            version=i.version,
        )

    @classmethod
    def of(cls, i: Invoice) -> InvoiceSummaryOut:
        return cls(**cls.summary(i))


class CreditNoteLineOut(BaseModel):
    invoice_line_no: int
    description: str
    business_line: str
    model_code: str
    vin: str
    amount_fen: int = Field(description="VAT included; positive, taken off the invoice line")
    net_fen: int
    vat_fen: int

    @classmethod
    def of(cls, line: CreditNoteLine) -> CreditNoteLineOut:
        return cls(
            invoice_line_no=line.invoice_line_no,
            description=line.description,
            business_line=line.business_line,
            model_code=line.model_code,
            vin=line.vin,
            amount_fen=line.gross_fen,
            net_fen=line.net_fen,
            vat_fen=line.vat_fen,
        )


class CreditReleaseOut(BaseModel):
    receipt_id: str
    amount_fen: int = Field(description="Back in the receipt's unapplied money (advances, 2203)")
    released_on: date

    @classmethod
    def of(cls, r: CreditNoteRelease) -> CreditReleaseOut:
        return cls(receipt_id=r.receipt_id, amount_fen=r.amount_fen, released_on=r.released_on)


class CreditNoteSummaryOut(BaseModel):
    id: str
    number: str
    store_id: str
    invoice_id: str
    customer_id: str
    reason: str
    note: str
    credited_on: date
    total_fen: int = Field(description="VAT included; positive, taken off the invoice")
    net_fen: int
    vat_fen: int
    released_fen: int = Field(description="Already paid: now waits in customer advances (2203)")
    request_id: str | None
    entry_id: str
    created_by: str
    created_at: datetime | None

    @classmethod
    def summary(cls, n: CreditNote) -> dict[str, Any]:
        return dict(
            id=n.id,
            number=n.number,
            store_id=n.store_id,
            invoice_id=n.invoice_id,
            customer_id=n.customer_id,
            reason=n.reason,
            note=n.note,
            credited_on=n.credited_on,
            total_fen=n.total_fen,
            net_fen=n.net_fen,
            vat_fen=n.vat_fen,
            released_fen=n.released_fen,
            request_id=n.request_id,
            entry_id=n.entry_id,
            created_by=n.created_by,
            created_at=n.created_at,
        )

    @classmethod
    def of(cls, n: CreditNote) -> CreditNoteSummaryOut:
        return cls(**cls.summary(n))


class CreditNoteOut(CreditNoteSummaryOut):
    lines: list[CreditNoteLineOut]
    releases: list[CreditReleaseOut]

    @classmethod
    def of_doc(cls, doc: svc.CreditNoteDoc) -> CreditNoteOut:
        return cls(
            **cls.summary(doc.credit_note),
            lines=[CreditNoteLineOut.of(x) for x in doc.lines],
            releases=[CreditReleaseOut.of(r) for r in doc.releases],
        )


class InvoiceOut(InvoiceSummaryOut):
    lines: list[InvoiceLineOut]
    applications: list[ApplicationOut]
    credit_notes: list[CreditNoteOut]

    @classmethod
    def of_doc(cls, doc: svc.InvoiceDoc) -> InvoiceOut:
        return cls(
            **cls.summary(doc.invoice),
            lines=[InvoiceLineOut.of(line) for line in doc.lines],
            applications=[ApplicationOut.of(a) for a in doc.applications],
            credit_notes=[CreditNoteOut.of_doc(n) for n in doc.credit_notes],
        )


class CreditNoteResultOut(BaseModel):
    credit_note: CreditNoteOut
    invoice: InvoiceOut


class RefundOut(BaseModel):
    id: str
    number: str
    receipt_id: str
    store_id: str
    amount_fen: int
    reason: str
    refunded_on: date
    bank_reference: str
    entry_id: str
    created_by: str
    created_at: datetime | None

    @classmethod
    def of(cls, r: Refund) -> RefundOut:
        return cls(
            id=r.id,
            number=r.number,
            receipt_id=r.receipt_id,
            store_id=r.store_id,
            amount_fen=r.amount_fen,
            reason=r.reason,
            refunded_on=r.refunded_on,
            bank_reference=r.bank_reference,
            entry_id=r.entry_id,
            created_by=r.created_by,
            created_at=r.created_at,
        )


class ReceiptSummaryOut(BaseModel):
    id: str
    number: str
    store_id: str
    customer_id: str
    payer_name: str
    reference_type: str
    reference: str
    method: str
    amount_fen: int
    applied_fen: int = Field(description="Paying invoices")
    refunded_fen: int
    unapplied_fen: int = Field(description="Waiting in customer advances (预收, 2203)")
    received_on: date
    bank_reference: str
    request_id: str | None
    entry_id: str
    created_by: str
    created_at: datetime | None
    version: int

    @classmethod
    def summary(cls, r: Receipt) -> dict[str, Any]:
        return dict(
            id=r.id,
            number=r.number,
            store_id=r.store_id,
            customer_id=r.customer_id,
            payer_name=r.payer_name,
            reference_type=r.reference_type,
            reference=r.reference,
            method=r.method,
            amount_fen=r.amount_fen,
            applied_fen=r.applied_fen,
            refunded_fen=r.refunded_fen,
            unapplied_fen=unapplied(r.amount_fen, r.applied_fen, r.refunded_fen),
            received_on=r.received_on,
            bank_reference=r.bank_reference,
            request_id=r.request_id,
            entry_id=r.entry_id,
            created_by=r.created_by,
            created_at=r.created_at,
            version=r.version,
        )

    @classmethod
    def of(cls, r: Receipt) -> ReceiptSummaryOut:
        return cls(**cls.summary(r))


class ReceiptOut(ReceiptSummaryOut):
    applications: list[ApplicationOut]
    refunds: list[RefundOut]
    total_received_for_reference_fen: int = Field(
        description="Everything received against this reference, net of refunds"
    )

    @classmethod
    def of_doc(cls, doc: svc.ReceiptDoc) -> ReceiptOut:
        return cls(
            **cls.summary(doc.receipt),
            applications=[ApplicationOut.of(a) for a in doc.applications],
            refunds=[RefundOut.of(r) for r in doc.refunds],
            total_received_for_reference_fen=doc.total_received_for_reference,
        )


class RefundResultOut(BaseModel):
    refund: RefundOut
    receipt: ReceiptOut


class BalanceOut(BaseModel):
    receivable_fen: int = Field(description="Debit balance of 1122 for this customer (books)")
    advances_fen: int = Field(description="Credit balance of 2203 for this customer (books)")
    net_fen: int = Field(description="Owed by the customer (positive) or held for them")
    outstanding_invoices_fen: int = Field(description="What open invoices still owe")
    unapplied_receipts_fen: int = Field(description="Receipts neither applied nor refunded")


class CustomerLedgerOut(BaseModel):
    store_id: str
    customer_id: str
    customer_name: str
    invoices: list[InvoiceSummaryOut]
    receipts: list[ReceiptSummaryOut]
    applications: list[ApplicationOut]
    refunds: list[RefundOut]
    credit_notes: list[CreditNoteSummaryOut]
    balance: BalanceOut


class BucketOut(BaseModel):
    key: str
    label: str


class CustomerAgeingOut(BaseModel):
    customer_id: str
    customer_name: str
    buckets: dict[str, int]
    total_fen: int
    invoices: int


class AgeingOut(BaseModel):
    store_id: str | None
    as_of: date
    buckets: list[BucketOut]
    customers: list[CustomerAgeingOut]
    totals: dict[str, int]
    total_fen: int


# --- invoices -------------------------------------------------------------------------------


@router.post(
    "/invoices",
    status_code=201,
    response_model=InvoiceOut,
    dependencies=[permission(svc.INVOICES_WRITE)],
)
async def issue_invoice(
    body: InvoiceIn, principal: CurrentPrincipal, finance: FinanceDep, idem: IdempotencyDep
) -> Response:
    """Issue a customer invoice (开票): VAT split per line, revenue and output VAT posted, and any
    money already received for the order applied to it at once."""
    uow = finance.uow()
    async with uow:
        if replay := await idem.begin(uow.session, body):
            return replay
        doc = await svc.issue_invoice(
            uow,
            finance,
            principal,
            svc.IssueInvoice(
                store_id=body.store_id,
                customer_id=body.customer_id,
                customer_name=body.customer_name,
                reference_type=body.reference_type.value,
                reference=body.reference,
                issued_on=body.issued_on,
                due_on=body.due_on,
                lines=[
                    InvoiceLineDraft(
                        description=line.description,
                        business_line=line.business_line,
                        gross=line.amount_fen,
                        model_code=line.model_code,
                        vin=line.vin,
                    )
                    for line in body.lines
                ],
            ),
        )
        response = await idem.complete(uow.session, 201, InvoiceOut.of_doc(doc))
        await uow.commit()
    return response


@router.get(
    "/invoices",
    response_model=Page[InvoiceSummaryOut],
    dependencies=[permission(svc.INVOICES_READ)],
)
async def list_invoices(
    principal: CurrentPrincipal,
    finance: FinanceDep,
    page: PageQuery,
    store_id: Annotated[str | None, Query(max_length=20)] = None,
    customer_id: Annotated[str | None, Query(max_length=80)] = None,
    reference: Annotated[str | None, Query(max_length=60)] = None,
    reference_type: ReferenceType | None = None,
    status: InvoiceStatus | None = None,
) -> Page[InvoiceSummaryOut]:
    """Invoices in the caller's stores, newest first."""
    stmt = scope_to_stores(select(Invoice), col(Invoice.store_id), principal)
    if store_id:
        stmt = stmt.where(col(Invoice.store_id) == store_id)
    if customer_id:
        stmt = stmt.where(col(Invoice.customer_id) == customer_id)
    if reference:
        stmt = stmt.where(col(Invoice.reference) == reference)
    if reference_type:
        stmt = stmt.where(col(Invoice.reference_type) == reference_type.value)
    if status:
        stmt = stmt.where(col(Invoice.status) == status.value)
    async with finance.db.session() as session:
        rows, cursor = await paginate(
            session,
            stmt,
            page,
            order=(col(Invoice.created_at), col(Invoice.id)),
            descending=True,
        )
    return Page(items=[InvoiceSummaryOut.of(r) for r in rows], next_cursor=cursor)


@router.get(
    "/invoices/{invoice_id}",
    response_model=InvoiceOut,
    dependencies=[permission(svc.INVOICES_READ)],
)
async def get_invoice(
    invoice_id: str, principal: CurrentPrincipal, finance: FinanceDep
) -> InvoiceOut:
    """One invoice with its lines and the receipts that paid it."""
    async with finance.db.session() as session:
        doc = await svc.load_invoice(session, principal, invoice_id)
    return InvoiceOut.of_doc(doc)


@router.post(
    "/invoices/{invoice_id}/credit-notes",
    status_code=201,
    response_model=CreditNoteResultOut,
    dependencies=[permission(svc.INVOICES_WRITE)],
)
async def credit_invoice(
    invoice_id: str,
    body: CreditNoteIn,
    principal: CurrentPrincipal,
    finance: FinanceDep,
    idem: IdempotencyDep,
) -> Response:
    """Issue a credit note (红字发票) against an invoice: `full: true`, or `lines` with the
    VAT-inclusive amount to take back of each. Revenue and output VAT are reversed; the credit
    comes off what the customer still owes, and whatever was already paid beyond that goes back
    to the customer's advances (2203), refundable from the receipts that paid it.

    More than is left of a line answers 409 naming the line and what is left. A repeated
    `request_id` answers 200 with the first credit note. Publishes finance.invoice.credited.
    """
    uow = finance.uow()
    async with uow:
        if replay := await idem.begin(uow.session, body):
            return replay
        note, doc = await svc.credit_invoice(
            uow,
            finance,
            principal,
            invoice_id,
            svc.CreditInvoice(
                reason=body.reason.value,
                full=body.full,
                lines=[CreditAsk(line.line_no, line.amount_fen) for line in body.lines or ()],
                note=body.note,
                credited_on=body.credited_on,
                request_id=body.request_id,
            ),
        )
        out = CreditNoteResultOut(
            credit_note=CreditNoteOut.of_doc(note), invoice=InvoiceOut.of_doc(doc)
        )
        response = await idem.complete(uow.session, 200 if doc.replayed else 201, out)
        await uow.commit()
    return response


# --- receipts -------------------------------------------------------------------------------


@router.post(
    "/receipts",
    status_code=201,
    response_model=ReceiptOut,
    dependencies=[permission(svc.RECEIPTS_WRITE)],
)
async def record_receipt(
    body: ReceiptIn, principal: CurrentPrincipal, finance: FinanceDep, idem: IdempotencyDep
) -> Response:
    """Record money received (收款) against a sales order, a repair order or on account.

    It pays the reference's open invoices first; the rest waits as a customer advance (2203).
    Publishes finance.payment.received. A repeated `request_id` answers 200 with the first receipt.
    """
    uow = finance.uow()
    async with uow:
        if replay := await idem.begin(uow.session, body):
            return replay
        doc = await svc.record_receipt(
            uow,
            finance,
            principal,
            svc.RecordReceipt(
                store_id=body.store_id,
                customer_id=body.customer_id,
                payer_name=body.payer_name,
                reference_type=body.reference_type.value,
                reference=body.reference,
                method=body.method.value,
                amount=body.amount_fen,
                received_on=body.received_on,
                bank_reference=body.bank_reference,
                request_id=body.request_id,
            ),
        )
        status = 200 if doc.replayed else 201
        response = await idem.complete(uow.session, status, ReceiptOut.of_doc(doc))
        await uow.commit()
    return response


@router.get(
    "/receipts",
    response_model=Page[ReceiptSummaryOut],
    dependencies=[permission(svc.RECEIPTS_READ)],
)
async def list_receipts(
    principal: CurrentPrincipal,
    finance: FinanceDep,
    page: PageQuery,
    store_id: Annotated[str | None, Query(max_length=20)] = None,
    customer_id: Annotated[str | None, Query(max_length=80)] = None,
    reference: Annotated[str | None, Query(max_length=60)] = None,
    reference_type: ReferenceType | None = None,
    method: PaymentMethod | None = None,
) -> Page[ReceiptSummaryOut]:
    """Receipts in the caller's stores, newest first."""
    stmt = scope_to_stores(select(Receipt), col(Receipt.store_id), principal)
    if store_id:
        stmt = stmt.where(col(Receipt.store_id) == store_id)
    if customer_id:
        stmt = stmt.where(col(Receipt.customer_id) == customer_id)
    if reference:
        stmt = stmt.where(col(Receipt.reference) == reference)
    if reference_type:
        stmt = stmt.where(col(Receipt.reference_type) == reference_type.value)
    if method:
        stmt = stmt.where(col(Receipt.method) == method.value)
    async with finance.db.session() as session:
        rows, cursor = await paginate(
            session,
            stmt,
            page,
            order=(col(Receipt.created_at), col(Receipt.id)),
            descending=True,
        )
    return Page(items=[ReceiptSummaryOut.of(r) for r in rows], next_cursor=cursor)


@router.get(
    "/receipts/{receipt_id}",
    response_model=ReceiptOut,
    dependencies=[permission(svc.RECEIPTS_READ)],
)
async def get_receipt(
    receipt_id: str, principal: CurrentPrincipal, finance: FinanceDep
) -> ReceiptOut:
    """One receipt with the invoices it pays and its refunds."""
    async with finance.db.session() as session:
        doc = await svc.load_receipt(session, principal, receipt_id)
    return ReceiptOut.of_doc(doc)


@router.post(
    "/receipts/{receipt_id}/refunds",
    status_code=201,
    response_model=RefundResultOut,
    dependencies=[permission(svc.RECEIPTS_REFUND)],
)
async def refund_receipt(
    receipt_id: str,
    body: RefundIn,
    principal: CurrentPrincipal,
    finance: FinanceDep,
    idem: IdempotencyDep,
) -> Response:
    """Pay money back (退款) out of the receipt's unapplied remainder, with a reason.

    Money that already pays an invoice cannot be refunded until the invoice is credited (409).
    Publishes finance.payment.refunded.
    """
    uow = finance.uow()
    async with uow:
        if replay := await idem.begin(uow.session, body):
            return replay
        refund, doc = await svc.refund_receipt(
            uow,
            finance,
            principal,
            receipt_id,
            svc.RefundReceipt(
                amount=body.amount_fen,
                reason=body.reason,
                refunded_on=body.refunded_on,
                bank_reference=body.bank_reference,
            ),
        )
        out = RefundResultOut(refund=RefundOut.of(refund), receipt=ReceiptOut.of_doc(doc))
        response = await idem.complete(uow.session, 201, out)
        await uow.commit()
    return response


# --- AR ledger and ageing -------------------------------------------------------------------


@router.get(
    "/ar/customers/{customer_id}",
    response_model=CustomerLedgerOut,
    dependencies=[permission(svc.AR_READ)],
)
async def customer_ledger(
    customer_id: str,
    principal: CurrentPrincipal,
    finance: FinanceDep,
    store_id: Annotated[str, Query(min_length=1, max_length=20, examples=["SH01"])],
) -> CustomerLedgerOut:
    """A customer's AR ledger (应收明细) in one store: invoices, receipts, how receipts paid
    invoices, refunds, and the balances the books hold for them."""
    async with finance.db.session() as session:
        ledger = await svc.customer_ledger(session, principal, store_id, customer_id)
    return CustomerLedgerOut(
        store_id=ledger.store_id,
        customer_id=ledger.customer_id,
        customer_name=ledger.customer_name,
        invoices=[InvoiceSummaryOut.of(i) for i in ledger.invoices],
        receipts=[ReceiptSummaryOut.of(r) for r in ledger.receipts],
        applications=[ApplicationOut.of(a) for a in ledger.applications],
        refunds=[RefundOut.of(r) for r in ledger.refunds],
        credit_notes=[CreditNoteSummaryOut.of(n) for n in ledger.credit_notes],
        balance=BalanceOut(
            receivable_fen=ledger.receivable_fen,
            advances_fen=ledger.advances_fen,
            net_fen=ledger.net_fen,
            outstanding_invoices_fen=ledger.outstanding_fen,
            unapplied_receipts_fen=ledger.unapplied_fen,
        ),
    )


@router.get("/ar/ageing", response_model=AgeingOut, dependencies=[permission(svc.AR_READ)])
async def ar_ageing(
    principal: CurrentPrincipal,
    finance: FinanceDep,
    store_id: Annotated[
        str | None, Query(max_length=20, description="Default: every store you see")
    ] = None,
    as_of: Annotated[Day | None, Query(description="Default: today (store time zone)")] = None,
) -> AgeingOut:
    """AR ageing (应收账龄): what each customer owed at the end of `as_of`, by days past due."""
    day = as_of or finance.today()
    async with finance.db.session() as session:
        ageing, names = await svc.ar_ageing(session, principal, store_id, day)
    return AgeingOut(
        store_id=store_id,
        as_of=day,
        buckets=[BucketOut(key=b.key, label=b.label) for b in BUCKETS],
        customers=[
            CustomerAgeingOut(
                customer_id=p.party,
                customer_name=names.get(p.party, ""),
                buckets=p.buckets,
                total_fen=p.total_fen,
                invoices=p.documents,
            )
            for p in ageing.parties
        ],
        totals=ageing.totals,
        total_fen=ageing.total_fen,
    )
