"""Expense claims (报销): the rulebook for filing, routing, approving, rejecting and paying them.

A claim is one amount spent by one employee (the claimant) for one store, in one category, on one
day, with an optional receipt or invoice (发票) number. It moves

    draft ──submit──▶ submitted ──approve (every step)──▶ approved ──pay──▶ paid
                          │
                          └──reject (reason)──▶ rejected   (final)

Routing (decided when the claim is submitted, from its amount):
- up to the threshold (`expense_hq_threshold_fen`, 5,000 CNY by default, inclusive): the store
  manager's step only, `["store_manager"]`;
- above it: `["store_manager", "hq_finance"]`, passed in that order;
- a store manager's own claim skips the step they would otherwise approve themselves and goes to
  the next level up: `["hq_finance"]`, whatever the amount.

Who passes a step:
- `store_manager`: a store manager (店总) of the claim's store, or an HQ administrator;
- `hq_finance`: group HQ finance (集团财务), or an HQ administrator.
The store's own `finance` role (财务) holds `finance.*` but approves nothing: it pays.

Segregation of duties:
- nobody approves, rejects or pays their own claim;
- one person passes at most one step of a claim (an HQ administrator who passed the store
  manager's step cannot also pass HQ finance's);
- rejection needs a reason and is final: the claimant copies the rejected claim into a new draft
  (`copy_as_draft`), corrects it and submits that.

Only the claimant edits a draft. Every change moves the version on (If-Match over HTTP).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol

from marque_finance.domain import accounts
from marque_finance.domain.money import format_yuan, require_fen
from marque_kit.errors import Conflict, Forbidden, InvalidInput

# A claim above this needs a payable (应付) instead: one person does not front a fortune.
MAX_CLAIM_FEN = 100_000_000  # 1,000,000.00 CNY
MAX_DESCRIPTION = 500
MAX_RECEIPT_NUMBER = 60
MAX_REASON = 500
MAX_BANK_REFERENCE = 80


class ClaimStatus(StrEnum):
    DRAFT = "draft"  # 草稿: only the claimant sees and edits it
    SUBMITTED = "submitted"  # 已提交: waiting on its approval steps
    APPROVED = "approved"  # 已审批: posted to expenses, owed to the claimant
    REJECTED = "rejected"  # 已驳回: final; copy it into a new draft to try again
    PAID = "paid"  # 已付款: the claimant has their money


class ExpenseCategory(StrEnum):
    TRAVEL = "travel"  # 差旅费
    ENTERTAINMENT = "entertainment"  # 业务招待费
    OFFICE = "office"  # 办公费
    MARKETING = "marketing"  # 广告宣传费
    VEHICLE = "vehicle"  # 车辆费用 (fuel, tolls, parking for demo and service cars)
    TRAINING = "training"  # 培训费
    OTHER = "other"  # 其他


# Where each category's cost lands: selling expenses (6601.xx) or administrative (6602.xx).
EXPENSE_ACCOUNT: dict[ExpenseCategory, str] = {
    ExpenseCategory.MARKETING: accounts.SELLING_ADVERTISING,
    ExpenseCategory.ENTERTAINMENT: accounts.SELLING_ENTERTAINMENT,
    ExpenseCategory.VEHICLE: accounts.SELLING_VEHICLE,
    ExpenseCategory.TRAVEL: accounts.ADMIN_TRAVEL,
    ExpenseCategory.OFFICE: accounts.ADMIN_OFFICE,
    ExpenseCategory.TRAINING: accounts.ADMIN_TRAINING,
    ExpenseCategory.OTHER: accounts.ADMIN_OTHER,
}


class Step(StrEnum):
    """An approval step; named after the role that passes it."""

    STORE_MANAGER = "store_manager"
    HQ_FINANCE = "hq_finance"


class PaymentMethod(StrEnum):
    CASH = "cash"  # 现金
    BANK_TRANSFER = "bank_transfer"  # 银行转账


HQ_ADMIN = "hq_admin"


class Actor(Protocol):
    """Who acts: the signed principal satisfies this (subject, roles, the stores it sees)."""

    @property
    def subject(self) -> str: ...

    @property
    def roles(self) -> tuple[str, ...]: ...

    def sees_store(self, store_id: str) -> bool: ...


def route(
    amount_fen: int, threshold_fen: int, *, claimant_manages_store: bool = False
) -> list[Step]:
    """The approval steps a claim of `amount_fen` must pass, in order."""
    if claimant_manages_store:
        return [Step.HQ_FINANCE]
    if amount_fen <= threshold_fen:
        return [Step.STORE_MANAGER]
    return [Step.STORE_MANAGER, Step.HQ_FINANCE]


def may_pass(step: Step, actor: Actor, store_id: str) -> bool:
    """Does the actor's role let them pass `step` of a claim of `store_id`?"""
    if HQ_ADMIN in actor.roles:
        return True
    if step is Step.STORE_MANAGER:
        return Step.STORE_MANAGER.value in actor.roles and actor.sees_store(store_id)
    return Step.HQ_FINANCE.value in actor.roles


