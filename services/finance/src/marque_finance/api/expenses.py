"""Expense claims (报销): file a draft, edit it, submit it; approvers pass their step (or reject
with a reason); finance pays the approved claim. Routing by amount, who may approve which step and
what posts to the books: docs/decisions/0021-expense-approval-routing.md and
`marque_finance.domain.expenses`.

Every move after creation needs If-Match (the ETag read); a stale one answers 412.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlmodel import col

from marque_finance.api.deps import FinanceDep
from marque_finance.domain.expenses import (
    MAX_BANK_REFERENCE,
    MAX_DESCRIPTION,
    MAX_REASON,
    MAX_RECEIPT_NUMBER,
    ClaimStatus,
    ExpenseCategory,
)
from marque_finance.expenses_service import (
    APPROVE,
    PAY,
    READ,
    WRITE,
    ClaimChanges,
    ClaimRecord,
    NewClaim,
    approve_claim,
    copy_claim,
    create_claim,
    edit_claim,
    get_claim,
    pay_claim,
    queue_of,
    record_of,
    reject_claim,
    submit_claim,
    visible_to,
)
from marque_finance.models import ExpenseClaimRow
from marque_kit.http import (
    CurrentPrincipal,
    Day,
    IdempotencyDep,
    IfMatch,
    Page,
    PageQuery,
    etag,
    paginate,
    permission,
)

router = APIRouter(prefix="/api/v1/finance/expense-claims", tags=["expense claims"])


class ClaimIn(BaseModel):
    store_id: str = Field(min_length=1, max_length=20, examples=["SH01"])
    category: ExpenseCategory = Field(examples=["travel"])
    amount_fen: int = Field(
        gt=0, description="Amount in fen (1 CNY = 100 fen), VAT included", examples=[86_000]
    )
    description: str = Field(
        min_length=1, max_length=MAX_DESCRIPTION, examples=["杭州主机厂培训往返高铁 2 人"]
    )
    incurred_on: Day = Field(examples=["2026-11-02"])
    receipt_number: str = Field(
        "", max_length=MAX_RECEIPT_NUMBER, description="发票号 / receipt number, if any"
    )


class ClaimPatch(BaseModel):
    """Only the fields given change."""

    category: ExpenseCategory | None = None
    amount_fen: int | None = Field(None, gt=0)
    description: str | None = Field(None, min_length=1, max_length=MAX_DESCRIPTION)
    incurred_on: Day | None = None
    receipt_number: str | None = Field(None, max_length=MAX_RECEIPT_NUMBER)


class RejectIn(BaseModel):
    reason: str = Field(
        min_length=1, max_length=MAX_REASON, examples=["发票抬头不是本公司, 请重新开票"]
    )


class PayIn(BaseModel):
    method: Literal["cash", "bank_transfer"] = Field(examples=["bank_transfer"])
    bank_reference: str = Field(
        "",
        max_length=MAX_BANK_REFERENCE,
        description="The bank's transaction reference; required for a bank transfer",
        examples=["ICBC20261103000123"],
    )
    paid_on: Day | None = Field(None, description="Default: today (Asia/Shanghai)")


class ApprovalOut(BaseModel):
    step: str
    actor: str
    at: datetime


class ClaimOut(BaseModel):
    id: str
    store_id: str
    claimant: str
    category: str
    expense_account: str = Field(description="Where the cost posts, e.g. 6602.01 差旅费")
    amount_fen: int
    description: str
    incurred_on: date
    receipt_number: str
    status: str = Field(examples=["submitted"])
    pending_steps: list[str] = Field(examples=[["store_manager", "hq_finance"]])
    approvals: list[ApprovalOut]
    submitted_at: datetime | None
    approved_on: date | None
    rejection_reason: str
    rejected_by: str
    paid_on: date | None
    paid_by: str
    payment_method: str | None
    bank_reference: str
    copied_from: str | None
    version: int
    created_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def of(cls, record: ClaimRecord) -> ClaimOut:
        c = record.claim
        return cls(
            id=c.id,
            store_id=c.store_id,
            claimant=c.claimant,
            category=c.category.value,
            expense_account=c.expense_account,
            amount_fen=c.amount_fen,
            description=c.description,
            incurred_on=c.incurred_on,
            receipt_number=c.receipt_number,
            status=c.status.value,
            pending_steps=[s.value for s in c.pending_steps],
            approvals=[ApprovalOut(step=a.step.value, actor=a.actor, at=a.at) for a in c.approvals],
            submitted_at=c.submitted_at,
            approved_on=c.approved_on,
            rejection_reason=c.rejection_reason,
            rejected_by=c.rejected_by,
            paid_on=c.paid_on,
            paid_by=c.paid_by,
            payment_method=c.payment_method.value if c.payment_method else None,
            bank_reference=c.bank_reference,
            copied_from=c.copied_from or None,
            version=c.version,
            created_at=record.created_at,
            updated_at=record.updated_at,
        )


def _answer(response: Response, record: ClaimRecord) -> ClaimOut:
    response.headers["ETag"] = etag(record.claim.version)
    return ClaimOut.of(record)


@router.post("", status_code=201, response_model=ClaimOut, dependencies=[permission(WRITE)])
async def create(
    body: ClaimIn, principal: CurrentPrincipal, finance: FinanceDep, idem: IdempotencyDep
) -> Response:
    """File a draft claim for yourself (the claimant) in one of your stores."""
    uow = finance.uow()
    async with uow:
        if replay := await idem.begin(uow.session, body):
            return replay
        record = await create_claim(
            finance,
            uow,
            principal,
            NewClaim(
                store_id=body.store_id,
                category=body.category.value,
                amount_fen=body.amount_fen,
                description=body.description,
                incurred_on=body.incurred_on,
                receipt_number=body.receipt_number,
            ),
        )
        response = await idem.complete(
            uow.session, 201, ClaimOut.of(record), headers={"ETag": etag(record.claim.version)}
        )
        await uow.commit()
    return response


@router.get("", response_model=Page[ClaimOut], dependencies=[permission(READ)])
async def list_claims(
    principal: CurrentPrincipal,
    finance: FinanceDep,
    page: PageQuery,
    store_id: str | None = None,
    status: ClaimStatus | None = None,
    mine: bool = Query(False, description="Only the claims you filed yourself"),
) -> Page[ClaimOut]:
    """Claims you may see, newest first: your own, and (approvers, finance, HQ) your stores'
    submitted ones."""
    stmt = select(ExpenseClaimRow).where(visible_to(principal))
    if store_id:
        stmt = stmt.where(col(ExpenseClaimRow.store_id) == store_id)
    if status:
        stmt = stmt.where(col(ExpenseClaimRow.status) == status.value)
    if mine:
        stmt = stmt.where(col(ExpenseClaimRow.claimant) == principal.subject)
    async with finance.db.session() as session:
        rows, cursor = await paginate(
            session,
            stmt,
            page,
            order=(col(ExpenseClaimRow.created_at), col(ExpenseClaimRow.id)),
            descending=True,
        )
    return Page(items=[ClaimOut.of(record_of(r)) for r in rows], next_cursor=cursor)


@router.get("/queue", response_model=Page[ClaimOut], dependencies=[permission(APPROVE)])
async def queue(
    principal: CurrentPrincipal,
    finance: FinanceDep,
    page: PageQuery,
    store_id: str | None = None,
) -> Page[ClaimOut]:
    """Claims waiting on a step you may pass, oldest first: a store manager sees their stores'
    store-manager steps, HQ finance every store's HQ-finance steps, an HQ administrator both.
    Your own claims and those you already passed a step of are not in it."""
    stmt = select(ExpenseClaimRow).where(queue_of(principal))
    if store_id:
        stmt = stmt.where(col(ExpenseClaimRow.store_id) == store_id)
    async with finance.db.session() as session:
        rows, cursor = await paginate(
            session,
            stmt,
            page,
            order=(col(ExpenseClaimRow.created_at), col(ExpenseClaimRow.id)),
        )
    return Page(items=[ClaimOut.of(record_of(r)) for r in rows], next_cursor=cursor)


@router.get("/{claim_id}", response_model=ClaimOut, dependencies=[permission(READ)])
async def read(
    claim_id: str, principal: CurrentPrincipal, finance: FinanceDep, response: Response
) -> ClaimOut:
    return _answer(response, await get_claim(finance, principal, claim_id))


@router.patch("/{claim_id}", response_model=ClaimOut, dependencies=[permission(WRITE)])
async def edit(
    claim_id: str,
    body: ClaimPatch,
    principal: CurrentPrincipal,
    finance: FinanceDep,
    version: IfMatch,
    response: Response,
) -> ClaimOut:
    """The claimant corrects their draft (409 once it is submitted)."""
    record = await edit_claim(
        finance,
        principal,
        claim_id,
        ClaimChanges(
            category=body.category.value if body.category else None,
            amount_fen=body.amount_fen,
            description=body.description,
            incurred_on=body.incurred_on,
            receipt_number=body.receipt_number,
        ),
        expected_version=version,
    )
    return _answer(response, record)


@router.post("/{claim_id}/submit", response_model=ClaimOut, dependencies=[permission(WRITE)])
async def submit(
    claim_id: str,
    principal: CurrentPrincipal,
    finance: FinanceDep,
    version: IfMatch,
    response: Response,
) -> ClaimOut:
    """The claimant sends the draft for approval; `pending_steps` shows its route."""
    record = await submit_claim(finance, principal, claim_id, expected_version=version)
    return _answer(response, record)


@router.post("/{claim_id}/approve", response_model=ClaimOut, dependencies=[permission(APPROVE)])
async def approve(
    claim_id: str,
    principal: CurrentPrincipal,
    finance: FinanceDep,
    version: IfMatch,
    response: Response,
) -> ClaimOut:
    """Pass the claim's next step (403 when your role cannot, or the claim is yours); the last
    step approves it and posts the expense (Dr 6601.xx/6602.xx, Cr 2241.01)."""
    record = await approve_claim(finance, principal, claim_id, expected_version=version)
    return _answer(response, record)


@router.post("/{claim_id}/reject", response_model=ClaimOut, dependencies=[permission(APPROVE)])
async def reject(
    claim_id: str,
    body: RejectIn,
    principal: CurrentPrincipal,
    finance: FinanceDep,
    version: IfMatch,
    response: Response,
) -> ClaimOut:
    """Refuse the claim at your step, saying why; rejection is final (the claimant copies it)."""
    record = await reject_claim(
        finance, principal, claim_id, reason=body.reason, expected_version=version
    )
    return _answer(response, record)


@router.post("/{claim_id}/pay", response_model=ClaimOut, dependencies=[permission(PAY)])
async def pay(
    claim_id: str,
    body: PayIn,
    principal: CurrentPrincipal,
    finance: FinanceDep,
    version: IfMatch,
    response: Response,
) -> ClaimOut:
    """Pay an approved claim: Dr 2241.01, Cr 1002 bank (memo = bank reference) or 1001 cash."""
    record = await pay_claim(
        finance,
        principal,
        claim_id,
        method=body.method,
        bank_reference=body.bank_reference,
        paid_on=body.paid_on,
        expected_version=version,
    )
    return _answer(response, record)


@router.post(
    "/{claim_id}/copy", status_code=201, response_model=ClaimOut, dependencies=[permission(WRITE)]
)
async def copy(
    claim_id: str, principal: CurrentPrincipal, finance: FinanceDep, idem: IdempotencyDep
) -> Response:
    """The claimant copies their rejected claim into a new draft, to correct and submit again."""
    uow = finance.uow()
    async with uow:
        if replay := await idem.begin(uow.session, b""):
            return replay
        record = await copy_claim(finance, uow, principal, claim_id)
        response = await idem.complete(
            uow.session, 201, ClaimOut.of(record), headers={"ETag": etag(record.claim.version)}
        )
        await uow.commit()
    return response
