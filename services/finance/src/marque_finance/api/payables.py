"""Payables (应付): list and read payables, book a supplier invoice, pay (partial allowed), the
supplier ledger (应付明细账) and AP ageing (应付账龄)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlmodel import col

from marque_finance import payables_service as svc
from marque_finance.api.deps import FinanceDep
from marque_finance.domain.ageing import BUCKETS
from marque_finance.models import Payable, PayablePayment
from marque_kit.http import (
    CurrentPrincipal,
    Day,
    IdempotencyDep,
    Page,
    PageQuery,
    etag,
    paginate,
    permission,
    scope_to_stores,
)

router = APIRouter(prefix="/api/v1/finance", tags=["payables"])

PayableStatusName = Literal["open", "partially_paid", "paid"]
PayableKindName = Literal["oem_vehicle", "supplier_parts", "supplier_invoice"]


class PayableOut(BaseModel):
    id: str
    store_id: str
    kind: str
    account: str = Field(description="2202.01 (OEM) or 2202.02 (suppliers)")
    supplier: str = Field(examples=["OEM:BYD"])
    reference: str = Field(description="VIN, delivery note or the supplier's invoice number")
    description: str
    vin: str
    model_code: str
    part_number: str
    quantity: int
    expense_account: str
    issued_on: date
    due_on: date
    net_fen: int
    vat_fen: int
    gross_fen: int
    paid_fen: int
    outstanding_fen: int
    status: str
    entry_id: str
    created_by: str
    created_at: datetime | None
    version: int

    @classmethod
    def of(cls, p: Payable) -> PayableOut:
        return cls(
            id=p.id,
            store_id=p.store_id,
            kind=p.kind,
            account=p.account,
            supplier=p.supplier,
            reference=p.reference,
            description=p.description,
            vin=p.vin,
            model_code=p.model_code,
            part_number=p.part_number,
            quantity=p.quantity,
            expense_account=p.expense_account,
            issued_on=p.issued_on,
            due_on=p.due_on,
            net_fen=p.net_fen,
            vat_fen=p.vat_fen,
            gross_fen=p.gross_fen,
            paid_fen=p.paid_fen,
            outstanding_fen=p.gross_fen - p.paid_fen,
            status=p.status,
            entry_id=p.entry_id,
            created_by=p.created_by,
            created_at=p.created_at,
            version=p.version,
        )


class PaymentOut(BaseModel):
    id: str
    payable_id: str
    store_id: str
    supplier: str
    amount_fen: int
    paid_on: date
    method: str = Field(description="bank, or floor_plan (the lender paid the OEM)")
    bank_reference: str
    lender_id: str
    entry_id: str
    created_by: str
    created_at: datetime | None

    @classmethod
    def of(cls, p: PayablePayment) -> PaymentOut:
        return cls(
            id=p.id,
            payable_id=p.payable_id,
            store_id=p.store_id,
            supplier=p.supplier,
            amount_fen=p.amount_fen,
            paid_on=p.paid_on,
            method=p.method,
            bank_reference=p.bank_reference,
            lender_id=p.lender_id,
            entry_id=p.entry_id,
            created_by=p.created_by,
            created_at=p.created_at,
        )


class PayableDetail(PayableOut):
    payments: list[PaymentOut]


class SupplierInvoiceIn(BaseModel):
    store_id: str = Field(min_length=1, max_length=20, examples=["SH01"])
    supplier: str = Field(min_length=1, max_length=80, examples=["上海某某物业管理有限公司"])
    reference: str = Field(
        min_length=1, max_length=60, description="The supplier's invoice number (发票号)"
    )
    net_fen: int = Field(gt=0, description="Amount before VAT, in fen")
    vat_fen: int | None = Field(
        None, ge=0, description="Input VAT in fen; default 13% of net, rounded half up"
    )
    expense_or_stock_account: str = Field(
        min_length=4,
        max_length=10,
        description="Leaf account the invoice buys: 1405.xx stock, 1601, 6601.xx / 6602.xx",
        examples=["6602.02"],
    )
    issued_on: Day | None = Field(None, description="Invoice date; default today")
    due_on: Day | None = Field(None, description="Default: issued_on + the payment terms")
    description: str = Field("", max_length=200)


class PaymentIn(BaseModel):
    amount_fen: int = Field(gt=0, description="At most what is still outstanding")
    paid_on: Day | None = Field(None, description="Default today; never in the future")
    bank_reference: str = Field(
        min_length=1, max_length=80, description="The bank's transaction reference (流水号)"
    )


class PaymentResult(BaseModel):
    payment: PaymentOut
    payable: PayableOut


@router.get(
    "/payables",
    response_model=Page[PayableOut],
    dependencies=[permission("finance.payables:read")],
)
async def list_payables(
    principal: CurrentPrincipal,
    finance: FinanceDep,
    page: PageQuery,
    store_id: Annotated[str | None, Query(max_length=20)] = None,
    supplier: Annotated[str | None, Query(max_length=80)] = None,
    status: PayableStatusName | None = None,
    kind: PayableKindName | None = None,
    reference: Annotated[str | None, Query(max_length=60, description="VIN, note, number")] = None,
) -> Page[PayableOut]:
    """Payables, newest first; filter by store, supplier, status, kind or reference."""
    stmt = scope_to_stores(select(Payable), col(Payable.store_id), principal)
    if store_id:
        principal.require_store(store_id, what=f"Store {store_id}")
        stmt = stmt.where(col(Payable.store_id) == store_id)
    if supplier:
        stmt = stmt.where(col(Payable.supplier) == supplier)
    if status:
        stmt = stmt.where(col(Payable.status) == status)
    if kind:
        stmt = stmt.where(col(Payable.kind) == kind)
    if reference:
        stmt = stmt.where(col(Payable.reference) == reference.strip())
    async with finance.db.session() as session:
        rows, cursor = await paginate(
            session,
            stmt,
            page,
            order=(col(Payable.created_at), col(Payable.id)),
            descending=True,
        )
    return Page(items=[PayableOut.of(r) for r in rows], next_cursor=cursor)


@router.post(
    "/payables",
    status_code=201,
    response_model=PayableOut,
    dependencies=[permission("finance.payables:write")],
)
async def book_supplier_invoice(
    body: SupplierInvoiceIn, principal: CurrentPrincipal, finance: FinanceDep, idem: IdempotencyDep
) -> Response:
    """Book a supplier invoice: Dr the account it buys + Dr 2221.01 input VAT / Cr 2202.02."""
    async with finance.uow() as uow:
        if replay := await idem.begin(uow.session, body):
            return replay
        payable = await svc.create_supplier_invoice(
            uow.session,
            finance,
            principal,
            store_id=body.store_id,
            supplier=body.supplier,
            reference=body.reference,
            net_fen=body.net_fen,
            vat_fen=body.vat_fen,
            account=body.expense_or_stock_account,
            issued_on=body.issued_on or finance.today(),
            due_on=body.due_on,
            description=body.description,
        )
        response = await idem.complete(
            uow.session, 201, PayableOut.of(payable), headers={"ETag": etag(payable.version)}
        )
        await uow.commit()
    return response


@router.get(
    "/payables/{payable_id}",
    response_model=PayableDetail,
    dependencies=[permission("finance.payables:read")],
)
async def read_payable(
    payable_id: str, principal: CurrentPrincipal, finance: FinanceDep, response: Response
) -> PayableDetail:
    """A payable with its payments."""
    async with finance.db.session() as session:
        payable = await svc.get_payable(session, principal, payable_id)
        payments = await svc.payments_of(session, payable_id)
    response.headers["ETag"] = etag(payable.version)
    return PayableDetail(
        **PayableOut.of(payable).model_dump(), payments=[PaymentOut.of(p) for p in payments]
    )


@router.post(
    "/payables/{payable_id}/payments",
    status_code=201,
    response_model=PaymentResult,
    dependencies=[permission("finance.payables:write")],
)
async def pay_payable(
    payable_id: str,
    body: PaymentIn,
    principal: CurrentPrincipal,
    finance: FinanceDep,
    idem: IdempotencyDep,
) -> Response:
    """Pay (part of) a payable from the bank: Dr 2202.0x / Cr 1002 (memo = bank reference).
    More than the outstanding amount is a 409 that says what is outstanding."""
    async with finance.uow() as uow:
        if replay := await idem.begin(uow.session, body):
            return replay
        payable, payment = await svc.pay(
            uow.session,
            finance,
            principal,
            payable_id,
            amount_fen=body.amount_fen,
            paid_on=body.paid_on,
            bank_reference=body.bank_reference,
        )
        result = PaymentResult(payment=PaymentOut.of(payment), payable=PayableOut.of(payable))
        response = await idem.complete(
            uow.session, 201, result, headers={"ETag": etag(payable.version)}
        )
        await uow.commit()
    return response


# --- supplier ledger and ageing -------------------------------------------------------------


class LedgerLineOut(BaseModel):
    date: date
    kind: str = Field(description="invoice (owed more) or payment (owed less)")
    document_id: str
    payable_id: str
    store_id: str
    reference: str
    description: str
    debit_fen: int
    credit_fen: int
    balance_fen: int


class SupplierLedgerOut(BaseModel):
    supplier: str
    store_id: str | None
    from_date: date | None
    to_date: date
    opening_fen: int
    closing_fen: int
    lines: list[LedgerLineOut]


@router.get(
    "/ap/suppliers/{supplier}",
    response_model=SupplierLedgerOut,
    dependencies=[permission("finance.payables:read")],
)
async def supplier_ledger(
    supplier: str,
    principal: CurrentPrincipal,
    finance: FinanceDep,
    store_id: Annotated[str | None, Query(max_length=20)] = None,
    from_date: Annotated[Day | None, Query(description="Default: from the first entry")] = None,
    to_date: Annotated[Day | None, Query(description="Default: today")] = None,
) -> SupplierLedgerOut:
    """One supplier's ledger: opening balance, invoices (credit) and payments (debit), with the
    balance owed after each line. Without store_id: all of the caller's stores together."""
    async with finance.db.session() as session:
        ledger = await svc.supplier_ledger(
            session,
            principal,
            supplier,
            store_id=store_id,
            from_date=from_date,
            to_date=to_date or finance.today(),
        )
    return SupplierLedgerOut(
        supplier=ledger.supplier,
        store_id=store_id,
        from_date=ledger.from_date,
        to_date=ledger.to_date,
        opening_fen=ledger.opening_fen,
        closing_fen=ledger.closing_fen,
        lines=[
            LedgerLineOut(
                date=row.movement.on,
                kind=row.movement.kind,
                document_id=row.movement.document_id,
                payable_id=row.movement.payable_id,
                store_id=row.movement.store_id,
                reference=row.movement.reference,
                description=row.movement.description,
                debit_fen=row.movement.debit_fen,
                credit_fen=row.movement.credit_fen,
                balance_fen=row.balance_fen,
            )
            for row in ledger.rows
        ],
    )