def manages_store(actor: Actor, store_id: str) -> bool:
    return Step.STORE_MANAGER.value in actor.roles and actor.sees_store(store_id)


def _who_passes(step: Step) -> str:
    if step is Step.STORE_MANAGER:
        return "a store manager (店总) of the claim's store or an HQ administrator"
    return "group HQ finance (集团财务) or an HQ administrator"


@dataclass(frozen=True)
class Approval:
    step: Step
    actor: str
    at: datetime


@dataclass(frozen=True)
class ClaimSnapshot:
    """The claim as it stood right after an event (what the event carries)."""

    claim_id: str
    store_id: str
    claimant: str
    category: str
    amount_fen: int
    status: str
    pending_steps: tuple[str, ...]
    version: int


@dataclass(frozen=True)
class ClaimSubmitted:
    claim: ClaimSnapshot
    at: datetime


@dataclass(frozen=True)
class ClaimApproved:
    """One step passed; the claim is approved once no step is pending."""

    claim: ClaimSnapshot
    at: datetime
    actor: str
    step: Step


@dataclass(frozen=True)
class ClaimRejected:
    claim: ClaimSnapshot
    at: datetime
    actor: str
    reason: str


@dataclass(frozen=True)
class ClaimPaid:
    claim: ClaimSnapshot
    at: datetime
    actor: str
    paid_on: date


ClaimEvent = ClaimSubmitted | ClaimApproved | ClaimRejected | ClaimPaid


# --- checks on what a person types ------------------------------------------------------------


def _amount(value: object) -> int:
    amount = require_fen(value, "amount_fen", positive=True)
    if amount > MAX_CLAIM_FEN:
        raise InvalidInput(
            f"An expense claim is at most {format_yuan(MAX_CLAIM_FEN)} CNY "
            f"({format_yuan(amount)} given); larger spending goes through payables (应付).",
            errors=[{"field": "amount_fen", "rule": "max", "max": MAX_CLAIM_FEN}],
        )
    return amount


def _category(value: str) -> ExpenseCategory:
    try:
        return ExpenseCategory(value)
    except ValueError:
        raise InvalidInput(
            f"Unknown expense category {value!r}; use one of "
            f"{', '.join(c.value for c in ExpenseCategory)}.",
            errors=[{"field": "category", "rule": "enum"}],
        ) from None


def _text(value: str, name: str, limit: int, *, required: bool, what: str) -> str:
    cleaned = value.strip()
    if required and not cleaned:
        raise InvalidInput(what, errors=[{"field": name, "rule": "required"}])
    if len(cleaned) > limit:
        raise InvalidInput(
            f"{name} is at most {limit} characters ({len(cleaned)} given).",
            errors=[{"field": name, "rule": "max_length", "max": limit}],
        )
    return cleaned


def _incurred(day: date, today: date) -> date:
    if day > today:
        raise InvalidInput(
            f"The expense is dated {day.isoformat()}, after today ({today.isoformat()}); "
            "claim it once it has been spent.",
            errors=[{"field": "incurred_on", "rule": "not_future"}],
        )
    return day


# --- the aggregate -----------------------------------------------------------------------------


