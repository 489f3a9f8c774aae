"""Expense claims (报销) over the database: each command is one transaction that moves the claim,
posts what it owes the books (approval: expense / employee claims payable; payment: payable /
bank or cash) and writes its event to the outbox, or does nothing at all.

Who sees which claims (besides store scoping, where another store's claim answers 404):
- a claimant sees their own claims, drafts included;
- whoever approves or pays claims (store manager, store finance, HQ finance, HQ admin) and HQ
  readers see every submitted (or later) claim of their stores; someone else's draft stays
  private to its claimant;
- everyone else (a sales consultant, a technician...) sees only their own.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, false, not_, or_, select, true, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from marque_finance import books
from marque_finance.domain.expenses import (
    HQ_ADMIN,
    Approval,
    ClaimStatus,
    ExpenseCategory,
    ExpenseClaim,
    PaymentMethod,
    Step,
)
from marque_finance.domain.posting_rules import expenses as rules
from marque_finance.expense_events import to_outgoing
from marque_finance.models import ExpenseClaimRow
from marque_finance.unit_of_work import Finance
from marque_kit.auth import Principal
from marque_kit.db import UnitOfWork
from marque_kit.errors import Conflict, Forbidden, NotFound
from marque_kit.http import check_version
from marque_kit.metrics import business_events

READ = "finance.expenses:read"
WRITE = "finance.expenses:write"
APPROVE = "finance.expenses:approve"
PAY = "finance.expenses:pay"


@dataclass(frozen=True)
class ClaimRecord:
    """A claim as stored, with the times its row was written."""

    claim: ExpenseClaim
    created_at: datetime | None
    updated_at: datetime | None


# --- row <-> domain ----------------------------------------------------------------------------


def claim_from_row(row: ExpenseClaimRow) -> ExpenseClaim:
    return ExpenseClaim(
        id=row.id,
        store_id=row.store_id,
        claimant=row.claimant,
        category=ExpenseCategory(row.category),
        amount_fen=row.amount_fen,
        description=row.description,
        incurred_on=row.incurred_on,
        receipt_number=row.receipt_number,
        status=ClaimStatus(row.status),
        pending_steps=[Step(s) for s in row.pending_steps],
        approvals=[
            Approval(Step(a["step"]), a["actor"], datetime.fromisoformat(a["at"]))
            for a in row.approvals
        ],
        submitted_at=row.submitted_at,
        approved_on=row.approved_on,
        rejection_reason=row.rejection_reason,
        rejected_by=row.rejected_by,
        paid_on=row.paid_on,
        paid_by=row.paid_by,
        payment_method=PaymentMethod(row.payment_method) if row.payment_method else None,
        bank_reference=row.bank_reference,
        copied_from=row.copied_from,
        version=row.version,
    )


def record_of(row: ExpenseClaimRow) -> ClaimRecord:
    return ClaimRecord(claim_from_row(row), row.created_at, row.updated_at)


def _values(claim: ExpenseClaim) -> dict[str, Any]:
    return {
        "category": claim.category.value,
        "amount_fen": claim.amount_fen,
        "description": claim.description,
        "incurred_on": claim.incurred_on,
        "receipt_number": claim.receipt_number,
        "status": claim.status.value,
        "pending_steps": [s.value for s in claim.pending_steps],
        "next_step": claim.next_step.value if claim.next_step else "",
        "approvals": [
            {"step": a.step.value, "actor": a.actor, "at": a.at.isoformat()}
            for a in claim.approvals
        ],
        "submitted_at": claim.submitted_at,
        "approved_on": claim.approved_on,
        "rejection_reason": claim.rejection_reason,
        "rejected_by": claim.rejected_by,
        "paid_on": claim.paid_on,
        "paid_by": claim.paid_by,
        "payment_method": claim.payment_method.value if claim.payment_method else "",
        "bank_reference": claim.bank_reference,
        "version": claim.version,
    }


async def _insert(session: AsyncSession, claim: ExpenseClaim) -> ClaimRecord:
    written = (
        await session.execute(
            insert(ExpenseClaimRow)
            .values(
                id=claim.id,
                store_id=claim.store_id,
                claimant=claim.claimant,
                copied_from=claim.copied_from,
                **_values(claim),
            )
            .returning(col(ExpenseClaimRow.created_at), col(ExpenseClaimRow.updated_at))
        )
    ).one()
    return ClaimRecord(claim, written.created_at, written.updated_at)


async def _save(session: AsyncSession, claim: ExpenseClaim, *, loaded_version: int) -> ClaimRecord:
    """Write the claim only if its row is still at `loaded_version` (the row is locked anyway)."""
    written = (
        await session.execute(
            update(ExpenseClaimRow)
            .where(
                col(ExpenseClaimRow.id) == claim.id,
                col(ExpenseClaimRow.version) == loaded_version,
            )
            .values(**_values(claim), updated_at=datetime.now(UTC))
            .returning(col(ExpenseClaimRow.created_at), col(ExpenseClaimRow.updated_at))
        )
    ).one_or_none()
    if written is None:
        raise Conflict(f"Claim {claim.id} was changed by someone else a moment ago; reload it.")
    return ClaimRecord(claim, written.created_at, written.updated_at)


# --- who sees what -----------------------------------------------------------------------------


def sees_colleagues_claims(principal: Principal) -> bool:
    """Approvers, payers and HQ see every submitted claim of their stores; others their own."""
    return principal.is_hq or principal.can(APPROVE) or principal.can(PAY)


def visible_to(principal: Principal) -> ColumnElement[bool]:
    """The SQL condition for the claims a principal sees (see the module docstring)."""
    stores = principal.store_filter()
    in_stores = true() if stores is None else col(ExpenseClaimRow.store_id).in_(stores)
    own = col(ExpenseClaimRow.claimant) == principal.subject
    if sees_colleagues_claims(principal):
        return and_(in_stores, or_(own, col(ExpenseClaimRow.status) != ClaimStatus.DRAFT.value))
    return and_(in_stores, own)


def steps_passable_by(principal: Principal) -> list[Step]:
    """The approval steps the principal's roles pass (the store scope is applied separately)."""
    if HQ_ADMIN in principal.roles:
        return [Step.STORE_MANAGER, Step.HQ_FINANCE]
    return [step for step in Step if step.value in principal.roles]