class BucketOut(BaseModel):
    key: str
    label: str


class SupplierAgeingOut(BaseModel):
    supplier: str
    documents: int
    buckets: dict[str, int]
    total_fen: int


class AgeingOut(BaseModel):
    as_of: date
    store_id: str | None
    bucket_order: list[BucketOut]
    suppliers: list[SupplierAgeingOut]
    totals: dict[str, int]
    total_fen: int


@router.get(
    "/ap/ageing",
    response_model=AgeingOut,
    dependencies=[permission("finance.payables:read")],
)
async def ap_ageing(
    principal: CurrentPrincipal,
    finance: FinanceDep,
    store_id: Annotated[str | None, Query(max_length=20)] = None,
    as_of: Annotated[Day | None, Query(description="Default: today")] = None,
) -> AgeingOut:
    """AP ageing per supplier: what was still owed on `as_of`, by days past the due date
    (current, 1-30, 31-60, 61-90, 91-180, over 180)."""
    async with finance.db.session() as session:
        ageing = await svc.ap_ageing(
            session, principal, store_id=store_id, as_of=as_of or finance.today()
        )
    return AgeingOut(
        as_of=ageing.as_of,
        store_id=store_id,
        bucket_order=[BucketOut(key=b.key, label=b.label) for b in BUCKETS],
        suppliers=[
            SupplierAgeingOut(
                supplier=p.party, documents=p.documents, buckets=p.buckets, total_fen=p.total_fen
            )
            for p in ageing.parties
        ],
        totals=ageing.totals,
        total_fen=ageing.total_fen,
    )
