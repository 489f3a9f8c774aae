"""Expense-claim events against their golden fixtures (DESIGN.md §4).

Producer side: what `expense_events.to_outgoing` + `wrap` emit today has the fixture's envelope
keys, the same `data` shape, type and routing key. Consumer side: every fixture parses into its
proto class. The fixtures are written by this module, from the reference claim below, with fixed
ids and times; after an intended change regenerate them and review the diff:

    .venv/bin/python services/finance/tests/unit/test_fin_expense_events.py
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

import pytest

from marque.finance.v1 import events_pb2
from marque_finance.domain.expenses import ClaimEvent, ExpenseClaim
from marque_finance.expense_events import to_outgoing
from marque_kit.auth import Principal
from marque_kit.context import correlation_id_var, traceparent_var
from marque_kit.db import OutgoingEvent
from marque_kit.envelope import Envelope, wrap

ROOT = Path(__file__).resolve().parents[4]
FIXTURES = ROOT / "tests" / "contract" / "fixtures"
EVENTS_PROTO = ROOT / "protos" / "marque" / "finance" / "v1" / "events.proto"
SOURCE = "marque/finance"
TYPE_PREFIX = "marque.finance.v1."
ID_NAMESPACE = uuid.UUID("0b7f4c52-3d7e-4a0c-9a55-5e2f1c0d8e21")
FIXED_TIME = datetime(2026, 11, 3, 2, 15, 7, 250000, tzinfo=UTC)
CORRELATION = "3c9d2e7f1a6b4c8d9e0f1a2b3c4d5e6f"
TRACEPARENT = "00-7a3c5e9b1d2f4a6c8e0b2d4f6a8c0e2b-1f3e5d7c9b0a2e4d-01"
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

    paid = new(f"EXP-{uuid.uuid5(ID_NAMESPACE, f'paid-{variant}').hex}", 1_268_000 + variant)
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
    rejected = new(f"EXP-{uuid.uuid5(ID_NAMESPACE, f'rejected-{variant}').hex}", 688_000)
    rejected.submit(claimant, threshold_fen=500_000, at=at)
    rejected.approve(manager, at=at, today=today)
    rejected.reject(hq, reason="招待费超出季度预算, 请附审批单后重新提交", at=at)
    # Submitted, approved (store step), approved (HQ step), paid; then the rejected one's
    # submitted, approved, rejected: keep one of each type, the final approval for "approved".
    events = paid.pull_events()
    return [events[0], events[2], rejected.pull_events()[2], events[3]]


@contextmanager
def request_context(
    correlation: str = CORRELATION, traceparent: str = TRACEPARENT
) -> Iterator[None]:
    tokens = (correlation_id_var.set(correlation), traceparent_var.set(traceparent))
    try:
        yield
    finally:
        correlation_id_var.reset(tokens[0])
        traceparent_var.reset(tokens[1])


def produce(
    event: ClaimEvent, *, event_id: str | None = None, time: datetime | None = None
) -> tuple[OutgoingEvent, Envelope]:
    """The producer's path (as `marque_kit.db.write_outbox` takes it): map, then wrap."""
    out = to_outgoing(event)
    envelope = wrap(
        out.message,
        source=SOURCE,
        subject=out.subject,
        store=out.store_id,
        seq=out.seq,
        event_id=event_id,
        time=time,
    )
    return out, envelope


def fixture_path(event_type: str) -> Path:
    return FIXTURES / f"{event_type}.json"


def render(envelope: Envelope) -> str:
    return json.dumps(envelope.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def generate() -> dict[Path, str]:
    files: dict[Path, str] = {}
    with request_context():
        for event in reference_events(0):
            out = to_outgoing(event)
            name = out.message.DESCRIPTOR.name
            _, envelope = produce(
                event, event_id=str(uuid.uuid5(ID_NAMESPACE, name)), time=FIXED_TIME
            )
            files[fixture_path(envelope.type)] = render(envelope)
    return files


def routing_keys_in_proto() -> dict[str, str]:
    found = re.findall(
        r"//\s*Routing key:\s*(\S+)\s*\n\s*message\s+(\w+)", EVENTS_PROTO.read_text("utf-8")
    )
    return {message: key for key, message in found}


def shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: shape(item) for key, item in sorted(value.items())}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


PRODUCED = reference_events(variant=1)


def test_every_expense_claim_event_type_has_a_reference_example() -> None:
    names = sorted(to_outgoing(e).message.DESCRIPTOR.name for e in PRODUCED)
    assert names == sorted(ALL_TYPES)


@pytest.mark.parametrize("event", PRODUCED, ids=lambda e: type(e).__name__)
def test_producer_emits_the_fixture_shape(event: ClaimEvent) -> None:
    with request_context(
        correlation="77aa", traceparent="00-" + "ef" * 16 + "-" + "12" * 8 + "-01"
    ):
        out, envelope = produce(event)
    path = fixture_path(envelope.type)
    assert path.exists(), f"no golden fixture for {envelope.type}; regenerate them"
    fixture = json.loads(path.read_text("utf-8"))
    emitted = envelope.to_dict()
    assert sorted(emitted) == sorted(fixture)
    assert shape(emitted["data"]) == shape(fixture["data"])
    assert emitted["type"] == fixture["type"] == TYPE_PREFIX + out.message.DESCRIPTOR.name
    assert emitted["source"] == fixture["source"] == SOURCE
    assert emitted["subject"] == out.subject == event.claim.claim_id
    assert emitted["marquestore"] == event.claim.store_id == "HZ01"
    assert emitted["marqueseq"] == event.claim.version
    assert routing_keys_in_proto()[out.message.DESCRIPTOR.name] == out.routing_key


def test_fixtures_are_what_the_producer_emits_for_the_reference_claim() -> None:
    for path, text in generate().items():
        assert path.read_text("utf-8") == text, f"{path.name} is stale; regenerate the fixtures"


@pytest.mark.parametrize("name", ALL_TYPES)
def test_consumer_parses_the_fixture(name: str) -> None:
    path = fixture_path(TYPE_PREFIX + name)
    envelope = Envelope.from_json(path.read_bytes())
    message = envelope.parse(getattr(events_pb2, name))
    assert envelope.source == SOURCE and envelope.store == "SH01"
    assert message.claim.claim_id == envelope.subject
    assert message.claim.version == envelope.seq
    assert message.claim.amount.currency_code == "CNY"
    assert message.occurred_at.ToDatetime().year == 2026


def test_the_fixtures_tell_the_claims_story() -> None:
    def data(name: str) -> dict[str, Any]:
        body: dict[str, Any] = json.loads(fixture_path(TYPE_PREFIX + name).read_text("utf-8"))
        return dict(body["data"])

    assert data("ExpenseClaimSubmitted")["claim"]["pendingSteps"] == ["store_manager", "hq_finance"]
    approved = data("ExpenseClaimApproved")
    assert approved["step"] == "hq_finance" and approved["claim"]["status"] == "approved"
    assert approved["actor"] == "demo-hq-finance"
    assert data("ExpenseClaimRejected")["reason"].startswith("招待费")
    assert data("ExpenseClaimPaid")["paidOn"] == "2026-11-03"


if __name__ == "__main__":
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for file, text in generate().items():
        file.write_text(text, encoding="utf-8")
        print(f"wrote {file.relative_to(ROOT)}")
