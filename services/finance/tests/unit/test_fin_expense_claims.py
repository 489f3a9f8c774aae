"""Expense claims (报销): the state machine, routing by amount, who may pass which step, and what
each move posts to the books."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marque_finance.domain.accounts import BANK, CASH, EMPLOYEE_CLAIMS_PAYABLE, TEMPLATE_BY_CODE
from marque_finance.domain.expenses import (
    EXPENSE_ACCOUNT,
    MAX_CLAIM_FEN,
    ClaimApproved,
    ClaimPaid,
    ClaimRejected,
    ClaimStatus,
    ClaimSubmitted,
    ExpenseCategory,
    ExpenseClaim,
    Step,
    route,
)
from marque_finance.domain.posting_rules import expenses as rules
from marque_kit.auth import Principal
from marque_kit.errors import Conflict, Forbidden, InvalidInput

THRESHOLD = 500_000  # 5,000.00 CNY
TODAY = date(2026, 11, 3)
AT = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)

CLAIMANT = Principal(subject="sh.consultant", roles=("sales_consultant",), stores=("SH01",))
MANAGER = Principal(subject="sh.manager", roles=("store_manager",), stores=("SH01",))
OTHER_MANAGER = Principal(subject="hz.manager", roles=("store_manager",), stores=("HZ01",))
STORE_FINANCE = Principal(subject="sh.finance", roles=("finance",), stores=("SH01",))
HQ_FINANCE = Principal(subject="hq.finance", roles=("hq_finance",), stores=("*",))
HQ_ADMIN = Principal(subject="hq.admin", roles=("hq_admin",), stores=("*",))
HQ_ANALYST = Principal(subject="hq.analyst", roles=("hq_analyst",), stores=("*",))


def draft(amount: int = 86_000, claimant: str = CLAIMANT.subject, **kw: object) -> ExpenseClaim:
    fields: dict[str, object] = {
        "claim_id": "EXP-1",
        "store_id": "SH01",
        "claimant": claimant,
        "category": "travel",
        "amount_fen": amount,
        "description": "杭州主机厂培训往返高铁",
        "incurred_on": date(2026, 11, 1),
        "today": TODAY,
        "receipt_number": "RC-001",
    }
    fields.update(kw)
    return ExpenseClaim.draft(**fields)  # type: ignore[arg-type]


def submitted(amount: int = 86_000, by: Principal = CLAIMANT) -> ExpenseClaim:
    claim = draft(amount, claimant=by.subject)
    claim.submit(by, threshold_fen=THRESHOLD, at=AT)
    return claim


# --- routing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "steps"),
    [
        (THRESHOLD - 1, [Step.STORE_MANAGER]),
        (THRESHOLD, [Step.STORE_MANAGER]),
        (THRESHOLD + 1, [Step.STORE_MANAGER, Step.HQ_FINANCE]),
    ],
    ids=["below", "at", "above"],
)
def test_routing_by_amount_below_at_and_above_the_threshold(amount: int, steps: list[Step]) -> None:
    assert route(amount, THRESHOLD) == steps
    claim = submitted(amount)
    assert claim.status is ClaimStatus.SUBMITTED and claim.pending_steps == steps


def test_a_store_managers_own_claim_goes_to_hq_finance_whatever_the_amount() -> None:
    claim = submitted(10_000, by=MANAGER)
    assert claim.pending_steps == [Step.HQ_FINANCE]
    with pytest.raises(Forbidden, match="your own"):
        claim.approve(MANAGER, at=AT, today=TODAY)
    claim.approve(HQ_FINANCE, at=AT, today=TODAY)
    assert claim.status is ClaimStatus.APPROVED


@given(
    amount=st.integers(min_value=1, max_value=MAX_CLAIM_FEN),
    threshold=st.integers(min_value=0, max_value=MAX_CLAIM_FEN),
)
def test_routing_always_starts_in_the_store_and_adds_hq_only_above_the_threshold(
    amount: int, threshold: int
) -> None:
    steps = route(amount, threshold)
    assert steps[0] is Step.STORE_MANAGER
    assert (Step.HQ_FINANCE in steps) == (amount > threshold)
    assert len(steps) == len(set(steps))


# --- approving ---------------------------------------------------------------------------------


def test_small_claim_is_approved_by_the_store_manager_and_posts_the_expense() -> None:
    claim = submitted(86_000)
    claim.approve(MANAGER, at=AT, today=TODAY)
    assert claim.status is ClaimStatus.APPROVED and claim.pending_steps == []
    assert claim.approved_on == TODAY and claim.version == 3
    events = claim.pull_events()
    assert [type(e) for e in events] == [ClaimSubmitted, ClaimApproved]
    assert isinstance(events[1], ClaimApproved) and events[1].step is Step.STORE_MANAGER
    assert events[1].claim.status == "approved" and events[1].claim.version == 3

    entry = rules.claim_approved(claim, actor=MANAGER.subject).checked()
    assert entry.source_event_id == "expense:EXP-1:approved" and entry.entry_date == TODAY
    assert [(ln.account, ln.debit, ln.credit, ln.party) for ln in entry.lines] == [
        ("6602.01", 86_000, 0, ""),
        (EMPLOYEE_CLAIMS_PAYABLE, 0, 86_000, CLAIMANT.subject),
    ]


def test_large_claim_needs_the_store_manager_then_hq_finance_in_that_order() -> None:
    claim = submitted(THRESHOLD + 1)
    with pytest.raises(Forbidden, match="cannot approve the store_manager step"):
        claim.approve(HQ_FINANCE, at=AT, today=TODAY)
    claim.approve(MANAGER, at=AT, today=TODAY)
    assert claim.status is ClaimStatus.SUBMITTED and claim.pending_steps == [Step.HQ_FINANCE]
    assert claim.approved_on is None
    with pytest.raises(Conflict, match="only an approved claim posts"):
        rules.claim_approved(claim, actor=MANAGER.subject)
    with pytest.raises(Forbidden, match="cannot approve the hq_finance step"):
        claim.approve(MANAGER, at=AT, today=TODAY)
    claim.approve(HQ_FINANCE, at=AT, today=TODAY)
    assert claim.status is ClaimStatus.APPROVED
    assert [(a.step, a.actor) for a in claim.approvals] == [
        (Step.STORE_MANAGER, "sh.manager"),
        (Step.HQ_FINANCE, "hq.finance"),
    ]


@pytest.mark.parametrize(
    "who",
    [STORE_FINANCE, HQ_ANALYST, OTHER_MANAGER, Principal(subject="x", roles=("sales_manager",))],
    ids=["store-finance", "hq-analyst", "other-store-manager", "sales-manager"],
)
def test_an_unauthorised_approver_is_refused_with_the_step_named(who: Principal) -> None:
    claim = submitted()
    with pytest.raises(Forbidden) as refused:
        claim.approve(who, at=AT, today=TODAY)
    assert "Your role cannot approve the store_manager step of this claim" in refused.value.detail
    assert claim.status is ClaimStatus.SUBMITTED and claim.version == 2


def test_nobody_approves_or_rejects_their_own_claim() -> None:
    claim = submitted(by=STORE_FINANCE)
    for act in (
        lambda: claim.approve(STORE_FINANCE, at=AT, today=TODAY),
        lambda: claim.reject(STORE_FINANCE, reason="oops", at=AT),
    ):
        with pytest.raises(Forbidden, match="nobody approves or rejects their own"):
            act()
    # An HQ administrator may pass any step, but also not of their own claim.
    own = draft(claimant=HQ_ADMIN.subject)
    own.submit(HQ_ADMIN, threshold_fen=THRESHOLD, at=AT)
    with pytest.raises(Forbidden, match="your own"):
        own.approve(HQ_ADMIN, at=AT, today=TODAY)


def test_one_person_passes_at_most_one_step_of_a_claim() -> None:
    claim = submitted(THRESHOLD * 2)
    claim.approve(HQ_ADMIN, at=AT, today=TODAY)
    with pytest.raises(Forbidden, match="already passed a step"):
        claim.approve(HQ_ADMIN, at=AT, today=TODAY)
    claim.approve(HQ_FINANCE, at=AT, today=TODAY)
    assert claim.status is ClaimStatus.APPROVED


# --- rejecting ---------------------------------------------------------------------------------


def test_rejection_needs_a_reason_and_is_final() -> None:
    claim = submitted(THRESHOLD * 2)
    claim.approve(MANAGER, at=AT, today=TODAY)
    with pytest.raises(InvalidInput, match="Say why"):
        claim.reject(HQ_FINANCE, reason="   ", at=AT)
    with pytest.raises(Forbidden, match="cannot approve the hq_finance step"):
        claim.reject(STORE_FINANCE, reason="no", at=AT)
    claim.reject(HQ_FINANCE, reason=" 发票抬头错误 ", at=AT)
    assert claim.status is ClaimStatus.REJECTED and claim.pending_steps == []
    assert claim.rejection_reason == "发票抬头错误" and claim.rejected_by == "hq.finance"
    rejected = [e for e in claim.pull_events() if isinstance(e, ClaimRejected)]
    assert rejected and rejected[0].reason == "发票抬头错误"

    with pytest.raises(Conflict, match="already rejected"):
        claim.approve(HQ_ADMIN, at=AT, today=TODAY)
    with pytest.raises(Conflict, match="Copy it into a new draft"):
        claim.edit(CLAIMANT, today=TODAY, amount_fen=1)

    with pytest.raises(Forbidden, match="Only the claimant"):
        claim.copy_as_draft(MANAGER, claim_id="EXP-2", today=TODAY)
    again = claim.copy_as_draft(CLAIMANT, claim_id="EXP-2", today=TODAY)
    assert again.status is ClaimStatus.DRAFT and again.copied_from == "EXP-1"
    assert (again.amount_fen, again.claimant, again.version) == (THRESHOLD * 2, CLAIMANT.subject, 1)
    with pytest.raises(Conflict, match="only a rejected claim is copied"):
        again.copy_as_draft(CLAIMANT, claim_id="EXP-3", today=TODAY)


# --- paying ------------------------------------------------------------------------------------


def approved(amount: int = 86_000) -> ExpenseClaim:
    claim = submitted(amount)
    claim.approve(MANAGER, at=AT, today=TODAY)
    return claim


def test_paying_by_bank_posts_payable_against_bank_with_the_reference() -> None:
    claim = approved()
    claim.pay(
        STORE_FINANCE,
        method="bank_transfer",
        bank_reference="ICBC-7788",
        paid_on=TODAY,
        today=TODAY,
        at=AT,
    )
    assert claim.status is ClaimStatus.PAID and claim.paid_by == "sh.finance"
    assert isinstance(claim.pull_events()[-1], ClaimPaid)
    entry = rules.claim_paid(claim, actor="sh.finance").checked()
    assert entry.source_event_id == "expense:EXP-1:paid"
    assert [(ln.account, ln.debit, ln.credit, ln.memo) for ln in entry.lines] == [
        (EMPLOYEE_CLAIMS_PAYABLE, 86_000, 0, ""),
        (BANK, 0, 86_000, "ICBC-7788"),
    ]
    with pytest.raises(Conflict, match="already paid"):
        claim.pay(
            STORE_FINANCE, method="cash", bank_reference="", paid_on=TODAY, today=TODAY, at=AT
        )


def test_paying_cash_credits_the_till() -> None:
    claim = approved()
    claim.pay(MANAGER, method="cash", bank_reference="", paid_on=TODAY, today=TODAY, at=AT)
    entry = rules.claim_paid(claim, actor="sh.manager").checked()
    assert entry.lines[1].account == CASH


def test_what_cannot_be_paid() -> None:
    waiting = submitted(THRESHOLD * 2)
    with pytest.raises(Conflict, match="waiting on the store_manager step"):
        waiting.pay(
            STORE_FINANCE, method="cash", bank_reference="", paid_on=TODAY, today=TODAY, at=AT
        )
    claim = approved()
    bad: list[tuple[Principal, dict[str, object], type[Exception], str]] = [
        (CLAIMANT, {}, Forbidden, "your own"),
        (STORE_FINANCE, {"method": "cheque"}, InvalidInput, "Unknown payment method"),
        (STORE_FINANCE, {"bank_reference": ""}, InvalidInput, "bank's transaction reference"),
        (STORE_FINANCE, {"paid_on": date(2026, 11, 4)}, InvalidInput, "after today"),
        (STORE_FINANCE, {"paid_on": date(2026, 11, 2)}, InvalidInput, "before the claim was"),
    ]
    for who, change, error, needle in bad:
        kwargs: dict[str, object] = {
            "method": "bank_transfer",
            "bank_reference": "REF",
            "paid_on": TODAY,
            "today": TODAY,
            "at": AT,
        }
        kwargs.update(change)
        with pytest.raises(error, match=needle):
            claim.pay(who, **kwargs)  # type: ignore[arg-type]
    assert claim.status is ClaimStatus.APPROVED and claim.version == 3


# --- drafts and impossible moves ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"amount": 0}, "more than zero"),
        ({"amount": 12.5}, "whole number of fen"),
        ({"amount": MAX_CLAIM_FEN + 1}, "at most 1,000,000.00 CNY"),
        ({"description": "  "}, "Say what the money was spent on"),
        ({"incurred_on": date(2026, 11, 4)}, "after today"),
        ({"category": "golf"}, "Unknown expense category"),
        ({"receipt_number": "9" * 61}, "at most 60"),
    ],
)
def test_a_draft_refuses_bad_fields(change: dict[str, object], needle: str) -> None:
    amount = change.pop("amount", 86_000)
    with pytest.raises(InvalidInput, match=needle):
        draft(amount, **change)  # type: ignore[arg-type]


def test_only_the_claimant_edits_and_submits_their_draft_and_only_once() -> None:
    claim = draft()
    with pytest.raises(Forbidden, match="Only the claimant"):
        claim.edit(MANAGER, today=TODAY, amount_fen=1)
    claim.edit(CLAIMANT, today=TODAY, amount_fen=90_000, category="office")
    assert (claim.amount_fen, claim.expense_account, claim.version) == (90_000, "6602.02", 2)
    with pytest.raises(Forbidden, match="Only the claimant"):
        claim.submit(MANAGER, threshold_fen=THRESHOLD, at=AT)
    with pytest.raises(Conflict, match="still a draft"):
        claim.approve(MANAGER, at=AT, today=TODAY)
    claim.submit(CLAIMANT, threshold_fen=THRESHOLD, at=AT)
    with pytest.raises(Conflict, match="only a draft can be submitted"):
        claim.submit(CLAIMANT, threshold_fen=THRESHOLD, at=AT)
    with pytest.raises(Conflict, match="only a draft can be edited"):
        claim.edit(CLAIMANT, today=TODAY, amount_fen=1)


def test_every_category_posts_to_a_leaf_expense_account_of_the_template() -> None:
    assert set(EXPENSE_ACCOUNT) == set(ExpenseCategory)
    codes = set(TEMPLATE_BY_CODE)
    for category, code in EXPENSE_ACCOUNT.items():
        assert code in codes, category
        assert code.split(".")[0] in ("6601", "6602"), category
        assert not any(c.startswith(code + ".") for c in codes), f"{code} is not a leaf"
