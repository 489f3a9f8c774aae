"""Expense claims (报销) in the books.

- Approved (the last approval step passed), dated the approval's business date:
      Dr 6601.xx / 6602.xx  the category's expense account     amount
      Cr 2241.01            other payables: employee claims    amount   (party = the claimant)
  The cost belongs to the store the claim was filed for; the claimant is owed the money.
- Paid, dated the payment's business date:
      Dr 2241.01            other payables: employee claims    amount   (party = the claimant)
      Cr 1002 bank (memo = the bank's transaction reference) or 1001 cash   amount

Source keys `expense:<id>:approved` and `expense:<id>:paid` make each posting happen once, however
often the command is retried.
"""

from __future__ import annotations

from marque_finance.domain.accounts import BANK, CASH, EMPLOYEE_CLAIMS_PAYABLE
from marque_finance.domain.expenses import ExpenseClaim, PaymentMethod
from marque_finance.domain.ledger import EntryDraft, credit, debit
from marque_finance.domain.money import format_yuan
from marque_kit.errors import Conflict

SOURCE_TYPE = "expense_claim"
RULE_APPROVED = "expense_claim_approved"
RULE_PAID = "expense_claim_paid"


def approved_key(claim_id: str) -> str:
    return f"expense:{claim_id}:approved"


def paid_key(claim_id: str) -> str:
    return f"expense:{claim_id}:paid"


def claim_approved(claim: ExpenseClaim, *, actor: str) -> EntryDraft:
    """The cost and the debt to the claimant, once the claim is approved."""
    if claim.approved_on is None:
        raise Conflict(f"Claim {claim.id} is {claim.status.value}; only an approved claim posts.")
    return EntryDraft(
        store_id=claim.store_id,
        entry_date=claim.approved_on,
        description=(
            f"报销 Expense claim {claim.id} ({claim.category.value}, {claim.claimant}): "
            f"{claim.description}"
        )[:500],
        source_type=SOURCE_TYPE,
        source_id=claim.id,
        source_event_id=approved_key(claim.id),
        rule=RULE_APPROVED,
        created_by=actor,
        lines=(
            debit(claim.expense_account, claim.amount_fen, memo=claim.receipt_number),
            credit(EMPLOYEE_CLAIMS_PAYABLE, claim.amount_fen, party=claim.claimant),
        ),
    )


def claim_paid(claim: ExpenseClaim, *, actor: str) -> EntryDraft:
    """The claimant is paid: the debt goes, the money leaves the bank (or the till)."""
    if claim.paid_on is None or claim.payment_method is None:
        raise Conflict(
            f"Claim {claim.id} is {claim.status.value}; only a paid claim posts a payment."
        )
    by_bank = claim.payment_method is PaymentMethod.BANK_TRANSFER
    return EntryDraft(
        store_id=claim.store_id,
        entry_date=claim.paid_on,
        description=(
            f"报销付款 Expense claim {claim.id} paid to {claim.claimant} "
            f"({format_yuan(claim.amount_fen)} CNY, {claim.payment_method.value})"
        ),
        source_type=SOURCE_TYPE,
        source_id=claim.id,
        source_event_id=paid_key(claim.id),
        rule=RULE_PAID,
        created_by=actor,
        lines=(
            debit(EMPLOYEE_CLAIMS_PAYABLE, claim.amount_fen, party=claim.claimant),
            credit(
                BANK if by_bank else CASH,
                claim.amount_fen,
                party=claim.claimant,
                memo=claim.bank_reference,
            ),
        ),
    )
