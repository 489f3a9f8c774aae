"""Expense claims (报销) over HTTP against the real database: routing by amount, who may approve
(403 for an unauthorised approver, 404 for another store), posting on approval and payment, the
approvers' queues, If-Match, rejection and the events in the outbox."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from marque_finance.unit_of_work import Finance
from marque_kit.testing.golden import shape

AsUser = Callable[..., dict[str, str]]
URL = "/api/v1/finance/expense-claims"
FIXTURES = Path(__file__).resolve().parents[4] / "tests" / "contract" / "fixtures"


class Staff:
    """The people of one test store (their own store id keeps tests apart)."""

    def __init__(self, as_user: AsUser, store: str) -> None:
        low = store.lower()
        self.store = store
        self.consultant = as_user("sales_consultant", store, sub=f"{low}-consultant")
        self.colleague = as_user("sales_consultant", store, sub=f"{low}-colleague")
        self.manager = as_user("store_manager", store, sub=f"{low}-manager")
        self.finance = as_user("finance", store, sub=f"{low}-finance")
        self.hq_finance = as_user("hq_finance", sub="hq-finance-1")
        self.hq_admin = as_user("hq_admin", sub="hq-admin-1")


async def create(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    store: str,
    amount: int,
    category: str = "travel",
    **extra: Any,
) -> dict[str, Any]:
    body = {
        "store_id": store,
        "category": category,
        "amount_fen": amount,
        "description": "上海-杭州 主机厂培训 高铁往返",
        "incurred_on": "2026-01-05",
        "receipt_number": "RC-2026-0001",
        **extra,
    }
    resp = await client.post(URL, json=body, headers=headers)
    assert resp.status_code == 201, resp.text
    assert resp.headers["etag"] == '"1"'
    claim: dict[str, Any] = resp.json()
    return claim


async def act(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    claim: dict[str, Any],
    verb: str,
    body: dict[str, Any] | None = None,
    version: int | None = None,
) -> httpx.Response:
    match = f'"{claim["version"] if version is None else version}"'
    return await client.post(
        f"{URL}/{claim['id']}/{verb}", json=body, headers=headers | {"If-Match": match}
    )


async def step(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    claim: dict[str, Any],
    verb: str,
    body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    resp = await act(client, headers, claim, verb, body)
    assert resp.status_code == 200, resp.text
    assert resp.headers["etag"] == f'"{resp.json()["version"]}"'
    moved: dict[str, Any] = resp.json()
    return moved


async def posted_lines(
    finance: Finance, claim_id: str
) -> list[tuple[str, str, int, int, str, str]]:
    async with finance.db.session() as session:
        rows = await session.execute(
            text(
                "SELECT e.rule, l.account_code, l.debit_fen, l.credit_fen, l.party, l.memo "
                "FROM journal_entries e JOIN journal_lines l ON l.entry_id = e.id "
                "WHERE e.source_type = 'expense_claim' AND e.source_id = :id "
                "ORDER BY e.posted_at, l.line_no"
            ),
            {"id": claim_id},
        )
        return [tuple(r) for r in rows]


async def outbox_of(finance: Finance, claim_id: str) -> list[tuple[str, dict[str, Any]]]:
    async with finance.db.session() as session:
        rows = await session.execute(
            text(
                "SELECT routing_key, envelope FROM outbox WHERE aggregate_id = :id "
                "ORDER BY position"
            ),
            {"id": claim_id},
        )
        return [(r.routing_key, r.envelope) for r in rows]


def assert_problem(resp: httpx.Response, status: int, needle: str = "") -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = resp.json()
    assert needle in body["detail"], body["detail"]
    return body


# --- routing and posting -----------------------------------------------------------------------


async def test_small_claim_is_approved_by_the_store_manager_and_posts_the_expense(
    client: httpx.AsyncClient, as_user: AsUser, finance: Finance
) -> None:
    staff = Staff(as_user, "EXS1")
    claim = await create(client, staff.consultant, staff.store, 86_000)
    assert claim["status"] == "draft" and claim["claimant"] == "exs1-consultant"
    assert claim["expense_account"] == "6602.01"
    claim = await step(client, staff.consultant, claim, "submit")
    assert claim["status"] == "submitted" and claim["pending_steps"] == ["store_manager"]
    assert await posted_lines(finance, claim["id"]) == []

    claim = await step(client, staff.manager, claim, "approve")
    assert claim["status"] == "approved" and claim["pending_steps"] == []
    assert [(a["step"], a["actor"]) for a in claim["approvals"]] == [
        ("store_manager", "exs1-manager")
    ]
    assert await posted_lines(finance, claim["id"]) == [
        ("expense_claim_approved", "6602.01", 86_000, 0, "", "RC-2026-0001"),
        ("expense_claim_approved", "2241.01", 0, 86_000, "exs1-consultant", ""),
    ]

    # Paying it: the claimant's payable is cleared from the bank, with the bank's reference.
    claim = await step(
        client,
        staff.finance,
        claim,
        "pay",
        {"method": "bank_transfer", "bank_reference": "ICBC-EXS1-0001"},
    )
    assert claim["status"] == "paid" and claim["paid_by"] == "exs1-finance"
    lines = await posted_lines(finance, claim["id"])
    assert lines[2:] == [
        ("expense_claim_paid", "2241.01", 86_000, 0, "exs1-consultant", ""),
        ("expense_claim_paid", "1002", 0, 86_000, "exs1-consultant", "ICBC-EXS1-0001"),
    ]
    assert_problem(
        await act(client, staff.finance, claim, "pay", {"method": "cash"}), 409, "already paid"
    )

    # Each move wrote its event, and each has the golden fixture's shape.
    events = await outbox_of(finance, claim["id"])
    assert [key for key, _ in events] == [
        "finance.expense.submitted",
        "finance.expense.approved",
        "finance.expense.paid",
    ]
    for _, envelope in events:
        fixture = json.loads((FIXTURES / f"{envelope['type']}.json").read_text("utf-8"))
        # traceparent travels only when the request carried one (this test sends none).
        assert set(envelope) - {"traceparent"} == set(fixture) - {"traceparent"}
        assert shape(envelope["data"]) == shape(fixture["data"]), envelope["type"]
        assert envelope["subject"] == claim["id"] and envelope["marquestore"] == "EXS1"
    assert [e["marqueseq"] for _, e in events] == [2, 3, 4]


async def test_large_claim_needs_the_store_manager_then_hq_finance(
    client: httpx.AsyncClient, as_user: AsUser, finance: Finance
) -> None:
    staff = Staff(as_user, "EXS2")
    claim = await create(client, staff.consultant, staff.store, 1_268_000, "entertainment")
    claim = await step(client, staff.consultant, claim, "submit")
    assert claim["pending_steps"] == ["store_manager", "hq_finance"]

    # HQ finance cannot jump the queue: the store manager's step comes first.
    assert_problem(
        await act(client, staff.hq_finance, claim, "approve"),
        403,
        "Your role cannot approve the store_manager step of this claim",
    )
    claim = await step(client, staff.manager, claim, "approve")
    assert claim["status"] == "submitted" and claim["pending_steps"] == ["hq_finance"]
    assert await posted_lines(finance, claim["id"]) == []
    assert_problem(
        await act(client, staff.manager, claim, "approve"),
        403,
        "cannot approve the hq_finance step",
    )

    claim = await step(client, staff.hq_finance, claim, "approve")
    assert claim["status"] == "approved"
    assert [a["step"] for a in claim["approvals"]] == ["store_manager", "hq_finance"]
    assert await posted_lines(finance, claim["id"]) == [
        ("expense_claim_approved", "6601.02", 1_268_000, 0, "", "RC-2026-0001"),
        ("expense_claim_approved", "2241.01", 0, 1_268_000, "exs2-consultant", ""),
    ]
    events = [key for key, _ in await outbox_of(finance, claim["id"])]
    assert events == [
        "finance.expense.submitted",
        "finance.expense.approved",
        "finance.expense.approved",
    ]

    claim = await step(client, staff.hq_finance, claim, "pay", {"method": "cash"})
    assert (await posted_lines(finance, claim["id"]))[-1][1] == "1001"


# --- who may approve ---------------------------------------------------------------------------


async def test_unauthorised_approvers_get_403_and_other_stores_404(
    client: httpx.AsyncClient, as_user: AsUser
) -> None:
    staff = Staff(as_user, "EXS3")
    claim = await create(client, staff.consultant, staff.store, 20_000, "office")
    claim = await step(client, staff.consultant, claim, "submit")

    # The store's finance role holds finance.* but is not an approver.
    assert_problem(
        await act(client, staff.finance, claim, "approve"),
        403,
        "Your role cannot approve the store_manager step of this claim",
    )
    # A sales consultant lacks the permission altogether.
    assert_problem(
        await act(client, staff.colleague, claim, "approve"),
        403,
        "finance.expenses:approve",
    )
    # The claimant's own approval is refused too (here a store manager's own claim).
    own = await create(client, staff.manager, staff.store, 30_000)
    own = await step(client, staff.manager, own, "submit")
    assert own["pending_steps"] == ["hq_finance"]
    assert_problem(await act(client, staff.manager, own, "approve"), 403, "your own")
    # Another store's manager does not even see the claim.
    hz_manager = as_user("store_manager", "EXS9", sub="exs9-manager")
    assert_problem(await act(client, hz_manager, claim, "approve"), 404, "not found")
    assert (await client.get(f"{URL}/{claim['id']}", headers=hz_manager)).status_code == 404

    after = await client.get(f"{URL}/{claim['id']}", headers=staff.manager)
    assert after.json()["status"] == "submitted" and after.json()["version"] == claim["version"]
    claim = await step(client, staff.manager, claim, "approve")
    assert claim["status"] == "approved"


async def test_approver_queues_show_what_waits_on_each_of_them(
    client: httpx.AsyncClient, as_user: AsUser
) -> None:
    staff = Staff(as_user, "EXS4")
    small = await step(
        client, staff.consultant, await create(client, staff.consultant, "EXS4", 10_000), "submit"
    )
    large = await step(
        client, staff.consultant, await create(client, staff.consultant, "EXS4", 900_000), "submit"
    )
    draft = await create(client, staff.consultant, "EXS4", 5_000)

    async def queue(headers: dict[str, str]) -> list[str]:
        resp = await client.get(f"{URL}/queue?store_id=EXS4", headers=headers)
        assert resp.status_code == 200, resp.text
        return [c["id"] for c in resp.json()["items"]]

    assert await queue(staff.manager) == [small["id"], large["id"]]
    assert await queue(staff.hq_finance) == []
    await step(client, staff.manager, large, "approve")
    assert await queue(staff.manager) == [small["id"]]
    assert await queue(staff.hq_finance) == [large["id"]]
    assert await queue(staff.hq_admin) == [small["id"], large["id"]]
    assert await queue(staff.finance) == []  # holds the permission, passes no step
    assert_problem(await client.get(f"{URL}/queue", headers=staff.consultant), 403)
    # HQ finance's queue spans every store.
    everywhere = await client.get(f"{URL}/queue?limit=200", headers=staff.hq_finance)
    assert large["id"] in [c["id"] for c in everywhere.json()["items"]]
    assert draft["id"] not in await queue(staff.hq_admin)


# --- drafts, versions, rejection, visibility ---------------------------------------------------


async def test_drafts_are_edited_with_if_match_and_stale_versions_get_412(
    client: httpx.AsyncClient, as_user: AsUser
) -> None:
    staff = Staff(as_user, "EXS5")
    claim = await create(client, staff.consultant, "EXS5", 10_000)
    url = f"{URL}/{claim['id']}"
    edited = await client.patch(
        url,
        json={"amount_fen": 12_000, "category": "training"},
        headers=staff.consultant | {"If-Match": '"1"'},
    )
    assert edited.status_code == 200, edited.text
    assert edited.headers["etag"] == '"2"'
    assert (edited.json()["amount_fen"], edited.json()["expense_account"]) == (12_000, "6602.03")

    stale = await client.patch(
        url, json={"amount_fen": 1}, headers=staff.consultant | {"If-Match": '"1"'}
    )
    assert_problem(stale, 412, "version 1")
    assert_problem(await client.patch(url, json={"amount_fen": 1}, headers=staff.consultant), 428)
    assert_problem(await act(client, staff.consultant, claim, "submit", version=1), 412)
    # Someone else's draft is theirs alone, even for the store manager.
    assert (await client.get(url, headers=staff.manager)).status_code == 404
    bad = await client.patch(
        url, json={"incurred_on": "2999-01-01"}, headers=staff.consultant | {"If-Match": '"2"'}
    )
    assert_problem(bad, 422, "after today")
    got = await client.get(url, headers=staff.consultant)
    assert got.json()["version"] == 2 and got.json()["amount_fen"] == 12_000


async def test_rejection_carries_a_reason_and_the_claimant_copies_it_into_a_new_draft(
    client: httpx.AsyncClient, as_user: AsUser, finance: Finance
) -> None:
    staff = Staff(as_user, "EXS6")
    claim = await step(
        client, staff.consultant, await create(client, staff.consultant, "EXS6", 40_000), "submit"
    )
    assert_problem(await act(client, staff.manager, claim, "reject", {"reason": "   "}), 422)
    assert (await act(client, staff.manager, claim, "reject", {})).status_code == 422
    assert_problem(
        await act(client, staff.finance, claim, "reject", {"reason": "no"}), 403, "cannot approve"
    )
    claim = await step(client, staff.manager, claim, "reject", {"reason": "发票抬头不是本公司"})
    assert claim["status"] == "rejected" and claim["rejection_reason"] == "发票抬头不是本公司"
    assert claim["rejected_by"] == "exs6-manager" and claim["pending_steps"] == []
    assert await posted_lines(finance, claim["id"]) == []
    assert [k for k, _ in await outbox_of(finance, claim["id"])][-1] == "finance.expense.rejected"
    assert_problem(await act(client, staff.manager, claim, "approve"), 409, "already rejected")
    assert_problem(
        await act(client, staff.finance, claim, "pay", {"method": "cash"}), 409, "rejected"
    )

    copied = await client.post(
        f"{URL}/{claim['id']}/copy", headers=staff.consultant | {"Idempotency-Key": "exs6-copy"}
    )
    assert copied.status_code == 201, copied.text
    again = copied.json()
    assert again["status"] == "draft" and again["copied_from"] == claim["id"]
    assert again["id"] != claim["id"] and again["amount_fen"] == 40_000
    replay = await client.post(
        f"{URL}/{claim['id']}/copy", headers=staff.consultant | {"Idempotency-Key": "exs6-copy"}
    )
    assert replay.json()["id"] == again["id"]
    assert (
        await client.post(f"{URL}/{claim['id']}/copy", headers=staff.manager)
    ).status_code == 403


async def test_who_sees_which_claims_and_where_claims_may_be_filed(
    client: httpx.AsyncClient, as_user: AsUser
) -> None:
    staff = Staff(as_user, "EXS7")
    mine = await step(
        client, staff.consultant, await create(client, staff.consultant, "EXS7", 10_000), "submit"
    )
    theirs = await step(
        client, staff.colleague, await create(client, staff.colleague, "EXS7", 20_000), "submit"
    )

    async def listed(headers: dict[str, str], query: str = "") -> list[str]:
        resp = await client.get(f"{URL}?store_id=EXS7{query}", headers=headers)
        assert resp.status_code == 200, resp.text
        return [c["id"] for c in resp.json()["items"]]

    # A consultant sees only their own; finance and the manager see the store's submitted claims.
    assert await listed(staff.consultant) == [mine["id"]]
    assert (await client.get(f"{URL}/{theirs['id']}", headers=staff.consultant)).status_code == 404
    assert await listed(staff.finance) == [theirs["id"], mine["id"]]
    assert await listed(staff.manager, "&mine=true") == []
    assert await listed(staff.hq_finance, "&status=submitted") == [theirs["id"], mine["id"]]
    assert await listed(staff.hq_finance, "&status=paid") == []

    # A claim is filed for one of your own stores, by a person, with sane fields.
    assert_problem(
        await client.post(
            URL,
            json={
                "store_id": "EXS8",
                "category": "travel",
                "amount_fen": 100,
                "description": "x",
                "incurred_on": "2026-01-05",
            },
            headers=staff.consultant,
        ),
        403,
        "only for your own stores",
    )
    bad = await client.post(
        URL,
        json={"store_id": "EXS7", "category": "golf", "amount_fen": 1.5, "description": ""},
        headers=staff.consultant,
    )
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem")
    technician = as_user("technician", "EXS7", sub="exs7-technician")
    own = await create(client, technician, "EXS7", 3_000, "vehicle")
    assert own["expense_account"] == "6601.03"


async def test_creating_a_claim_is_idempotent_with_a_key(
    client: httpx.AsyncClient, as_user: AsUser
) -> None:
    headers = as_user("service_advisor", "EXSA", sub="exsa-advisor") | {"Idempotency-Key": "c-1"}
    body = {
        "store_id": "EXSA",
        "category": "marketing",
        "amount_fen": 250_000,
        "description": "车展易拉宝与传单印刷",
        "incurred_on": "2026-01-06",
    }
    first = await client.post(URL, json=body, headers=headers)
    again = await client.post(URL, json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers.get("idempotent-replayed") == "true"
    assert first.json()["id"] == again.json()["id"]
    other = await client.post(URL, json=body | {"amount_fen": 1}, headers=headers)
    assert other.status_code == 422
