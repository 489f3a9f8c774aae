"""Expense-claim facts as proto events (`finance.expense.*`), for the outbox.

| domain event | proto | routing key |
|---|---|---|
| ClaimSubmitted | ExpenseClaimSubmitted | finance.expense.submitted |
| ClaimApproved (one step passed) | ExpenseClaimApproved | finance.expense.approved |
| ClaimRejected | ExpenseClaimRejected | finance.expense.rejected |
| ClaimPaid | ExpenseClaimPaid | finance.expense.paid |

subject = the claim id, marqueseq = the claim's version after the change. Drafts and their edits
publish nothing: a draft is the claimant's own business until it is submitted.
"""

from __future__ import annotations

from google.protobuf.message import Message

from marque.finance.v1 import events_pb2 as fev
from marque_finance.domain.expenses import (
    ClaimApproved,
    ClaimEvent,
    ClaimPaid,
    ClaimRejected,
    ClaimSnapshot,
    ClaimSubmitted,
)
from marque_finance.events import money, outgoing, timestamp
from marque_kit.db import OutgoingEvent


def snapshot(claim: ClaimSnapshot) -> fev.ExpenseClaimSnapshot:
    return fev.ExpenseClaimSnapshot(
        claim_id=claim.claim_id,
        store_id=claim.store_id,
        claimant=claim.claimant,
        category=claim.category,
        amount=money(claim.amount_fen),
        status=claim.status,
        pending_steps=list(claim.pending_steps),
        version=claim.version,
    )


def to_outgoing(event: ClaimEvent) -> OutgoingEvent:
    """The proto event, routing key, subject, store and sequence of one claim event."""
    claim = snapshot(event.claim)
    at = timestamp(event.at)
    if isinstance(event, ClaimSubmitted):
        message: Message = fev.ExpenseClaimSubmitted(occurred_at=at, claim=claim)
        key = "finance.expense.submitted"
    elif isinstance(event, ClaimApproved):
        message = fev.ExpenseClaimApproved(
            occurred_at=at, claim=claim, actor=event.actor, step=event.step.value
        )
        key = "finance.expense.approved"
    elif isinstance(event, ClaimRejected):
        message = fev.ExpenseClaimRejected(
            occurred_at=at, claim=claim, actor=event.actor, reason=event.reason
        )
        key = "finance.expense.rejected"
    elif isinstance(event, ClaimPaid):
        message = fev.ExpenseClaimPaid(
            occurred_at=at, claim=claim, actor=event.actor, paid_on=event.paid_on.isoformat()
        )
        key = "finance.expense.paid"
    else:  # pragma: no cover - the union is closed
        raise TypeError(f"not an expense-claim event: {event!r}")
    return outgoing(
        message,
        key,
        subject=event.claim.claim_id,
        store_id=event.claim.store_id,
        seq=event.claim.version,
    )
