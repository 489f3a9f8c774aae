"""Bank reconciliation over HTTP against the real database: a statement with exact, fuzzy and
unmatched lines; re-import; overlap; explaining a fee; manual match and unmatch; rematch after a
late receipt; store scoping; malformed files."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import httpx
from sqlalchemy import func, select, text
from sqlmodel import col

from marque_finance import books
from marque_finance.domain.accounts import AP_SUPPLIERS, BANK, CUSTOMER_ADVANCES
from marque_finance.domain.ledger import EntryDraft, credit, debit
from marque_finance.models import BankStatementLine, JournalLine
from marque_finance.unit_of_work import Finance

BASE = "/api/v1/finance/bank"


async def bank_book_entry(
    finance: Finance,
    store: str,
    key: str,
    day: date,
    fen: int,
    *,
    memo: str = "",
    kind: str = "receipt",
) -> tuple[str, int]:
    """A receipt (money in, fen > 0) or payment (fen < 0) as it lands in the bank book:
    (entry id, id of its line on 1002)."""
    if fen > 0:
        lines = (debit(BANK, fen, memo=memo), credit(CUSTOMER_ADVANCES, fen))
    else:
        lines = (debit(AP_SUPPLIERS, -fen), credit(BANK, -fen, memo=memo))
    draft = EntryDraft(
        store_id=store,
        entry_date=day,
        description=f"test {kind} {key}",
        source_type=kind,
        source_id=key,
        source_event_id=f"{kind}:{key}",
        rule=f"test.{kind}",
        lines=lines,
    )
    async with finance.uow() as uow:
        posted = await books.post(uow.session, draft)
        assert posted is not None
        line_id = (
            await uow.session.execute(
                select(col(JournalLine.id)).where(
                    col(JournalLine.entry_id) == posted.id, col(JournalLine.account_code) == BANK
                )
            )
        ).scalar_one()
        await uow.commit()
    assert line_id is not None
    return posted.id, line_id


async def upload(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    store: str,
    data: bytes,
    *,
    name: str = "statement.csv",
    account: str = "ICBC 1001",
) -> httpx.Response:
    return await client.post(
        f"{BASE}/statements",
        files={"file": (name, data, "text/csv")},
        data={"store_id": store, "bank_account": account},
        headers=headers,
    )


async def lines_of(
    client: httpx.AsyncClient, headers: dict[str, str], statement_id: str
) -> dict[str, dict[str, Any]]:
    r = await client.get(f"{BASE}/statements/{statement_id}/lines", headers=headers)
    assert r.status_code == 200, r.text
    return {line["reference"]: line for line in r.json()["items"]}


async def act(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    line_id: int,
    action: str,
    body: dict[str, Any] | None = None,
) -> httpx.Response:
    current = await client.get(f"{BASE}/lines/{line_id}", headers=headers)
    assert current.status_code == 200, current.text
    return await client.post(
        f"{BASE}/lines/{line_id}/{action}",
        json=body,
        headers={**headers, "If-Match": current.headers["ETag"]},
    )


async def store_line_count(finance: Finance, store: str) -> int:
    async with finance.db.session() as session:
        count = await session.execute(
            select(func.count()).where(col(BankStatementLine.store_id) == store)
        )
        return int(count.scalar_one())


STATEMENT = (
    "交易日期,收入,支出,交易参考号,对方户名,摘要\n"
    '2026-11-04,"5,000.00",,WX20261103001,张三,定金\n'  # exact: memo of receipt A
    "2026-11-06,8000.00,,SN88812,李四,转账\n"  # fuzzy: receipt B, one day apart
    "2026-11-07,,3000.00,PAY-BNK1-77,上海配件有限公司,货款\n"  # exact: payment C
    "2026-11-11,1200.00,,SN88813,王五,转账\n"  # two receipts equally close: exception
    "2026-11-08,,35.00,FEE001,,手续费\n"  # a bank fee: no document
    "2026-11-20,2000.00,,SN88814,赵六,转账\n"  # receipt F is 5 days away: exception
    "2026-11-15,4500.00,,WX20261115009,钱七,定金\n"  # its receipt is posted late
)


async def test_reconcile_a_statement_end_to_end(
    client: httpx.AsyncClient,
    finance: Finance,
    as_user: Callable[..., dict[str, str]],
) -> None:
    store = "BNK1"
    staff = as_user("finance", store, sub="bnk1.finance")
    entry_a, book_a = await bank_book_entry(
        finance, store, "RC-BNK1-0001", date(2026, 11, 3), 500_000, memo="WX20261103001"
    )
    _, book_b = await bank_book_entry(finance, store, "RC-BNK1-0002", date(2026, 11, 5), 800_000)
    _, book_c = await bank_book_entry(
        finance,
        store,
        "PM-BNK1-0077",
        date(2026, 11, 6),
        -300_000,
        memo="PAY-BNK1-77",
        kind="payment",
    )
    _, book_d1 = await bank_book_entry(finance, store, "RC-BNK1-0004", date(2026, 11, 10), 120_000)
    _, book_d2 = await bank_book_entry(finance, store, "RC-BNK1-0005", date(2026, 11, 12), 120_000)
    _, book_f = await bank_book_entry(finance, store, "RC-BNK1-0006", date(2026, 11, 25), 200_000)
    _, book_g = await bank_book_entry(finance, store, "RC-BNK1-0007", date(2026, 11, 20), 199_900)

    data = STATEMENT.encode("gbk")
    first = await upload(client, staff, store, data)
    assert first.status_code == 201, first.text
    statement = first.json()
    assert statement["rows_in_file"] == 7 and statement["lines_new"] == 7
    assert statement["counts"] == {
        "exact": 2,
        "fuzzy": 1,
        "manual": 0,
        "explained": 0,
        "unmatched": 4,
    }

    lines = await lines_of(client, staff, statement["id"])
    wx = lines["WX20261103001"]
    assert (wx["status"], wx["journal_line_id"], wx["entry_id"]) == ("exact", book_a, entry_a)
    assert wx["matched_with"]["source_type"] == "receipt"
    assert wx["matched_with"]["source_id"] == "RC-BNK1-0001"
    assert wx["amount_fen"] == 500_000 and wx["row_no"] == 2
    assert (lines["SN88812"]["status"], lines["SN88812"]["journal_line_id"]) == ("fuzzy", book_b)
    pay = lines["PAY-BNK1-77"]
    assert (pay["status"], pay["journal_line_id"], pay["amount_fen"]) == ("exact", book_c, -300_000)
    for ref in ("SN88813", "FEE001", "SN88814", "WX20261115009"):
        assert lines[ref]["status"] == "unmatched" and lines[ref]["journal_line_id"] is None

    # The same file again: the same statement, and nothing changes.
    again = await upload(client, staff, store, data, name="renamed.csv")
    assert again.status_code == 200, again.text
    assert again.json()["id"] == statement["id"]
    assert again.json()["counts"] == statement["counts"]
    assert await store_line_count(finance, store) == 7

    # An overlapping statement adds only its new line.
    overlap = (
        "date,amount,reference,counterparty,description\n"
        "2026-11-04,5000.00,WX20261103001,张三,定金 (again)\n"
        "2026-11-28,-12.00,FEE002,,短信费\n"
    ).encode()
    second = await upload(client, staff, store, overlap)
    assert second.status_code == 201, second.text
    assert (second.json()["lines_new"], second.json()["lines_already_imported"]) == (1, 1)
    assert second.json()["counts"]["unmatched"] == 1
    assert await store_line_count(finance, store) == 8

    # The exceptions, with reasons.
    r = await client.get(f"{BASE}/exceptions", params={"store_id": store}, headers=staff)
    assert r.status_code == 200, r.text
    exceptions = {e["line"]["reference"]: e for e in r.json()["items"]}
    assert set(exceptions) == {"SN88813", "FEE001", "SN88814", "WX20261115009", "FEE002"}
    several = exceptions["SN88813"]
    assert several["reason"] == "several_candidates"
    assert {c["journal_line_id"] for c in several["candidates"]} == {book_d1, book_d2}
    assert exceptions["FEE001"]["reason"] == "no_candidate"
    assert "-35.00 CNY" in exceptions["FEE001"]["message"]
    assert exceptions["SN88814"]["reason"] == "no_candidate"

    # Explain the bank fee: an entry Dr 6603 / Cr 1002 on the line's date.
    fee_id = exceptions["FEE001"]["line"]["id"]
    r = await act(
        client, staff, fee_id, "explain", {"reason": "手续费 bank fee", "account_code": "6603"}
    )
    assert r.status_code == 200, r.text
    explained = r.json()
    assert explained["status"] == "explained" and explained["explained_account"] == "6603"
    assert explained["matched_with"]["source_type"] == "bank_statement_line"
    async with finance.db.session() as session:
        posted = await session.execute(
            select(
                col(JournalLine.account_code),
                col(JournalLine.debit_fen),
                col(JournalLine.credit_fen),
                col(JournalLine.entry_date),
            )
            .where(col(JournalLine.entry_id) == explained["entry_id"])
            .order_by(col(JournalLine.line_no))
        )
        assert [tuple(p) for p in posted] == [
            ("6603", 3500, 0, date(2026, 11, 8)),
            (BANK, 0, 3500, date(2026, 11, 8)),
        ]
    r = await act(client, staff, fee_id, "explain", {"reason": "again", "account_code": "6603"})
    assert r.status_code == 409
    r = await act(client, staff, fee_id, "unmatch")
    assert r.status_code == 409 and "reversing that entry" in r.json()["detail"]

    # Manual match: amounts must agree, a bank-book line pairs once.
    sn14 = exceptions["SN88814"]["line"]["id"]
    r = await act(client, staff, sn14, "match", {"journal_line_id": book_g})
    assert r.status_code == 409 and "amounts differ" in r.json()["detail"]
    r = await act(client, staff, sn14, "match", {"journal_line_id": book_a})
    assert r.status_code == 409 and "already matched" in r.json()["detail"]
    r = await act(client, staff, sn14, "match", {"journal_line_id": book_f})
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["journal_line_id"]) == ("manual", book_f)
    assert r.json()["matched_by"] == "bnk1.finance"
    r = await act(client, staff, sn14, "match", {"journal_line_id": book_f})
    assert r.status_code == 409
    stale = await client.post(f"{BASE}/lines/{sn14}/unmatch", headers={**staff, "If-Match": '"1"'})
    assert stale.status_code == 412

    # Undo the fuzzy guess: the line is open again and auto-match will not propose that pair.
    fuzzy_id = lines["SN88812"]["id"]
    r = await act(client, staff, fuzzy_id, "unmatch")
    assert r.status_code == 200 and r.json()["status"] == "unmatched"
    r = await client.post(f"{BASE}/statements/{statement['id']}/rematch", headers=staff)
    assert r.status_code == 200 and r.json()["matched_now"] == 0

    # The late receipt arrives; rematch finds it, and a second rematch changes nothing.
    await bank_book_entry(
        finance, store, "RC-BNK1-0008", date(2026, 11, 14), 450_000, memo="WX20261115009"
    )
    r = await client.get(f"{BASE}/exceptions", params={"store_id": store}, headers=staff)
    late = next(e for e in r.json()["items"] if e["line"]["reference"] == "WX20261115009")
    assert late["reason"] == "one_candidate"
    r = await client.post(f"{BASE}/statements/{statement['id']}/rematch", headers=staff)
    assert r.status_code == 200, r.text
    assert r.json()["matched_now"] == 1
    counts = r.json()["counts"]
    assert counts == {"exact": 3, "fuzzy": 0, "manual": 1, "explained": 1, "unmatched": 2}
    r = await client.post(f"{BASE}/statements/{statement['id']}/rematch", headers=staff)
    assert r.json()["matched_now"] == 0 and r.json()["counts"] == counts

    r = await client.get(
        f"{BASE}/statements/{statement['id']}/lines", params={"status": "unmatched"}, headers=staff
    )
    assert {x["reference"] for x in r.json()["items"]} == {"SN88812", "SN88813"}

    # The bank book's open lines: what is in the books but on no statement yet.
    r = await client.get(f"{BASE}/book-lines", params={"store_id": store}, headers=staff)
    assert r.status_code == 200, r.text
    assert {b["journal_line_id"] for b in r.json()["items"]} == {book_b, book_d1, book_d2, book_g}

    r = await client.get(f"{BASE}/statements", params={"store_id": store}, headers=staff)
    assert [s["id"] for s in r.json()["items"]] == [second.json()["id"], statement["id"]]


async def test_other_stores_see_nothing(
    client: httpx.AsyncClient, as_user: Callable[..., dict[str, str]]
) -> None:
    owner = as_user("finance", "BNK2")
    other = as_user("finance", "BNK3")
    r = await upload(client, owner, "BNK2", b"date,amount,reference\n2026-11-02,-8.00,FEE9\n")
    assert r.status_code == 201, r.text
    statement_id = r.json()["id"]
    (line,) = (await lines_of(client, owner, statement_id)).values()

    assert (await client.get(f"{BASE}/statements/{statement_id}", headers=other)).status_code == 404
    r = await client.get(f"{BASE}/statements/{statement_id}/lines", headers=other)
    assert r.status_code == 404
    assert (await client.get(f"{BASE}/lines/{line['id']}", headers=other)).status_code == 404
    r = await client.post(
        f"{BASE}/lines/{line['id']}/explain",
        json={"reason": "fee", "account_code": "6603"},
        headers={**other, "If-Match": '"1"'},
    )
    assert r.status_code == 404
    r = await client.post(f"{BASE}/statements/{statement_id}/rematch", headers=other)
    assert r.status_code == 404
    r = await upload(client, other, "BNK2", b"date,amount\n2026-11-02,1.00\n")
    assert r.status_code == 404
    r = await client.get(f"{BASE}/exceptions", headers=other)
    assert all(e["line"]["store_id"] == "BNK3" for e in r.json()["items"])
    r = await client.get(f"{BASE}/statements", headers=other)
    assert statement_id not in {s["id"] for s in r.json()["items"]}
    keyed = {**owner, "Idempotency-Key": "bnk2-upload-2"}
    data = b"date,amount,reference\n2026-11-03,-9.00,FEE10\n"
    first, replay = (
        await upload(client, keyed, "BNK2", data),
        await upload(client, keyed, "BNK2", data),
    )
    assert (first.status_code, replay.status_code) == (201, 201)
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.json()["id"] == first.json()["id"]
    analyst = as_user("hq_analyst")
    r = await upload(client, analyst, "BNK2", b"date,amount\n2026-11-02,1.00\n")
    assert r.status_code == 403


async def test_malformed_statement_is_refused_whole(
    client: httpx.AsyncClient, finance: Finance, as_hq: dict[str, str]
) -> None:
    bad = (
        b"date,amount,reference\n"
        b"2026-11-03,100.00,OK1\n"
        b"2026-13-01,100.00,BADDATE\n"
        b"2026-11-04,1.005,BADAMOUNT\n"
    )
    r = await upload(client, as_hq, "BNK4", bad)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert [e["row"] for e in problem["errors"]] == [3, 4]
    assert "row 3:" in problem["detail"] and "nothing was imported" in problem["detail"]
    assert await store_line_count(finance, "BNK4") == 0
    async with finance.db.session() as session:
        statements = await session.execute(
            text("SELECT count(*) FROM bank_statements WHERE store_id = 'BNK4'")
        )
        assert statements.scalar_one() == 0

    r = await upload(client, as_hq, "BNK4", b"\xef\xbb\xbfjust,some,words\n")
    assert r.status_code == 422 and "No header row" in r.json()["detail"]
    r = await client.post(
        f"{BASE}/statements", data={"store_id": "BNK4"}, headers=as_hq
    )  # no file at all
    assert r.status_code == 422