@dataclass
class ExpenseClaim:
    id: str
    store_id: str
    claimant: str
    category: ExpenseCategory
    amount_fen: int
    description: str
    incurred_on: date
    receipt_number: str = ""
    status: ClaimStatus = ClaimStatus.DRAFT
    pending_steps: list[Step] = field(default_factory=list)
    approvals: list[Approval] = field(default_factory=list)
    submitted_at: datetime | None = None
    approved_on: date | None = None
    rejection_reason: str = ""
    rejected_by: str = ""
    paid_on: date | None = None
    paid_by: str = ""
    payment_method: PaymentMethod | None = None
    bank_reference: str = ""
    copied_from: str = ""
    version: int = 1
    _events: list[ClaimEvent] = field(default_factory=list, repr=False, compare=False)

    # -- creating --------------------------------------------------------------------------------

    @classmethod
    def draft(
        cls,
        *,
        claim_id: str,
        store_id: str,
        claimant: str,
        category: str,
        amount_fen: object,
        description: str,
        incurred_on: date,
        today: date,
        receipt_number: str = "",
        copied_from: str = "",
    ) -> ExpenseClaim:
        """A new draft, checked field by field (422 naming the field otherwise)."""
        return cls(
            id=claim_id,
            store_id=store_id,
            claimant=claimant,
            category=_category(category),
            amount_fen=_amount(amount_fen),
            description=_text(
                description,
                "description",
                MAX_DESCRIPTION,
                required=True,
                what="Say what the money was spent on (description).",
            ),
            incurred_on=_incurred(incurred_on, today),
            receipt_number=_text(
                receipt_number, "receipt_number", MAX_RECEIPT_NUMBER, required=False, what=""
            ),
            copied_from=copied_from,
        )

    def copy_as_draft(self, actor: Actor, *, claim_id: str, today: date) -> ExpenseClaim:
        """A rejected claim's content as a new draft of the same claimant, to correct and resubmit.

        The incurred date is kept (the money was spent then), so it is not checked against today.
        """
        self._require_claimant(actor, "copy")
        if self.status is not ClaimStatus.REJECTED:
            raise Conflict(
                f"Claim {self.id} is {self.status.value}; only a rejected claim is copied into a "
                "new draft (edit a draft directly)."
            )
        return ExpenseClaim.draft(
            claim_id=claim_id,
            store_id=self.store_id,
            claimant=self.claimant,
            category=self.category.value,
            amount_fen=self.amount_fen,
            description=self.description,
            incurred_on=self.incurred_on,
            today=max(today, self.incurred_on),
            receipt_number=self.receipt_number,
            copied_from=self.id,
        )

    # -- reading ---------------------------------------------------------------------------------

    @property
    def expense_account(self) -> str:
        return EXPENSE_ACCOUNT[self.category]

    @property
    def next_step(self) -> Step | None:
        return self.pending_steps[0] if self.pending_steps else None

    def approved_by(self, subject: str) -> bool:
        return any(a.actor == subject for a in self.approvals)

    def snapshot(self) -> ClaimSnapshot:
        return ClaimSnapshot(
            claim_id=self.id,
            store_id=self.store_id,
            claimant=self.claimant,
            category=self.category.value,
            amount_fen=self.amount_fen,
            status=self.status.value,
            pending_steps=tuple(s.value for s in self.pending_steps),
            version=self.version,
        )

    def pull_events(self) -> list[ClaimEvent]:
        events, self._events = self._events, []
        return events

    # -- moves -----------------------------------------------------------------------------------

    def edit(
        self,
        actor: Actor,
        *,
        today: date,
        category: str | None = None,
        amount_fen: object = None,
        description: str | None = None,
        incurred_on: date | None = None,
        receipt_number: str | None = None,
    ) -> None:
        """The claimant changes their draft; fields left None stay as they are."""
        self._require_claimant(actor, "edit")
        if self.status is not ClaimStatus.DRAFT:
            raise Conflict(
                f"Claim {self.id} is {self.status.value}; only a draft can be edited."
                + (" Copy it into a new draft instead." if self.rejected else "")
            )
        if category is not None:
            self.category = _category(category)
        if amount_fen is not None:
            self.amount_fen = _amount(amount_fen)
        if description is not None:
            self.description = _text(
                description,
                "description",
                MAX_DESCRIPTION,
                required=True,
                what="Say what the money was spent on (description).",
            )
        if incurred_on is not None:
            self.incurred_on = _incurred(incurred_on, today)
        if receipt_number is not None:
            self.receipt_number = _text(
                receipt_number, "receipt_number", MAX_RECEIPT_NUMBER, required=False, what=""
            )
        self.version += 1

    def submit(self, actor: Actor, *, threshold_fen: int, at: datetime) -> None:
        """The claimant sends the draft for approval; its route is fixed now, from its amount."""
        self._require_claimant(actor, "submit")
        if self.status is not ClaimStatus.DRAFT:
            raise Conflict(
                f"Claim {self.id} is already {self.status.value}; only a draft can be submitted."
            )
        self.pending_steps = route(
            self.amount_fen,
            threshold_fen,
            claimant_manages_store=manages_store(actor, self.store_id),
        )
        self.status = ClaimStatus.SUBMITTED
        self.submitted_at = at
        self.version += 1
        self._events.append(ClaimSubmitted(self.snapshot(), at))

    def check_approver(self, actor: Actor) -> Step:
        """The step `actor` may pass now, or why not (409 wrong state, 403 wrong person)."""
        step = self._waiting_step("approve")
        if actor.subject == self.claimant:
            raise Forbidden(
                f"Claim {self.id} is your own; nobody approves or rejects their own expense claim. "
                f"It waits for {_who_passes(step)}."
            )
        if not may_pass(step, actor, self.store_id):
            raise Forbidden(
                f"Your role cannot approve the {step.value} step of this claim; "
                f"it needs {_who_passes(step)}."
            )
        if self.approved_by(actor.subject):
            raise Forbidden(
                f"You already passed a step of claim {self.id}; the {step.value} step needs "
                f"another approver ({_who_passes(step)})."
            )
        return step

    def approve(self, actor: Actor, *, at: datetime, today: date) -> Step:
        """Pass the next step; once none is pending the claim is approved (and posts)."""
        step = self.check_approver(actor)
        self.pending_steps = self.pending_steps[1:]
        self.approvals.append(Approval(step, actor.subject, at))
        if not self.pending_steps:
            self.status = ClaimStatus.APPROVED
            self.approved_on = today
        self.version += 1
        self._events.append(ClaimApproved(self.snapshot(), at, actor.subject, step))
        return step

    def reject(self, actor: Actor, *, reason: str, at: datetime) -> None:
        """Whoever may pass the waiting step may refuse it instead, saying why; this is final."""
        self.check_approver(actor)
        why = _text(
            reason,
            "reason",
            MAX_REASON,
            required=True,
            what="Say why the claim is rejected (reason); the claimant reads it.",
        )
        self.status = ClaimStatus.REJECTED
        self.pending_steps = []
        self.rejection_reason = why
        self.rejected_by = actor.subject
        self.version += 1
        self._events.append(ClaimRejected(self.snapshot(), at, actor.subject, why))

    def pay(
        self,
        actor: Actor,
        *,
        method: str,
        bank_reference: str,
        paid_on: date,
        today: date,
        at: datetime,
    ) -> None:
        """Finance pays an approved claim out (cash or bank transfer); the claimant never pays
        themselves."""
        if self.status is not ClaimStatus.APPROVED:
            if self.status is ClaimStatus.PAID:
                raise Conflict(
                    f"Claim {self.id} was already paid on "
                    f"{self.paid_on.isoformat() if self.paid_on else '?'}."
                )
            waiting = f" (waiting on the {self.next_step.value} step)" if self.next_step else ""
            raise Conflict(
                f"Claim {self.id} is {self.status.value}{waiting}; only an approved claim is paid."
            )
        if actor.subject == self.claimant:
            raise Forbidden(
                f"Claim {self.id} is your own; a colleague in finance pays it, not the claimant."
            )
        try:
            how = PaymentMethod(method)
        except ValueError:
            raise InvalidInput(
                f"Unknown payment method {method!r}; use cash or bank_transfer.",
                errors=[{"field": "method", "rule": "enum"}],
            ) from None
        reference = _text(
            bank_reference, "bank_reference", MAX_BANK_REFERENCE, required=False, what=""
        )
        if how is PaymentMethod.BANK_TRANSFER and not reference:
            raise InvalidInput(
                "A bank transfer needs the bank's transaction reference (bank_reference), so that "
                "reconciliation can match it to the statement.",
                errors=[{"field": "bank_reference", "rule": "required"}],
            )
        if paid_on > today:
            raise InvalidInput(
                f"paid_on {paid_on.isoformat()} is after today ({today.isoformat()}); "
                "record a payment once it is made.",
                errors=[{"field": "paid_on", "rule": "not_future"}],
            )
        if self.approved_on is not None and paid_on < self.approved_on:
            raise InvalidInput(
                f"paid_on {paid_on.isoformat()} is before the claim was approved "
                f"({self.approved_on.isoformat()}).",
                errors=[{"field": "paid_on", "rule": "after_approval"}],
            )
        self.status = ClaimStatus.PAID
        self.paid_on = paid_on
        self.paid_by = actor.subject
        self.payment_method = how
        self.bank_reference = reference
        self.version += 1
        self._events.append(ClaimPaid(self.snapshot(), at, actor.subject, paid_on))

    # -- helpers ---------------------------------------------------------------------------------

    @property
    def rejected(self) -> bool:
        return self.status is ClaimStatus.REJECTED

    def _require_claimant(self, actor: Actor, verb: str) -> None:
        if actor.subject != self.claimant:
            raise Forbidden(f"Only the claimant ({self.claimant}) can {verb} claim {self.id}.")

    def _waiting_step(self, verb: str) -> Step:
        if self.status is ClaimStatus.SUBMITTED and self.next_step is not None:
            return self.next_step
        if self.status is ClaimStatus.DRAFT:
            raise Conflict(
                f"Claim {self.id} is still a draft; the claimant submits it before anyone can "
                f"{verb} it."
            )
        raise Conflict(
            f"Claim {self.id} is already {self.status.value}; there is nothing to {verb}."
        )