def queue_of(principal: Principal) -> ColumnElement[bool]:
    """Submitted claims of the principal's stores waiting on a step it may pass, excluding its own
    and those it already approved a step of."""
    steps = steps_passable_by(principal)
    if not steps:
        return false()
    stores = principal.store_filter()
    in_stores = true() if stores is None else col(ExpenseClaimRow.store_id).in_(stores)
    return and_(
        in_stores,
        col(ExpenseClaimRow.status) == ClaimStatus.SUBMITTED.value,
        col(ExpenseClaimRow.next_step).in_([s.value for s in steps]),
        col(ExpenseClaimRow.claimant) != principal.subject,
        not_(col(ExpenseClaimRow.approvals).contains([{"actor": principal.subject}])),
    )


def _not_found(claim_id: str) -> NotFound:
    return NotFound(f"Expense claim {claim_id} was not found in your stores.")


async def _load_row(
    session: AsyncSession, principal: Principal, claim_id: str, *, for_update: bool = False
) -> ExpenseClaimRow:
    stmt = select(ExpenseClaimRow).where(col(ExpenseClaimRow.id) == claim_id, visible_to(principal))
    if for_update:
        stmt = stmt.with_for_update()
    row = (await session.execute(stmt)).scalar_one_or_none()
    if row is None:
        raise _not_found(claim_id)
    return row


async def get_claim(finance: Finance, principal: Principal, claim_id: str) -> ClaimRecord:
    principal.require(READ)
    async with finance.db.session() as session:
        return record_of(await _load_row(session, principal, claim_id))


# --- commands ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewClaim:
    store_id: str
    category: str
    amount_fen: int
    description: str
    incurred_on: date
    receipt_number: str = ""


def _new_id() -> str:
    return f"EXP-{uuid.uuid4().hex}"


async def create_claim(
    finance: Finance, uow: UnitOfWork, principal: Principal, new: NewClaim
) -> ClaimRecord:
    """A draft claim of the caller (the claimant) for one of the caller's stores."""
    principal.require(WRITE)
    if principal.kind != "user":
        raise Forbidden("Expense claims are filed by staff for themselves, not by API keys.")
    if not principal.sees_store(new.store_id):
        raise Forbidden(
            f"You can file expense claims only for your own stores "
            f"({', '.join(principal.stores) or 'none'}); {new.store_id} is not one of them."
        )
    claim = ExpenseClaim.draft(
        claim_id=_new_id(),
        store_id=new.store_id,
        claimant=principal.subject,
        category=new.category,
        amount_fen=new.amount_fen,
        description=new.description,
        incurred_on=new.incurred_on,
        today=finance.today(),
        receipt_number=new.receipt_number,
    )
    record = await _insert(uow.session, claim)
    business_events.labels("finance", "expense_claim_drafted").inc()
    return record


