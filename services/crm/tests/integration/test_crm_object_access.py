"""Object-level access, table-driven: who sees which lead, customer, timeline, task and export row.

The rule (DESIGN.md §7, issue 5): a sales consultant sees only the leads assigned to them and the
customers they own or have a lead of; managers see their store; another store's manager sees
nothing of it; HQ sees every store. What a caller may not see answers 404 (never 403) and is
absent from lists and exports.

Written out by hand, like gateway/tests/integration/test_role_matrix.py: store OAC1 routes phone
leads to consultant A and website leads to consultant B (by_channel), store OAC2 has its own lead.
Stores OAC1 / OAC2 and mobiles 1373001xxxx belong to this module.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI

from marque_crm.settings import CrmSettings
from marque_crm.tabular import read_table
from marque_kit.auth import Principal, sign_principal

STORE, OTHER = "OAC1", "OAC2"
A, B = "oac-consultant-a", "oac-consultant-b"

# actor -> (role, stores, subject)
ACTORS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "consultant A": ("sales_consultant", (STORE,), A),
    "consultant B": ("sales_consultant", (STORE,), B),
    "sales manager": ("sales_manager", (STORE,), "oac-sales-manager"),
    "other store's manager": ("store_manager", (OTHER,), "oac-other-manager"),
    "HQ analyst": ("hq_analyst", ("*",), "oac-analyst"),
    "HQ admin": ("hq_admin", ("*",), "oac-admin"),
}

# actor -> the leads (and so customers, timelines, tasks, export rows) it sees.
SEES: dict[str, set[str]] = {
    "consultant A": {"a"},
    "consultant B": {"b"},
    "sales manager": {"a", "b"},
    "other store's manager": {"c"},
    "HQ analyst": {"a", "b", "c"},
    "HQ admin": {"a", "b", "c"},
}
LEADS = ("a", "b", "c")


@dataclass(frozen=True)
class Seeded:
    lead: str
    customer: str
    name: str
    store: str
    task: str


def headers(settings: CrmSettings, actor: str) -> dict[str, str]:
    role, stores, subject = ACTORS[actor]
    token = sign_principal(
        Principal(subject=subject, roles=(role,), stores=stores), settings.internal_secret
    )
    return {"X-Marque-Principal": token}


@pytest.fixture(scope="module")
async def world(crm_app: FastAPI, crm_settings: CrmSettings) -> AsyncIterator[dict[str, Seeded]]:
    """Three leads made through the API: a (consultant A), b (consultant B), c (the other store)."""
    hq = headers(crm_settings, "HQ admin")
    transport = httpx.ASGITransport(app=crm_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://crm") as client:
        for subject in (A, B):
            resp = await client.put(
                f"/api/v1/crm/stores/{STORE}/consultants/{subject}",
                headers=hq,
                json={"name": subject},
            )
            assert resp.status_code in (200, 201), resp.text
        resp = await client.put(
            f"/api/v1/crm/stores/{STORE}/rules",
            headers={**hq, "If-Match": '"0"'},
            json={"strategy": "by_channel", "routes": {"phone": [A], "website": [B]}},
        )
        assert resp.status_code == 200, resp.text
        seeded: dict[str, Seeded] = {}
        for key, store, channel, mobile in (
            ("a", STORE, "phone", "13730011001"),
            ("b", STORE, "website", "13730011002"),
            ("c", OTHER, "phone", "13730011003"),
        ):
            name = f"客户{key.upper()}"
            resp = await client.post(
                "/api/v1/crm/leads",
                headers=hq,
                json={"store_id": store, "channel": channel, "name": name, "mobile": mobile},
            )
            assert resp.status_code == 201, resp.text
            lead = resp.json()
            tasks = await client.get(
                "/api/v1/crm/tasks", headers=hq, params={"lead_id": lead["id"], "status": "open"}
            )
            assert tasks.status_code == 200, tasks.text
            seeded[key] = Seeded(
                lead=lead["id"],
                customer=lead["customer_id"],
                name=name,
                store=store,
                task=tasks.json()["items"][0]["id"],
            )
        assert (await client.get(f"/api/v1/crm/leads/{seeded['a'].lead}", headers=hq)).json()[
            "assigned_to"
        ] == A
        assert (await client.get(f"/api/v1/crm/leads/{seeded['b'].lead}", headers=hq)).json()[
            "assigned_to"
        ] == B
        yield seeded


async def _ids(client: httpx.AsyncClient, path: str, hdrs: dict[str, str], store: str) -> set[str]:
    """Ids in a store-filtered list, every page; a store the caller cannot see lists nothing."""
    found: set[str] = set()
    params: dict[str, str] = {"store_id": store, "limit": "100"}
    while True:
        resp = await client.get(path, headers=hdrs, params=params)
        if resp.status_code == 404:
            return found
        assert resp.status_code == 200, resp.text
        body = resp.json()
        found.update(item["id"] for item in body["items"])
        if not body["next_cursor"]:
            return found
        params["cursor"] = body["next_cursor"]


async def _export_names(
    client: httpx.AsyncClient, kind: str, hdrs: dict[str, str], store: str
) -> set[str]:
    resp = await client.get(f"/api/v1/crm/exports/{kind}", headers=hdrs, params={"store_id": store})
    if resp.status_code == 404:
        return set()
    assert resp.status_code == 200, resp.text
    table = read_table(resp.content)
    column = table.headers.index("姓名")
    return {cells[column] for _, cells in table.rows}


def _expected(actor: str, world: dict[str, Seeded], attr: str) -> set[str]:
    return {getattr(world[k], attr) for k in SEES[actor]}


def _all(world: dict[str, Seeded], attr: str) -> set[str]:
    return {getattr(world[k], attr) for k in LEADS}


@pytest.mark.parametrize("actor", list(ACTORS))
async def test_single_records_answer_404_when_not_visible(
    actor: str, world: dict[str, Seeded], client: httpx.AsyncClient, crm_settings: CrmSettings
) -> None:
    hdrs = headers(crm_settings, actor)
    for key in LEADS:
        seeded = world[key]
        expected = 200 if key in SEES[actor] else 404
        for path in (
            f"/api/v1/crm/leads/{seeded.lead}",
            f"/api/v1/crm/customers/{seeded.customer}",
            f"/api/v1/crm/customers/{seeded.customer}/timeline",
            f"/api/v1/crm/tasks/{seeded.task}",
        ):
            resp = await client.get(path, headers=hdrs)
            assert resp.status_code == expected, f"{actor} GET {path}: {resp.text}"
            if expected == 404:
                assert resp.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("actor", list(ACTORS))
async def test_lists_and_exports_hold_only_what_is_visible(
    actor: str, world: dict[str, Seeded], client: httpx.AsyncClient, crm_settings: CrmSettings
) -> None:
    hdrs = headers(crm_settings, actor)
    listed: dict[str, set[str]] = {"lead": set(), "customer": set(), "task": set(), "name": set()}
    exported: set[str] = set()
    for store in (STORE, OTHER):
        listed["lead"] |= await _ids(client, "/api/v1/crm/leads", hdrs, store)
        listed["customer"] |= await _ids(client, "/api/v1/crm/customers", hdrs, store)
        listed["task"] |= await _ids(client, "/api/v1/crm/tasks", hdrs, store)
        listed["name"] |= await _export_names(client, "leads", hdrs, store)
        exported |= await _export_names(client, "customers", hdrs, store)
    for attr in ("lead", "customer", "task", "name"):
        # What the actor sees is listed; what it may not see is absent.
        assert listed[attr] & _all(world, attr) == _expected(actor, world, attr), (actor, attr)
    assert exported & _all(world, "name") == _expected(actor, world, "name"), actor


async def test_a_consultant_cannot_widen_a_list_to_a_colleague(
    world: dict[str, Seeded], client: httpx.AsyncClient, crm_settings: CrmSettings
) -> None:
    hdrs = headers(crm_settings, "consultant A")
    resp = await client.get(
        "/api/v1/crm/leads", headers=hdrs, params={"store_id": STORE, "assigned_to": B}
    )
    assert resp.status_code == 200
    assert resp.json()["items"] == []
    resp = await client.get(
        "/api/v1/crm/customers", headers=hdrs, params={"store_id": STORE, "owner": B}
    )
    assert resp.status_code == 200
    assert world["b"].customer not in {c["id"] for c in resp.json()["items"]}
