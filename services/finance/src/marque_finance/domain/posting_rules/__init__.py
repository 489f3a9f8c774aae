"""Posting rules: which business fact becomes which journal entry (业务财务一体化).

Each rule is a pure function from a business fact to `EntryDraft`s, tested entry by entry. Read
them as the bookkeeper's rulebook:

- `inventory`: vehicles and parts received, transfers shipped/received, parts consumed, vehicles
  delivered (cost of sale);
- `money_in`: customer invoices (VAT split), receipts, applying receipts to invoices, refunds;
- `money_out`: payable payments, floor-plan drawdown, payoff and monthly interest;
- `expenses`: approved and paid expense claims;
- `bank`: statement lines explained without a document (bank fees, interest).

Conventions: the bank-side line (account 1002) carries the bank's transaction reference in `memo`
and the entry's `source_id` names the document, so that reconciliation can match statement lines
to the bank book.
"""