async def copy_claim(
    finance: Finance, uow: UnitOfWork, principal: Principal, claim_id: str
) -> ClaimRecord:
    """A rejected claim's content as a new draft of its claimant (rejection itself is final)."""
    principal.require(WRITE)
    row = await _load_row(uow.session, principal, claim_id)
    copy = claim_from_row(row).copy_as_draft(principal, claim_id=_new_id(), today=finance.today())
    return await _insert(uow.session, copy)


@dataclass(frozen=True)
class ClaimChanges:
    category: str | None = None
    amount_fen: int | None = None
    description: str | None = None
    incurred_on: date | None = None
    receipt_number: str | None = None


async def _command(
    finance: Finance,
    principal: Principal,
    claim_id: str,
    expected_version: int,
    act: Callable[[ExpenseClaim, AsyncSession], Awaitable[None]],
) -> ClaimRecord:
    """Lock the claim, check the version read, apply `act(claim, session)`, save, commit."""
    async with finance.uow() as uow:
        row = await _load_row(uow.session, principal, claim_id, for_update=True)
        check_version(row.version, expected_version)
        claim = claim_from_row(row)
        await act(claim, uow.session)
        record = await _save(uow.session, claim, loaded_version=row.version)
        uow.record(*(to_outgoing(e) for e in claim.pull_events()))
        await uow.commit()
    return record


async def edit_claim(
    finance: Finance,
    principal: Principal,
    claim_id: str,
    changes: ClaimChanges,
    *,
    expected_version: int,
) -> ClaimRecord:
    principal.require(WRITE)

    async def act(claim: ExpenseClaim, session: AsyncSession) -> None:
        claim.edit(
            principal,
            today=finance.today(),
            category=changes.category,
            amount_fen=changes.amount_fen,
            description=changes.description,
            incurred_on=changes.incurred_on,
            receipt_number=changes.receipt_number,
        )

    return await _command(finance, principal, claim_id, expected_version, act)


async def submit_claim(
    finance: Finance, principal: Principal, claim_id: str, *, expected_version: int
) -> ClaimRecord:
    principal.require(WRITE)

    async def act(claim: ExpenseClaim, session: AsyncSession) -> None:
        claim.submit(
            principal,
            threshold_fen=finance.settings.expense_hq_threshold_fen,
            at=datetime.now(UTC),
        )

    record = await _command(finance, principal, claim_id, expected_version, act)
    business_events.labels("finance", "expense_claim_submitted").inc()
    return record


async def approve_claim(
    finance: Finance, principal: Principal, claim_id: str, *, expected_version: int
) -> ClaimRecord:
    """Pass the claim's next step; the last one approves it and posts the expense."""
    principal.require(APPROVE)

    async def act(claim: ExpenseClaim, session: AsyncSession) -> None:
        claim.approve(principal, at=datetime.now(UTC), today=finance.today())
        if claim.status is ClaimStatus.APPROVED:
            await books.post(session, rules.claim_approved(claim, actor=principal.subject))

    record = await _command(finance, principal, claim_id, expected_version, act)
    business_events.labels("finance", f"expense_claim_{record.claim.status.value}").inc()
    return record


async def reject_claim(
    finance: Finance, principal: Principal, claim_id: str, *, reason: str, expected_version: int
) -> ClaimRecord:
    principal.require(APPROVE)

    async def act(claim: ExpenseClaim, session: AsyncSession) -> None:
        claim.reject(principal, reason=reason, at=datetime.now(UTC))

    record = await _command(finance, principal, claim_id, expected_version, act)
    business_events.labels("finance", "expense_claim_rejected").inc()
    return record


async def pay_claim(
    finance: Finance,
    principal: Principal,
    claim_id: str,
    *,
    method: str,
    bank_reference: str,
    paid_on: date | None,
    expected_version: int,
) -> ClaimRecord:
    """Pay an approved claim: the claimant's payable is cleared from the bank or the till."""
    principal.require(PAY)

    async def act(claim: ExpenseClaim, session: AsyncSession) -> None:
        today = finance.today()
        claim.pay(
            principal,
            method=method,
            bank_reference=bank_reference,
            paid_on=paid_on or today,
            today=today,
            at=datetime.now(UTC),
        )
        await books.post(session, rules.claim_paid(claim, actor=principal.subject))

    record = await _command(finance, principal, claim_id, expected_version, act)
    business_events.labels("finance", "expense_claim_paid").inc()
    return record
