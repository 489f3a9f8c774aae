"""Month-end close over HTTP: who may close and reopen, what a close does to later postings, the
audit trail, the events, and a close waiting for a posting in flight."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import text

from marque_finance import books
from marque_finance.domain.accounts import ADMIN_OFFICE, BANK
from marque_finance.domain.ledger import EntryDraft, credit, debit
from marque_finance.unit_of_work import Finance

Headers = dict[str, str]


def unique(prefix: str) -> str:
    return prefix + uuid.uuid4().hex[:4].upper()


def periods_url(store: str, period: str = "", action: str = "") -> str:
    url = f"/api/v1/finance/stores/{store}/periods"
    return url + (f"/{period}" if period else "") + (f"/{action}" if action else "")


def manual(store: str, day: str, fen: int = 10_000) -> dict[str, Any]:
    return {
        "store_id": store,
        "entry_date": day,
        "description": "Office supplies paid from the bank",
        "lines": [
            {"account": ADMIN_OFFICE, "debit_fen": fen},
            {"account": BANK, "credit_fen": fen},
        ],
    }


async def outbox_events(finance: Finance, routing_key: str, subject: str) -> list[dict[str, Any]]:
    async with finance.db.session() as session:
        rows = await session.execute(
            text(
                "SELECT envelope FROM outbox WHERE routing_key = :k AND aggregate_id = :s "
                "ORDER BY position"
            ),
            {"k": routing_key, "s": subject},
        )
        return [r[0] for r in rows]


async def test_store_finance_closes_an_ended_month_and_later_postings_move_on(
    client: httpx.AsyncClient, as_user: Callable[..., Headers], finance: Finance
) -> None:
    store = unique("PC")
    staff = as_user("finance", store, sub="pc.finance")

    closed = await client.post(periods_url(store, "2026-08", "close"), headers=staff)
    assert closed.status_code == 200, closed.text
    body = closed.json()
    assert (body["status"], body["closed_by"]) == ("closed", "user:pc.finance")
    assert closed.headers["ETag"] == f'"{body["version"]}"'
    assert [(h["action"], h["actor"]) for h in body["history"]] == [("close", "user:pc.finance")]

    again = await client.post(periods_url(store, "2026-08", "close"), headers=staff)
    assert again.status_code == 409 and "already closed" in again.json()["detail"]

    posted = await client.post(
        "/api/v1/finance/journal", json=manual(store, "2026-08-31"), headers=staff
    )
    assert posted.status_code == 201, posted.text
    entry = posted.json()
    assert (entry["period"], entry["entry_date"], entry["original_date"]) == (
        "2026-09",
        "2026-09-01",
        "2026-08-31",
    )
    assert "period 2026-08 is closed" in entry["note"]

    (event,) = await outbox_events(finance, "finance.journal.period_closed", f"{store}/2026-08")
    assert event["type"] == "marque.finance.v1.PeriodClosed"
    assert event["data"]["period"] == "2026-08" and event["data"]["actor"] == "user:pc.finance"
    assert event["marquestore"] == store


async def test_who_may_close_and_which_months(
    client: httpx.AsyncClient, as_user: Callable[..., Headers], as_hq: Headers
) -> None:
    store = unique("PW")
    manager = as_user("store_manager", store)
    assert (
        await client.post(periods_url(store, "2026-05", "close"), headers=manager)
    ).status_code == 200
    assert (
        await client.post(periods_url(store, "2026-06", "close"), headers=as_hq)
    ).status_code == 200

    clerk = await client.post(
        periods_url(store, "2026-07", "close"), headers=as_user("inventory_clerk", store)
    )
    assert clerk.status_code == 403
    elsewhere = await client.post(
        periods_url(store, "2026-07", "close"), headers=as_user("finance", "OTHER1")
    )
    assert elsewhere.status_code == 404
    analyst = await client.post(
        periods_url(store, "2026-07", "close"), headers=as_user("hq_analyst")
    )
    assert analyst.status_code == 403

    this_month = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    current = await client.post(periods_url(store, this_month, "close"), headers=manager)
    assert current.status_code == 409 and "has not ended" in current.json()["detail"]
    future = await client.post(periods_url(store, "2099-01", "close"), headers=manager)
    assert future.status_code == 409
    malformed = await client.post(periods_url(store, "2026-7", "close"), headers=manager)
    assert malformed.status_code == 422 and "YYYY-MM" in malformed.json()["detail"]


async def test_only_hq_reopens_with_a_reason_and_the_audit_trail_lists_both(
    client: httpx.AsyncClient, as_user: Callable[..., Headers], finance: Finance
) -> None:
    store = unique("PR")
    staff = as_user("finance", store, sub="pr.finance")
    assert (
        await client.post(periods_url(store, "2026-04", "close"), headers=staff)
    ).status_code == 200
    reopen = periods_url(store, "2026-04", "reopen")
    why = {"reason": "OEM rebate credit note for April arrived late"}

    for role in ("finance", "store_manager"):
        refused = await client.post(reopen, json=why, headers=as_user(role, store))
        assert refused.status_code == 403, role
        assert "HQ" in refused.json()["detail"]
    assert (await client.post(reopen, json=why, headers=as_user("hq_analyst"))).status_code == 403

    hq = as_user("hq_finance", sub="hq.finance")
    no_reason = await client.post(reopen, json={}, headers=hq)
    assert no_reason.status_code == 422 and "reason" in no_reason.json()["detail"]
    blank = await client.post(reopen, json={"reason": "   "}, headers=hq)
    assert blank.status_code == 422

    stale = await client.post(reopen, json=why, headers={**hq, "If-Match": '"1"'})
    assert stale.status_code == 412

    reopened = await client.post(reopen, json=why, headers=hq)
    assert reopened.status_code == 200, reopened.text
    assert (reopened.json()["status"], reopened.json()["closed_by"]) == ("open", None)
    assert (await client.post(reopen, json=why, headers=hq)).status_code == 409

    # Open again: a posting dated in it stays in it.
    posted = await client.post(
        "/api/v1/finance/journal", json=manual(store, "2026-04-30"), headers=staff
    )
    assert posted.json()["period"] == "2026-04" and posted.json()["note"] == ""

    listed = await client.get(periods_url(store), headers=staff)
    assert listed.status_code == 200
    (april,) = [p for p in listed.json()["items"] if p["period"] == "2026-04"]
    assert [(h["action"], h["actor"], h["reason"]) for h in april["history"]] == [
        ("close", "user:pr.finance", ""),
        ("reopen", "user:hq.finance", why["reason"]),
    ]
    assert all(h["at"] for h in april["history"])
    one = await client.get(periods_url(store, "2026-04"), headers=staff)
    assert one.json()["history"] == april["history"]
    assert one.headers["ETag"] == f'"{april["version"]}"'

    (event,) = await outbox_events(finance, "finance.journal.period_reopened", f"{store}/2026-04")
    assert event["data"]["reason"] == why["reason"]
    assert event["data"]["actor"] == "user:hq.finance"

    other = await client.get(periods_url(store), headers=as_user("finance", "OTHER1"))
    assert other.status_code == 404


async def test_a_close_waits_for_a_posting_in_flight(
    client: httpx.AsyncClient, as_hq: Headers, finance: Finance
) -> None:
    store = unique("PL")
    draft = EntryDraft(
        store_id=store,
        entry_date=date(2026, 7, 10),
        description="posting in flight",
        source_type="test",
        source_id="in-flight",
        source_event_id=f"in-flight-{store}",
        rule="test",
        lines=(debit(ADMIN_OFFICE, 500), credit(BANK, 500)),
    )
    async with finance.uow() as uow:
        posted = await books.post(uow.session, draft)
        assert posted is not None and posted.period == "2026-07"
        close = asyncio.create_task(
            client.post(periods_url(store, "2026-07", "close"), headers=as_hq)
        )
        deadline = time.monotonic() + 30
        while not await close_is_waiting(finance):
            assert not close.done(), (await close).text
            assert time.monotonic() < deadline, "the close never reached the period lock"
            await asyncio.sleep(0.05)
        assert not close.done()
        await uow.commit()
    response = await close
    assert response.status_code == 200, response.text
    # The posting made before the close stays in the month it closed.
    async with finance.db.session() as session:
        period = await session.scalar(
            text("SELECT period FROM journal_entries WHERE id = :id"), {"id": posted.id}
        )
    assert period == "2026-07"


async def close_is_waiting(finance: Finance) -> bool:
    async with finance.db.session() as session:
        waiting = await session.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND query ILIKE '%periods%'"
            )
        )
    return bool(waiting)
