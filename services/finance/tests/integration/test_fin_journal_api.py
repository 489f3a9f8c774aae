"""The journal and chart of accounts over HTTP: manual entries checked by the ledger's rules,
store scoping, reversals once, entries that never change, filters and pages."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from marque_finance.unit_of_work import Finance

Headers = dict[str, str]
JOURNAL = "/api/v1/finance/journal"


def unique(prefix: str) -> str:
    return prefix + uuid.uuid4().hex[:4].upper()


def entry_body(store: str, *lines: dict[str, Any], day: str = "2026-10-20") -> dict[str, Any]:
    return {
        "store_id": store,
        "entry_date": day,
        "description": "Reclassify showroom flowers from office supplies",
        "lines": list(lines),
    }


def dr(account: str, fen: float, **kw: Any) -> dict[str, Any]:
    return {"account": account, "debit_fen": fen, **kw}


def cr(account: str, fen: float, **kw: Any) -> dict[str, Any]:
    return {"account": account, "credit_fen": fen, **kw}


async def post_entry(
    client: httpx.AsyncClient, headers: Headers, body: dict[str, Any]
) -> httpx.Response:
    return await client.post(JOURNAL, json=body, headers=headers)


async def test_a_manual_entry_posts_with_its_lines_and_source(
    client: httpx.AsyncClient, as_user: Callable[..., Headers]
) -> None:
    store = unique("JM")
    staff = as_user("finance", store, sub="jm.finance")
    body = entry_body(
        store,
        dr("6601.01", 120_000, memo="flowers"),
        cr("6602.02", 120_000, memo="flowers"),
    )
    response = await post_entry(client, staff, body)
    assert response.status_code == 201, response.text
    entry = response.json()
    assert (entry["source_type"], entry["rule"], entry["created_by"]) == (
        "manual",
        "manual",
        "user:jm.finance",
    )
    assert entry["source_event_id"] == f"manual:{entry['source_id']}"
    assert entry["number"].startswith(f"JE-{store}-202610-")
    assert [(li["account"], li["debit_fen"], li["credit_fen"]) for li in entry["lines"]] == [
        ("6601.01", 120_000, 0),
        ("6602.02", 0, 120_000),
    ]
    assert entry["total_fen"] == 120_000 and entry["reversed_by"] is None

    read = await client.get(f"{JOURNAL}/{entry['id']}", headers=staff)
    assert read.status_code == 200 and read.json() == entry


async def test_an_unbalanced_or_unknown_account_entry_is_refused_with_the_reason(
    client: httpx.AsyncClient, as_user: Callable[..., Headers]
) -> None:
    store = unique("JU")
    staff = as_user("finance", store)

    unbalanced = await post_entry(
        client, staff, entry_body(store, dr("6602.02", 100_050), cr("1002", 100_000))
    )
    assert unbalanced.status_code == 422
    assert unbalanced.headers["content-type"].startswith("application/problem+json")
    problem = unbalanced.json()
    assert "differ by 0.50" in problem["detail"]
    assert problem["errors"][0]["difference_fen"] == 50

    unknown = await post_entry(
        client, staff, entry_body(store, dr("6602.77", 100), cr("1002", 100))
    )
    assert unknown.status_code == 422 and "6602.77" in unknown.json()["detail"]
    parent = await post_entry(client, staff, entry_body(store, dr("6602", 100), cr("1002", 100)))
    assert parent.status_code == 422 and "sub-account" in parent.json()["detail"]

    one_line = await post_entry(client, staff, entry_body(store, dr("6602.02", 100)))
    assert one_line.status_code == 422 and "two" in one_line.json()["detail"]
    both_sides = await post_entry(
        client,
        staff,
        entry_body(store, {"account": "6602.02", "debit_fen": 5, "credit_fen": 5}, cr("1002", 0)),
    )
    assert both_sides.status_code == 422
    fractional = await post_entry(
        client, staff, entry_body(store, dr("6602.02", 10.5), cr("1002", 10.5))
    )
    assert fractional.status_code == 422
    inter_store = await post_entry(
        client, staff, entry_body(store, dr("1901", 100), cr("1002", 100))
    )
    assert inter_store.status_code == 422 and "counterparty" in inter_store.json()["detail"]
    future = await post_entry(
        client, staff, entry_body(store, dr("6602.02", 1), cr("1002", 1), day="2099-01-01")
    )
    assert future.status_code == 422

    # Nothing of the refused entries reached the books.
    listed = await client.get(JOURNAL, params={"store_id": store}, headers=staff)
    assert listed.json()["items"] == []


async def test_another_stores_entry_is_not_found(
    client: httpx.AsyncClient, as_user: Callable[..., Headers]
) -> None:
    store, other = unique("JS"), unique("JO")
    entry = (
        await post_entry(
            client, as_user("finance", store), entry_body(store, dr("6602.02", 1), cr("1002", 1))
        )
    ).json()
    outsider = as_user("finance", other)

    assert (await client.get(f"{JOURNAL}/{entry['id']}", headers=outsider)).status_code == 404
    reversal = await client.post(
        f"{JOURNAL}/{entry['id']}/reversal", json={"reason": "wrong store"}, headers=outsider
    )
    assert reversal.status_code == 404
    listed = await client.get(JOURNAL, params={"store_id": store}, headers=outsider)
    assert listed.status_code == 404
    mine = await client.get(JOURNAL, headers=outsider)
    assert entry["id"] not in {e["id"] for e in mine.json()["items"]}
    posting_there = await post_entry(
        client, outsider, entry_body(store, dr("6602.02", 1), cr("1002", 1))
    )
    assert posting_there.status_code == 404
    assert (await client.get(f"{JOURNAL}/no-such-entry", headers=outsider)).status_code == 404


async def test_an_entry_is_reversed_once_and_never_changes(
    client: httpx.AsyncClient, as_user: Callable[..., Headers], finance: Finance
) -> None:
    store = unique("JR")
    staff = as_user("finance", store, sub="jr.finance")
    entry = (
        await post_entry(client, staff, entry_body(store, dr("6602.02", 8_800), cr("1002", 8_800)))
    ).json()
    url = f"{JOURNAL}/{entry['id']}/reversal"

    no_reason = await client.post(url, json={}, headers=staff)
    assert no_reason.status_code == 422 and "why" in no_reason.json()["detail"]
    too_early = await client.post(url, json={"reason": "x", "on": "2026-10-01"}, headers=staff)
    assert too_early.status_code == 422

    first = await client.post(
        url, json={"reason": "Duplicate of the bank import", "on": "2026-10-25"}, headers=staff
    )
    assert first.status_code == 201, first.text
    reversal = first.json()
    assert reversal["reverses_entry_id"] == entry["id"]
    assert reversal["entry_date"] == "2026-10-25" and reversal["rule"] == "reversal"
    assert "Duplicate of the bank import" in reversal["description"]
    assert [(li["account"], li["debit_fen"], li["credit_fen"]) for li in reversal["lines"]] == [
        ("6602.02", 0, 8_800),
        ("1002", 8_800, 0),
    ]
    again = await client.post(url, json={"reason": "once more"}, headers=staff)
    assert again.status_code == 409 and "already been reversed" in again.json()["detail"]
    of_reversal = await client.post(
        f"{JOURNAL}/{reversal['id']}/reversal", json={"reason": "undo"}, headers=staff
    )
    assert of_reversal.status_code == 409

    original = (await client.get(f"{JOURNAL}/{entry['id']}", headers=staff)).json()
    assert original["reversed_by"] == reversal["id"]
    assert original["lines"] == entry["lines"]

    # No route changes or removes an entry, and the database refuses it too.
    for method in ("PUT", "PATCH", "DELETE"):
        response = await client.request(
            method, f"{JOURNAL}/{entry['id']}", json={"description": "x"}, headers=staff
        )
        assert response.status_code == 405, method
    async with finance.db.session() as session:
        with pytest.raises(DBAPIError, match="append-only"):
            await session.execute(
                text("UPDATE journal_entries SET description = 'x' WHERE id = :id"),
                {"id": entry["id"]},
            )
    async with finance.db.session() as session:
        with pytest.raises(DBAPIError, match="append-only"):
            await session.execute(
                text("DELETE FROM journal_lines WHERE entry_id = :id"), {"id": entry["id"]}
            )


async def test_an_idempotency_key_posts_once(
    client: httpx.AsyncClient, as_user: Callable[..., Headers]
) -> None:
    store = unique("JI")
    staff = {**as_user("finance", store), "Idempotency-Key": str(uuid.uuid4())}
    body = entry_body(store, dr("6602.02", 300), cr("1002", 300))
    first = await post_entry(client, staff, body)
    second = await post_entry(client, staff, body)
    assert first.status_code == second.status_code == 201
    assert second.json()["id"] == first.json()["id"]
    assert second.headers.get("Idempotent-Replayed") == "true"
    other = await post_entry(client, staff, {**body, "description": "another"})
    assert other.status_code == 422
    listed = await client.get(JOURNAL, params={"store_id": store}, headers=staff)
    assert len(listed.json()["items"]) == 1


async def test_the_journal_filters_and_pages_newest_first(
    client: httpx.AsyncClient, as_user: Callable[..., Headers]
) -> None:
    store = unique("JF")
    staff = as_user("finance", store)
    days = ["2026-08-05", "2026-09-10", "2026-09-20", "2026-10-01"]
    ids = []
    for day in days:
        response = await post_entry(
            client, staff, entry_body(store, dr("6602.02", 100), cr("1002", 100), day=day)
        )
        ids.append(response.json()["id"])
    extra = await post_entry(
        client, staff, entry_body(store, dr("6601.01", 7), cr("1001", 7), day="2026-09-15")
    )

    async def listing(**params: str) -> list[str]:
        response = await client.get(JOURNAL, params={"store_id": store, **params}, headers=staff)
        assert response.status_code == 200, response.text
        return [e["id"] for e in response.json()["items"]]

    assert await listing(period="2026-09") == [ids[2], extra.json()["id"], ids[1]]
    assert await listing(from_period="2026-09", to_period="2026-10") == [
        ids[3],
        ids[2],
        extra.json()["id"],
        ids[1],
    ]
    assert await listing(account="1001") == [extra.json()["id"]]
    assert await listing(account="6601") == [extra.json()["id"]]  # parent covers sub-accounts
    assert await listing(source_type="manual", source_id=extra.json()["source_id"]) == [
        extra.json()["id"]
    ]
    bad = await client.get(JOURNAL, params={"period": "Sept"}, headers=staff)
    assert bad.status_code == 422
    backwards = await client.get(
        JOURNAL, params={"from_period": "2026-10", "to_period": "2026-09"}, headers=staff
    )
    assert backwards.status_code == 422

    seen: list[str] = []
    cursor: str | None = None
    while True:
        params = {"store_id": store, "limit": "2", **({"cursor": cursor} if cursor else {})}
        page = (await client.get(JOURNAL, params=params, headers=staff)).json()
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [ids[3], ids[2], extra.json()["id"], ids[1], ids[0]]


async def test_a_stores_chart_opens_on_first_use_and_takes_its_own_sub_accounts(
    client: httpx.AsyncClient, as_user: Callable[..., Headers]
) -> None:
    store = unique("JC")
    staff = as_user("finance", store)
    url = f"/api/v1/finance/stores/{store}/accounts"

    chart = await client.get(url, params={"limit": "200"}, headers=staff)
    assert chart.status_code == 200
    codes = {a["code"]: a for a in chart.json()["items"]}
    assert {"1002", "1405.01", "1901", "2202.01", "6401.03"} <= set(codes)
    assert (
        codes["2202.01"]["category"] == "liability" and codes["2202.01"]["normal_side"] == "credit"
    )

    added = await client.post(
        url,
        json={"code": "6602.20", "name": "管理费用-展厅布置", "name_en": "Showroom"},
        headers=staff,
    )
    assert added.status_code == 201, added.text
    assert added.json() == {
        "code": "6602.20",
        "name": "管理费用-展厅布置",
        "name_en": "Showroom",
        "category": "expense",
        "normal_side": "debit",
        "parent_code": "6602",
        "from_template": False,
    }
    twice = await client.post(url, json={"code": "6602.20", "name": "again"}, headers=staff)
    assert twice.status_code == 409
    under_bank = await client.post(url, json={"code": "1002.01", "name": "工商银行"}, headers=staff)
    assert under_bank.status_code == 422 and "posted to directly" in under_bank.json()["detail"]
    bad_code = await client.post(url, json={"code": "66020", "name": "x"}, headers=staff)
    assert bad_code.status_code == 422
    no_parent = await client.post(url, json={"code": "6999.01", "name": "x"}, headers=staff)
    assert no_parent.status_code == 422

    posted = await post_entry(client, staff, entry_body(store, dr("6602.20", 50), cr("1002", 50)))
    assert posted.status_code == 201, posted.text

    clerk = await client.post(
        url, json={"code": "6602.21", "name": "x"}, headers=as_user("inventory_clerk", store)
    )
    assert clerk.status_code == 403
    other = await client.get(url, headers=as_user("finance", "OTHER1"))
    assert other.status_code == 404
    # Another store's chart is its own: 6602.20 is not there.
    elsewhere = unique("JD")
    theirs = await client.get(
        f"/api/v1/finance/stores/{elsewhere}/accounts",
        params={"limit": "200"},
        headers=as_user("finance", elsewhere),
    )
    assert "6602.20" not in {a["code"] for a in theirs.json()["items"]}
