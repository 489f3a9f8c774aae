"""Expense-claim events against their golden fixtures (DESIGN.md §4).

Producer side: what `expense_events.to_outgoing` + `wrap` emit today has the fixture's envelope
keys, the same `data` shape, type and routing key. Consumer side: every fixture parses into its
proto class. The fixtures are written by this module, from the reference claim below, with fixed
ids and times (`marque_kit.testing.golden`); after an intended change regenerate them and review
the diff:

    .venv/bin/python services/finance/tests/unit/test_fin_expense_events.py
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from marque.finance.v1 import events_pb2
from marque_finance.domain.expenses import ClaimEvent, ExpenseClaim
from marque_finance.expense_events import to_outgoing
from marque_kit.auth import Principal
from marque_kit.testing.golden import Golden, message_names

GOLDEN = Golden(
    events_pb2,
    __file__,
    id_namespace=uuid.UUID("0b7f4c52-3d7e-4a0c-9a55-5e2f1c0d8e21"),
    fixed_time=datetime(2026, 11, 3, 2, 15, 7, 250000, tzinfo=UTC),
    correlation="3c9d2e7f1a6b4c8d9e0f1a2b3c4d5e6f",
    traceparent="00-7a3c5e9b1d2f4a6c8e0b2d4f6a8c0e2b-1f3e5d7c9b0a2e4d-01",
)
ALL_TYPES = (
    "ExpenseClaimSubmitted",
    "ExpenseClaimApproved",
    "ExpenseClaimRejected",
    "ExpenseClaimPaid",
)


def reference_events(variant: int = 0) -> list[ClaimEvent]:
    """Realistic events: a large claim through both steps and paid; another rejected by HQ."""
    store = ("SH01", "HZ01")[variant]
    # Subjects are gateway user ids (the demo users' here).
    city = store[:2].lower()
    claimant = Principal(subject=f"demo-{city}-consultant", roles=("sales_consultant",))
    manager = Principal(
        subject=f"{store.lower()}.manager", roles=("store_manager",), stores=(store,)
    )
    hq = Principal(subject="demo-hq-finance", roles=("hq_finance",), stores=("*",))
    finance = Principal(subject=f"demo-{city}-finance", roles=("finance",), stores=(store,))
    at = datetime(2026, 11, 3, 1, 0, tzinfo=UTC)
    today = date(2026, 11, 3)

    def new(claim_id: str, amount: int) -> ExpenseClaim:
        return ExpenseClaim.draft(
            claim_id=claim_id,
            store_id=store,
            claimant=claimant.subject,
            category=("entertainment", "travel")[variant],
            amount_fen=amount,
            description="车展客户接待晚宴 8 人",
            incurred_on=date(2026, 10, 30),
            today=today,
            receipt_number="044031900111-08123456",
        )

    paid = new(f"EXP-{GOLDEN.uuid('paid', variant).hex}", 1_268_000 + variant)
    paid.submit(claimant, threshold_fen=500_000, at=at)
    paid.approve(manager, at=at, today=today)
    paid.approve(hq, at=at, today=today)
    paid.pay(
        finance,
        method="bank_transfer",
        bank_reference="ICBC20261103000123",
        paid_on=today,
        today=today,
        at=at,
    )
    rejected = new(f"EXP-{GOLDEN.uuid('rejected', variant).hex}", 688_000)
    rejected.submit(claimant, threshold_fen=500_000, at=at)
    rejected.approve(manager, at=at, today=today)
    rejected.reject(hq, reason="招待费超出季度预算, 请附审批单后重新提交", at=at)
    # Submitted, approved (store step), approved (HQ step), paid; then the rejected one's
    # submitted, approved, rejected: keep one of each type, the final approval for "approved".
    events = paid.pull_events()
    return [events[0], events[2], rejected.pull_events()[2], events[3]]


PRODUCED = reference_events(variant=1)


def test_every_expense_claim_event_type_has_a_reference_example() -> None:
    assert message_names(map(to_outgoing, PRODUCED)) == sorted(ALL_TYPES)


@pytest.mark.parametrize("event", PRODUCED, ids=lambda e: type(e).__name__)
def test_producer_emits_the_fixture_shape(event: ClaimEvent) -> None:
    out = to_outgoing(event)
    emitted = GOLDEN.check_producer(out)
    assert emitted["subject"] == event.claim.claim_id
    assert emitted["marquestore"] == event.claim.store_id == "HZ01"
    assert emitted["marqueseq"] == event.claim.version


def test_fixtures_are_what_the_producer_emits_for_the_reference_claim() -> None:
    GOLDEN.check_up_to_date(map(to_outgoing, reference_events(0)))


@pytest.mark.parametrize("name", ALL_TYPES)
def test_consumer_parses_the_fixture(name: str) -> None:
    envelope, message = GOLDEN.parse(name)
    assert envelope.store == "SH01"
    assert message.claim.claim_id == envelope.subject
    assert message.claim.version == envelope.seq
    assert message.claim.amount.currency_code == "CNY"
    assert message.occurred_at.ToDatetime().year == 2026


def test_the_fixtures_tell_the_claims_story() -> None:
    data = GOLDEN.data
    assert data("ExpenseClaimSubmitted")["claim"]["pendingSteps"] == ["store_manager", "hq_finance"]
    approved = data("ExpenseClaimApproved")
    assert approved["step"] == "hq_finance" and approved["claim"]["status"] == "approved"
    assert approved["actor"] == "demo-hq-finance"
    assert data("ExpenseClaimRejected")["reason"].startswith("招待费")
    assert data("ExpenseClaimPaid")["paidOn"] == "2026-11-03"


if __name__ == "__main__":
    GOLDEN.write(map(to_outgoing, reference_events(0)))
