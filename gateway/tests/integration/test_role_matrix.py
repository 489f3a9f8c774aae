"""Every staff role against a representative set of endpoints, through the gateway to the real
inventory service: allowed means the request got past authorisation (an answer, or 422 for the
deliberately empty body), refused means 403 problem+json naming the permission.

The table below is written out by hand from what each role is for (README, decision 0009), not
computed from `marque_kit.permissions`, so a change to the permission table that breaks these
expectations fails here and has to be argued for. Partners are covered in test_keys.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest

AsUser = Callable[..., Awaitable[dict[str, str]]]

HQ = ("hq_admin", "hq_analyst")
# HQ finance works in every store too, but only with finance and what finance reads (decision 0021).
HQ_FINANCE = "hq_finance"
EVERY_STORE = (*HQ, HQ_FINANCE)
STORE_ROLES = (
    "store_manager",
    "sales_manager",
    "sales_consultant",
    "service_advisor",
    "technician",
    "parts_clerk",
    "inventory_clerk",
    "finance",
)
ROLES = EVERY_STORE + STORE_ROLES

# (method, path, allowed roles). POST bodies are empty on purpose: a role that may write gets a
# 422 from validation, one that may not gets 403 before its body is even read.
MATRIX: list[tuple[str, str, set[str]]] = [
    (
        "GET",
        "/api/v1/inventory/vehicles?store_id=SH01&limit=1",
        {
            *EVERY_STORE,
            "store_manager",
            "sales_manager",
            "sales_consultant",
            "inventory_clerk",
            "finance",
        },
    ),
    ("POST", "/api/v1/inventory/vehicles", {"hq_admin", "store_manager", "inventory_clerk"}),
    (
        "GET",
        "/api/v1/inventory/stores/SH01/parts?limit=1",
        {
            *EVERY_STORE,
            "store_manager",
            "service_advisor",
            "technician",
            "parts_clerk",
            "inventory_clerk",
            "finance",
        },
    ),
    (
        "POST",
        "/api/v1/inventory/stores/SH01/parts/receipts",
        {"hq_admin", "store_manager", "parts_clerk", "inventory_clerk"},
    ),
    (
        "GET",
        "/api/v1/inventory/transfers?limit=1",
        {
            *HQ,
            "store_manager",
            "sales_manager",
            "sales_consultant",
            "parts_clerk",
            "inventory_clerk",
        },
    ),
    (
        "POST",
        "/api/v1/inventory/transfers",
        {"hq_admin", "store_manager", "sales_manager", "parts_clerk", "inventory_clerk"},
    ),
    (
        "GET",
        "/api/v1/group/stores/SH01/stock-summary",
        {
            *EVERY_STORE,
            "store_manager",
            "sales_manager",
            "sales_consultant",
            "inventory_clerk",
            "finance",
        },
    ),
    ("GET", "/api/v1/group/users?limit=1", {*HQ, "store_manager"}),
    ("POST", "/api/v1/group/users", {"hq_admin"}),
    ("GET", "/api/v1/group/keys?limit=1", set(HQ)),
    ("POST", "/api/v1/group/keys", {"hq_admin"}),
    ("GET", "/api/v1/group/audit?limit=1", set(HQ)),
    ("GET", "/api/v1/group/me", set(ROLES)),
]

PASSED_AUTHORISATION = {200, 201, 207, 422}


@pytest.mark.parametrize("role", ROLES)
async def test_each_role_reaches_exactly_what_it_is_for(
    client: httpx.AsyncClient, as_user: AsUser, role: str
) -> None:
    stores = ("*",) if role in EVERY_STORE else ("SH01",)
    headers = await as_user(roles=(role,), stores=stores)
    wrong: list[str] = []
    for method, path, allowed in MATRIX:
        kwargs = {"json": {}} if method == "POST" else {}
        resp = await client.request(method, path, headers=headers, **kwargs)
        if role in allowed:
            if resp.status_code not in PASSED_AUTHORISATION:
                wrong.append(f"{method} {path}: expected to pass, got {resp.status_code}")
        elif resp.status_code != 403 or "application/problem+json" not in resp.headers.get(
            "content-type", ""
        ):
            wrong.append(f"{method} {path}: expected 403 problem, got {resp.status_code}")
    assert wrong == [], f"{role}:\n" + "\n".join(wrong)
