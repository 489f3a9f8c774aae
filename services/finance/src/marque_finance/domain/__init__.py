"""Finance's rulebook: pure Python, no FastAPI, SQLModel or aio-pika.

- `money`: fen, VAT splits (13%), rounding;
- `accounts`: the group's chart-of-accounts template (企业会计准则 codes);
- `ledger`: journal lines and entries, the balance rule, periods;
- `posting_rules`: which business event becomes which entry.
"""
