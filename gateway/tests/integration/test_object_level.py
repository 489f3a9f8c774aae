"""Object-level authorisation through the gateway, and the internal principal services demand.

Another store's object answers 404, never 403 (DESIGN.md §7), for every resource type a service
holds per store. The test is table-driven: each `StoreObject` names a resource type and how to find
the path of one object of store SH01 (looked up as HQ). For every row:

- a user of HZ01 whose role may read that resource asks for it through the gateway: 404;
- a user of SH01 with the same role asks for it: 200 (so the 404 is about the store, not the path).

Adding a service's resources later is one row each in `STORE_OBJECTS` (reads) or
`STORE_WRITES` (writes aimed at another store), e.g.

    StoreObject("crm lead", ("sales_manager",), lambda c, hq: _first(c, hq, "/api/v1/crm/leads",
                params={"store_id": "SH01"}, key="id", path="/api/v1/crm/leads/{}")),

Group-level data (inventory's catalog) belongs to no store, so it has no row.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest

from marque_kit.auth import HEADER, Principal, sign_principal

AsUser = Callable[..., Awaitable[dict[str, str]]]
Locate = Callable[[httpx.AsyncClient, dict[str, str]], Awaitable[str]]

OWNER = "SH01"
OTHER = "HZ01"


async def _get(client: httpx.AsyncClient, headers: dict[str, str], path: str, **params: Any) -> Any:
    resp = await client.get(path, params=params or None, headers=headers)
    assert resp.status_code == 200, (path, resp.text)
    return resp.json()


def _fixed(path: str) -> Locate:
    async def locate(client: httpx.AsyncClient, hq: dict[str, str]) -> str:
        return path

    return locate


async def _a_vehicle(client: httpx.AsyncClient, hq: dict[str, str]) -> str:
    page = await _get(client, hq, "/api/v1/inventory/vehicles", store_id=OWNER, limit=1)
    return f"/api/v1/inventory/vehicles/{page['items'][0]['vin']}"


async def _a_stocked_part(client: httpx.AsyncClient, hq: dict[str, str]) -> str:
    page = await _get(client, hq, f"/api/v1/inventory/stores/{OWNER}/parts", limit=50)
    stocked = [p for p in page["items"] if p["available"] > 0]
    return f"/api/v1/inventory/stores/{OWNER}/parts/{stocked[0]['part_number']}"


async def _its_movements(client: httpx.AsyncClient, hq: dict[str, str]) -> str:
    return await _a_stocked_part(client, hq) + "/movements"


async def _a_transfer(client: httpx.AsyncClient, hq: dict[str, str]) -> str:
    """A parts transfer between SH01 and BJ01 (HZ01 takes no part in it)."""
    part = (await _a_stocked_part(client, hq)).rsplit("/", 1)[1]
    resp = await client.post(
        "/api/v1/inventory/transfers",
        json={
            "kind": "parts",
            "from_store_id": OWNER,
            "to_store_id": "BJ01",
            "lines": [{"part_number": part, "quantity": 1}],
            "reason": "object-level test",
        },
        headers={**hq, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert resp.status_code == 201, resp.text
    return f"/api/v1/inventory/transfers/{resp.json()['id']}"


@dataclass(frozen=True)
class StoreObject:
    """A resource type held per store: who may read it, and how to find one of SH01's."""

    resource: str
    roles: tuple[str, ...]
    locate: Locate


STORE_OBJECTS = [
    StoreObject("vehicle", ("sales_manager",), _a_vehicle),
    StoreObject(
        "vehicle list of a store",
        ("sales_manager",),
        _fixed(f"/api/v1/inventory/stock/by-model?store_id={OWNER}"),
    ),
    StoreObject(
        "parts stock of a store",
        ("parts_clerk",),
        _fixed(f"/api/v1/inventory/stores/{OWNER}/parts"),
    ),
    StoreObject("part stock", ("parts_clerk",), _a_stocked_part),
    StoreObject("part movements", ("parts_clerk",), _its_movements),
    StoreObject("transfer", ("inventory_clerk",), _a_transfer),
    StoreObject(
        "stock age (库龄) of a store",
        ("store_manager",),
        _fixed(f"/api/v1/inventory/stock/ageing?store_id={OWNER}"),
    ),
    StoreObject(
        "safety-stock rules",
        ("store_manager",),
        _fixed(f"/api/v1/inventory/stores/{OWNER}/safety-stock"),
    ),
    StoreObject(
        "composed stock summary",
        ("store_manager",),
        _fixed(f"/api/v1/group/stores/{OWNER}/stock-summary"),
    ),
]


