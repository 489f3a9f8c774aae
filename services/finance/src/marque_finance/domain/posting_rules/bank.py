"""Statement lines explained without a document (bank fees, interest, charges the bank takes).

A person looking at the reconciliation exceptions says what a line is and which account it goes
to; the line is then posted against the bank account:

- money out (a negative statement line, e.g. a 手续费 bank fee): Dr <account> / Cr 1002;
- money in (a positive line, e.g. 利息收入 interest): Dr 1002 / Cr <account> — interest income is
  a credit to 6603 财务费用 under the Chinese chart.

The bank-side line carries the bank's reference in its memo, like every receipt and payment. The
entry's source is the statement line (`bank_statement_line`, its id) and its source event id is
`bank-line:<id>`, so a line is posted at most once however often the request is repeated.
"""

from __future__ import annotations

from datetime import date

from marque_finance.domain.accounts import BANK
from marque_finance.domain.ledger import EntryDraft, credit, debit
from marque_kit.errors import InvalidInput

SOURCE_TYPE = "bank_statement_line"
RULE = "bank.explain"


def source_event_id(line_id: int) -> str:
    return f"bank-line:{line_id}"


def is_bank_account(code: str) -> bool:
    return code == BANK or code.startswith(BANK + ".")


def explanation_entry(
    *,
    store_id: str,
    line_id: int,
    value_date: date,
    amount_fen: int,
    reference: str,
    counterparty: str,
    account_code: str,
    reason: str,
    actor: str,
) -> EntryDraft:
    """The entry that books an explained statement line against `account_code`."""
    why = reason.strip()
    if not why:
        raise InvalidInput(
            "Say what the line is (e.g. 'bank fee 手续费'): the reason goes into the entry.",
            errors=[{"field": "reason", "rule": "required"}],
        )
    code = account_code.strip()
    if is_bank_account(code):
        raise InvalidInput(
            f"Account {code} is the bank account itself; name the account the money came from "
            "or went to (e.g. 6603 财务费用 for a bank fee or interest).",
            errors=[{"field": "account_code", "rule": "not_bank"}],
        )
    if amount_fen == 0:
        raise InvalidInput("A statement line of zero moves no money; nothing to post.")
    amount = abs(amount_fen)
    party = counterparty.strip()[:80]  # the ledger keeps 80 characters of a party's name
    if amount_fen > 0:
        lines = (
            debit(BANK, amount, memo=reference, party=party),
            credit(code, amount, party=party),
        )
    else:
        lines = (
            debit(code, amount, party=party),
            credit(BANK, amount, memo=reference, party=party),
        )
    return EntryDraft(
        store_id=store_id,
        entry_date=value_date,
        description=f"Bank statement line {reference or line_id}: {why}",
        source_type=SOURCE_TYPE,
        source_id=str(line_id),
        lines=lines,
        source_event_id=source_event_id(line_id),
        rule=RULE,
        created_by=actor,
    )
