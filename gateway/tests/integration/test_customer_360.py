"""`GET /api/v1/group/customers/{id}/360`: CRM's customer summary over gRPC, with CRM's own
object-level access and PII masking applied to the caller's forwarded principal; 503 with
Retry-After (not a partial 200) when CRM is down.

CRM runs as its own process (`crm_upstream`); the gateway here is a replica of the session's with
crm added to its upstreams. The customer, lead, call and vehicle are made through that gateway, as
staff would: a manager puts a consultant on the roster of store GW36 (so round-robin hands them
the lead), takes in a phone lead, the consultant logs a call, the manager records a car.
"""

from __future__ import annotations

import secrets
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from marque_gateway.main import create_app
from marque_gateway.settings import GatewaySettings
from marque_kit.testing.vins import with_check_digit

AsUser = Callable[..., Awaitable[dict[str, str]]]
PartnerKey = Callable[..., Awaitable[tuple[str, dict[str, str]]]]
VIEW = "/api/v1/group/customers/{}/360"
STORE = "GW36"  # this module's own store: its roster and leads disturb no other test
OTHER_STORE = "GW37"

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def national_id(body17: str) -> str:
    """An 18-character 身份证号 with its GB 11643 check character."""
    total = sum(int(d) * w for d, w in zip(body17, _ID_WEIGHTS, strict=True))
    return body17 + "10X98765432"[total % 11]


def new_mobile() -> str:
    return "139" + "".join(secrets.choice("0123456789") for _ in range(8))


def idem() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def replica(settings: GatewaySettings) -> AsyncIterator[httpx.AsyncClient]:
    app: FastAPI = create_app(settings)
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.36", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as c:
            yield c