@pytest.mark.parametrize("case", STORE_OBJECTS, ids=[c.resource for c in STORE_OBJECTS])
async def test_another_stores_object_is_404(
    client: httpx.AsyncClient, as_user: AsUser, case: StoreObject
) -> None:
    hq = await as_user(roles=("hq_admin",), stores=("*",))
    path = await case.locate(client, hq)
    outsider = await as_user(roles=case.roles, stores=(OTHER,))
    resp = await client.get(path, headers=outsider)
    assert resp.status_code == 404, (case.resource, path, resp.text)
    assert resp.headers["content-type"].startswith("application/problem+json")
    insider = await as_user(roles=case.roles, stores=(OWNER,))
    assert (await client.get(path, headers=insider)).status_code == 200, (case.resource, path)


@dataclass(frozen=True)
class StoreWrite:
    """A write aimed at another store's object: what, who may do it at home, and the request."""

    resource: str
    roles: tuple[str, ...]
    method: str
    path: str
    body: dict[str, Any]


STORE_WRITES = [
    StoreWrite(
        "vehicle receipt into another store",
        ("inventory_clerk",),
        "POST",
        "/api/v1/inventory/vehicles",
        {
            "vin": "LGXCE6CB5TR990001",
            "store_id": OWNER,
            "trim_code": "BYD-HAN-EV-610",
            "colour_code": "WHT",
            "model_year": 2026,
        },
    ),
    StoreWrite(
        "parts receipt into another store",
        ("parts_clerk",),
        "POST",
        f"/api/v1/inventory/stores/{OWNER}/parts/receipts",
        {"part_number": "X", "quantity": 1, "reference": "PO-1"},
    ),
    StoreWrite(
        "safety-stock rule of another store",
        ("store_manager",),
        "PUT",
        f"/api/v1/inventory/stores/{OWNER}/safety-stock",
        {"model_code": "BYD-HAN", "minimum": 3},
    ),
]


@pytest.mark.parametrize("case", STORE_WRITES, ids=[c.resource for c in STORE_WRITES])
async def test_a_write_to_another_stores_object_is_404(
    client: httpx.AsyncClient, as_user: AsUser, case: StoreWrite
) -> None:
    outsider = await as_user(roles=case.roles, stores=(OTHER,))
    resp = await client.request(
        case.method,
        case.path,
        json=case.body,
        headers={**outsider, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert resp.status_code == 404, (case.resource, resp.text)


# --- function-level: a role without the permission --------------------------------------------


async def test_a_technician_receiving_a_vehicle_is_403(
    client: httpx.AsyncClient, as_user: AsUser
) -> None:
    technician = await as_user(roles=("technician",), stores=(OWNER,))
    resp = await client.post(
        "/api/v1/inventory/vehicles",
        json=STORE_WRITES[0].body,
        headers={**technician, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert resp.status_code == 403, resp.text
    assert "inventory.vehicles:write" in resp.json()["detail"]


# --- the internal principal: services trust only the gateway ------------------------------------


async def test_calling_a_service_directly_without_a_principal_is_401(
    inventory_upstream: Any,
) -> None:
    async with httpx.AsyncClient(base_url=inventory_upstream.url) as direct:
        resp = await direct.get("/api/v1/inventory/vehicles")
    assert resp.status_code == 401
    assert resp.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(
            lambda: sign_principal(
                Principal(subject="mallory", roles=("hq_admin",), stores=("*",)),
                "not-the-internal-secret-0123456789",
            ),
            id="signed with another secret",
        ),
        pytest.param(
            lambda: jwt.encode(
                {"iss": "marque-gateway", "sub": "mallory", "roles": ["hq_admin"], "exp": 2**40},
                key="",
                algorithm="none",
            ),
            id="alg none",
        ),
        pytest.param(lambda: "not-a-token", id="garbage"),
    ],
)
async def test_calling_a_service_directly_with_a_forged_principal_is_401(
    inventory_upstream: Any, forge: Callable[[], str]
) -> None:
    async with httpx.AsyncClient(base_url=inventory_upstream.url) as direct:
        resp = await direct.get("/api/v1/inventory/vehicles", headers={HEADER: forge()})
    assert resp.status_code == 401


async def test_an_expired_principal_is_401(inventory_upstream: Any, gateway_settings: Any) -> None:
    token = sign_principal(
        Principal(subject="u", roles=("hq_admin",), stores=("*",)),
        gateway_settings.internal_secret,
        ttl_seconds=60,
        now=1_000_000,
    )
    async with httpx.AsyncClient(base_url=inventory_upstream.url) as direct:
        resp = await direct.get("/api/v1/inventory/vehicles", headers={HEADER: token})
    assert resp.status_code == 401
    assert "expired" in resp.json()["detail"]