@pytest.fixture(scope="module")
async def gw(
    gateway_settings: GatewaySettings, crm_upstream: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """A gateway replica that routes to CRM (HTTP) and composes from it (gRPC)."""
    settings = gateway_settings.model_copy(
        update={
            "upstreams": {**gateway_settings.upstreams, "crm": crm_upstream.url},
            "grpc_upstreams": {**gateway_settings.grpc_upstreams, "crm": crm_upstream.grpc_target},
            "role": "api",
        }
    )
    async for client in replica(settings):
        yield client


@pytest.fixture(scope="module")
async def gw_without_crm(gateway_settings: GatewaySettings) -> AsyncIterator[httpx.AsyncClient]:
    """A replica whose CRM gRPC address is a closed port: CRM is down."""
    settings = gateway_settings.model_copy(
        update={"grpc_upstreams": {"crm": f"127.0.0.1:{closed_port()}"}, "role": "api"}
    )
    async for client in replica(settings):
        yield client


@dataclass
class Person:
    headers: dict[str, str]
    subject: str


async def person(app: FastAPI, settings: GatewaySettings, role: str, *stores: str) -> Person:
    """A real user row and an access token for it (as the `as_user` fixture makes, but usable
    from this module's fixtures), with its subject: the id CRM knows them by."""
    from marque_gateway.identity.tokens import issue_access_token
    from marque_gateway.models import User

    user_id = uuid.uuid4().hex
    user = User(
        id=user_id,
        username=f"t.{role}.{user_id[:8]}",
        display_name=f"360 {role}",
        password_hash="!unusable",
        roles=[role],
        stores=list(stores),
    )
    async with app.state.gateway.db.session() as session, session.begin():
        session.add(user)
    token, _ = issue_access_token(
        user_id=user_id, name=user.display_name, roles=(role,), stores=stores, settings=settings
    )
    return Person({"Authorization": f"Bearer {token}"}, user_id)


@dataclass
class Scene:
    manager: Person
    consultant: Person
    customer_id: str
    mobile: str
    national_id: str
    lead_id: str
    vin: str


@pytest.fixture(scope="module")
async def scene(
    gw: httpx.AsyncClient, gateway_app: FastAPI, gateway_settings: GatewaySettings
) -> Scene:
    manager = await person(gateway_app, gateway_settings, "store_manager", STORE)
    consultant = await person(gateway_app, gateway_settings, "sales_consultant", STORE)
    me = await gw.get("/api/v1/group/me", headers=consultant.headers)
    assert me.json()["subject"] == consultant.subject, me.text
    rostered = await gw.put(
        f"/api/v1/crm/stores/{STORE}/consultants/{consultant.subject}",
        json={"name": "360 test consultant", "role": "consultant", "on_duty": True},
        headers=manager.headers,
    )
    assert rostered.status_code in (200, 201), rostered.text

    mobile, nid = new_mobile(), national_id("31010119900307" + f"{secrets.randbelow(1000):03d}")
    customer = await gw.post(
        "/api/v1/crm/customers",
        json={
            "store_id": STORE,
            "name": "王芳",
            "mobile": mobile,
            "national_id": nid,
            "source": "phone",
            "city": "上海",
        },
        headers={**manager.headers, **idem()},
    )
    assert customer.status_code == 201, customer.text
    customer_id = customer.json()["id"]

    lead = await gw.post(
        "/api/v1/crm/leads",
        json={
            "store_id": STORE,
            "channel": "phone",
            "name": "王芳",
            "mobile": mobile,
            "model_code": "BYD-HAN",
            "grade": "A",
        },
        headers={**manager.headers, **idem()},
    )
    assert lead.status_code == 201, lead.text
    assert lead.json()["customer_id"] == customer_id
    assert lead.json()["assigned_to"] == consultant.subject, lead.text

    call = await gw.post(
        f"/api/v1/crm/customers/{customer_id}/timeline",
        json={"kind": "call", "summary": "回电: 周六到店看车 comes Saturday"},
        headers={**consultant.headers, **idem()},
    )
    assert call.status_code == 201, call.text

    # Position 10 is the model year (T = 2026); position 9 becomes the check digit.
    vin = with_check_digit(f"LGX36C0A0T{secrets.randbelow(10**7):07d}")
    car = await gw.post(
        f"/api/v1/crm/customers/{customer_id}/vehicles",
        json={"vin": vin, "bought": "elsewhere", "plate": "沪A36360", "model_code": "VW-LAVIDA"},
        headers={**manager.headers, **idem()},
    )
    assert car.status_code == 201, car.text
    return Scene(manager, consultant, customer_id, mobile, nid, lead.json()["id"], vin)


async def test_a_manager_sees_profile_open_leads_timeline_and_vehicles(
    gw: httpx.AsyncClient, scene: Scene
) -> None:
    resp = await gw.get(VIEW.format(scene.customer_id), headers=scene.manager.headers)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["customer_id"] == scene.customer_id
    assert body["merged_from"] is None
    assert body["sections"] == ["profile", "open_leads", "timeline", "vehicles"]
    assert "sales" in body["note"] and "finance" in body["note"]
    assert body["partial"] is False and body["unavailable"] == []

    profile = body["profile"]
    assert profile["customer_id"] == scene.customer_id
    assert profile["name"] == "王芳"
    assert profile["store_id"] == STORE
    # A store manager holds pii:read: the mobile and 身份证 in full.
    assert profile["mobile"] == "+86" + scene.mobile
    assert profile["national_id"] == scene.national_id

    [lead] = body["open_leads"]
    assert lead["lead_id"] == scene.lead_id
    assert (lead["channel"], lead["status"], lead["grade"]) == ("phone", "new", "A")
    assert lead["assigned_to"] == scene.consultant.subject
    assert lead["model_code"] == "BYD-HAN"
    assert lead["created_at"] is not None

    summaries = [e["summary"] for e in body["timeline"]]
    assert any("周六到店看车" in s for s in summaries), summaries
    assert any("phone" in s for s in summaries), summaries  # "New lead via phone ..."
    call = next(e for e in body["timeline"] if "周六到店看车" in e["summary"])
    assert (call["kind"], call["actor"]) == ("call", scene.consultant.subject)
    moments = [e["at"] for e in body["timeline"]]
    assert moments == sorted(moments, reverse=True), "most recent first"

    [car] = body["vehicles"]
    assert (car["vin"], car["plate"], car["bought"]) == (scene.vin, "沪A36360", "elsewhere")


async def test_the_owning_consultant_sees_it_masked(gw: httpx.AsyncClient, scene: Scene) -> None:
    resp = await gw.get(VIEW.format(scene.customer_id), headers=scene.consultant.headers)
    assert resp.status_code == 200, resp.text
    profile = resp.json()["profile"]
    # No pii:read: 138****5678 and 3101**********1234 shapes, never the real values.
    assert profile["mobile"] == f"+86 {scene.mobile[:3]}****{scene.mobile[-4:]}"
    assert profile["national_id"] == scene.national_id[:4] + "*" * 10 + scene.national_id[-4:]
    assert scene.mobile not in resp.text and scene.national_id not in resp.text
    assert [lead["lead_id"] for lead in resp.json()["open_leads"]] == [scene.lead_id]


async def test_another_consultant_of_the_store_gets_404(
    gw: httpx.AsyncClient, scene: Scene, as_user: AsUser
) -> None:
    colleague = await as_user(roles=("sales_consultant",), stores=(STORE,))
    resp = await gw.get(VIEW.format(scene.customer_id), headers=colleague)
    assert resp.status_code == 404, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert scene.mobile not in resp.text


async def test_another_stores_manager_gets_404(
    gw: httpx.AsyncClient, scene: Scene, as_user: AsUser
) -> None:
    elsewhere = await as_user(roles=("store_manager",), stores=(OTHER_STORE,))
    resp = await gw.get(VIEW.format(scene.customer_id), headers=elsewhere)
    assert resp.status_code == 404, resp.text


async def test_hq_sees_a_customer_of_any_store(
    gw: httpx.AsyncClient, scene: Scene, as_user: AsUser
) -> None:
    analyst = await as_user(roles=("hq_analyst",), stores=("*",))
    resp = await gw.get(VIEW.format(scene.customer_id), headers=analyst)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["profile"]["store_id"] == STORE
    assert [lead["lead_id"] for lead in body["open_leads"]] == [scene.lead_id]


async def test_without_customer_read_it_is_403(
    gw: httpx.AsyncClient, scene: Scene, as_user: AsUser, partner_key: PartnerKey
) -> None:
    technician = await as_user(roles=("technician",), stores=(STORE,))
    resp = await gw.get(VIEW.format(scene.customer_id), headers=technician)
    assert resp.status_code == 403, resp.text
    assert "crm.customers:read" in resp.json()["detail"]
    # A lead portal's key may push leads, not read customers.
    _, key = await partner_key(scopes=["crm.leads:create"], stores=[STORE])
    resp = await gw.get(VIEW.format(scene.customer_id), headers=key)
    assert resp.status_code == 403, resp.text


async def test_an_unknown_customer_is_404(gw: httpx.AsyncClient, scene: Scene) -> None:
    resp = await gw.get(VIEW.format(uuid.uuid4()), headers=scene.manager.headers)
    assert resp.status_code == 404, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")


async def test_the_timeline_is_limited_as_asked(gw: httpx.AsyncClient, scene: Scene) -> None:
    full = await gw.get(VIEW.format(scene.customer_id), headers=scene.manager.headers)
    assert len(full.json()["timeline"]) >= 2
    one = await gw.get(
        VIEW.format(scene.customer_id),
        params={"timeline_limit": 1},
        headers=scene.manager.headers,
    )
    assert one.status_code == 200, one.text
    assert one.json()["timeline"] == full.json()["timeline"][:1]
    for bad in (0, 101):
        resp = await gw.get(
            VIEW.format(scene.customer_id),
            params={"timeline_limit": bad},
            headers=scene.manager.headers,
        )
        assert resp.status_code == 422, resp.text


async def test_a_merged_id_answers_the_survivor(gw: httpx.AsyncClient, scene: Scene) -> None:
    duplicate = await gw.post(
        "/api/v1/crm/customers",
        json={"store_id": STORE, "name": "王芳 (dup)", "mobile": new_mobile(), "source": "website"},
        headers={**scene.manager.headers, **idem()},
    )
    assert duplicate.status_code == 201, duplicate.text
    dup_id = duplicate.json()["id"]
    merged = await gw.post(
        f"/api/v1/crm/customers/{scene.customer_id}/merge",
        json={"merged_customer_id": dup_id, "reason": "same person, second mobile"},
        headers={**scene.manager.headers, **idem()},
    )
    assert merged.status_code == 200, merged.text
    resp = await gw.get(VIEW.format(dup_id), headers=scene.manager.headers)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["customer_id"], body["merged_from"]) == (scene.customer_id, dup_id)
    assert body["profile"]["customer_id"] == scene.customer_id


async def test_with_crm_down_it_is_503_with_retry_after(
    gw_without_crm: httpx.AsyncClient, as_user: AsUser
) -> None:
    manager = await as_user(roles=("store_manager",), stores=(STORE,))
    resp = await gw_without_crm.get(VIEW.format(uuid.uuid4()), headers=manager)
    assert resp.status_code == 503, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.headers["retry-after"] == "5"
    body = resp.json()
    assert body["service"] == "crm"
    assert "CRM is not answering" in body["detail"]
