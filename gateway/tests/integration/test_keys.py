"""Partner API keys: issued once and stored hashed, revoked and expired keys refused with the
reason, rotation with a grace period, changes under If-Match, and store scoping of a key."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from marque_gateway.models import ApiKey
from marque_gateway.partners import keys

AsUser = Callable[..., Awaitable[dict[str, str]]]
PartnerKey = Callable[..., Awaitable[tuple[str, dict[str, str]]]]

KEYS = "/api/v1/group/keys"


def new_key_body(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "partner": "autohome",
        "name": "lead sync",
        "scopes": ["inventory.vehicles:read", "crm.leads:create"],
        "stores": ["SH01"],
        "rate_limit_per_minute": 60,
    }
    body.update(overrides)
    return body


async def test_a_new_key_is_shown_once_and_only_its_hash_is_stored(
    client: httpx.AsyncClient, gateway_app: FastAPI, as_user: AsUser
) -> None:
    admin = await as_user()
    resp = await client.post(KEYS, json=new_key_body(), headers=admin)
    assert resp.status_code == 201, resp.text
    issued = resp.json()
    raw = issued["key"]
    assert raw.startswith("mq_" + issued["id"] + "_")
    assert "shown" in issued["note"] and "never" in issued["note"]
    assert resp.headers["cache-control"] == "no-store"
    assert resp.headers["location"] == f"{KEYS}/{issued['id']}"
    assert issued["status"] == "active" and issued["scopes"] == [
        "inventory.vehicles:read",
        "crm.leads:create",
    ]

    secret = raw.split("_", 2)[2]
    async with gateway_app.state.gateway.db.session() as session:
        row = await session.get(ApiKey, issued["id"])
        dumped = (
            await session.execute(
                text("SELECT row_to_json(k)::text FROM api_keys k WHERE id = :id"),
                {"id": issued["id"]},
            )
        ).scalar_one()
    assert row is not None and row.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in dumped and raw not in dumped

    # Never again: neither the list nor the key's own page shows the secret or its hash.
    one = await client.get(f"{KEYS}/{issued['id']}", headers=admin)
    listed = await client.get(KEYS, params={"partner": "autohome", "limit": 200}, headers=admin)
    assert one.status_code == 200 and listed.status_code == 200
    for text_ in (one.text, listed.text):
        assert secret not in text_ and row.secret_hash not in text_
        assert '"key"' not in text_ and "secret" not in text_
    assert issued["id"] in {k["id"] for k in listed.json()["items"]}

    # And it works: the partner is who the key says, with its scopes and stores.
    me = await client.get("/api/v1/group/me", headers={"X-API-Key": raw})
    assert me.status_code == 200, me.text
    assert me.json()["kind"] == "partner" and me.json()["stores"] == ["SH01"]
    assert me.json()["rate_limit_per_minute"] == 60


async def test_the_key_also_works_as_a_bearer_token(
    client: httpx.AsyncClient, partner_key: PartnerKey
) -> None:
    raw, _ = await partner_key()
    me = await client.get("/api/v1/group/me", headers={"Authorization": f"Bearer {raw}"})
    assert me.status_code == 200 and me.json()["kind"] == "partner"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"scopes": ["*"]}, "scopes"),
        ({"scopes": ["crm.*"]}, "scopes"),
        ({"scopes": ["group.users:write"]}, "scopes"),
        ({"stores": ["*"]}, "stores"),
        ({"expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
        ({"rate_limit_per_minute": 0}, "rate_limit_per_minute"),
    ],
)
async def test_a_key_that_grants_too_much_is_refused_with_422(
    client: httpx.AsyncClient, as_user: AsUser, overrides: dict[str, object], field: str
) -> None:
    resp = await client.post(KEYS, json=new_key_body(**overrides), headers=await as_user())
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert any(field in e["field"] for e in resp.json()["errors"])


async def test_only_hq_admin_administers_keys(
    client: httpx.AsyncClient, as_user: AsUser, partner_key: PartnerKey
) -> None:
    manager = await as_user(roles=("store_manager",), stores=("SH01",))
    analyst = await as_user(roles=("hq_analyst",), stores=("*",))
    assert (await client.post(KEYS, json=new_key_body(), headers=manager)).status_code == 403
    assert (await client.get(KEYS, headers=manager)).status_code == 403
    assert (await client.post(KEYS, json=new_key_body(), headers=analyst)).status_code == 403
    assert (await client.get(KEYS, headers=analyst)).status_code == 200
    # A partner cannot mint itself more keys.
    _, partner = await partner_key(scopes=["group.webhooks:write"])
    assert (await client.post(KEYS, json=new_key_body(), headers=partner)).status_code == 403


async def test_a_revoked_key_is_401_naming_the_revocation(
    client: httpx.AsyncClient, as_user: AsUser, partner_key: PartnerKey
) -> None:
    raw, headers = await partner_key()
    key_id = raw.split("_")[1]
    assert (await client.get("/api/v1/group/me", headers=headers)).status_code == 200

    resp = await client.post(f"{KEYS}/{key_id}/revoke", headers=await as_user())
    assert resp.status_code == 200 and resp.json()["status"] == "revoked"

    refused = await client.get("/api/v1/group/me", headers=headers)
    assert refused.status_code == 401
    assert "revoked" in refused.json()["detail"] and key_id in refused.json()["detail"]
    # Revoking twice changes nothing.
    again = await client.post(f"{KEYS}/{key_id}/revoke", headers=await as_user())
    assert again.status_code == 200 and again.json()["revoked_at"] == resp.json()["revoked_at"]


async def test_an_expired_key_is_401_naming_the_expiry(
    client: httpx.AsyncClient, partner_key: PartnerKey
) -> None:
    _, headers = await partner_key(expires_at=datetime.now(UTC) - timedelta(minutes=1))
    refused = await client.get("/api/v1/group/me", headers=headers)
    assert refused.status_code == 401
    assert "expired" in refused.json()["detail"]


async def test_rotation_keeps_the_old_key_for_the_grace_period(
    client: httpx.AsyncClient, as_user: AsUser, gateway_app: FastAPI
) -> None:
    admin = await as_user()
    created = (
        await client.post(
            KEYS,
            json=new_key_body(expires_at=(datetime.now(UTC) + timedelta(days=30)).isoformat()),
            headers=admin,
        )
    ).json()
    old_raw = created["key"]

    resp = await client.post(f"{KEYS}/{created['id']}/rotate", headers=admin)
    assert resp.status_code == 201, resp.text
    rotation = resp.json()
    new = rotation["new_key"]
    assert new["key"] != old_raw and new["id"] != created["id"]
    for same in ("partner", "scopes", "stores", "rate_limit_per_minute"):
        assert new[same] == created[same]
    # The new key lives as long as the old one was meant to (30 days).
    lifetime = datetime.fromisoformat(new["expires_at"]) - datetime.now(UTC)
    assert timedelta(days=29) < lifetime <= timedelta(days=30)
    assert rotation["old_key"]["status"] == "rotating"
    assert rotation["old_key"]["rotated_to"] == new["id"]
    stops = datetime.fromisoformat(rotation["old_key_stops_at"]) - datetime.now(UTC)
    assert timedelta(hours=23) < stops <= timedelta(hours=24)

    # Both keys work during the grace period.
    for raw in (old_raw, new["key"]):
        assert (await client.get("/api/v1/group/me", headers={"X-API-Key": raw})).status_code == 200
    # A key is rotated once; rotate its replacement instead.
    twice = await client.post(f"{KEYS}/{created['id']}/rotate", headers=admin)
    assert twice.status_code == 409 and new["id"] in twice.json()["detail"]

    # Without a grace period the old key stops at once and names its replacement.
    rotation2 = await keys.rotate_key(
        gateway_app.state.gateway.db, key_id=new["id"], grace_hours=0, rotated_by="tests"
    )
    refused = await client.get("/api/v1/group/me", headers={"X-API-Key": new["key"]})
    assert refused.status_code == 401
    assert "rotated" in refused.json()["detail"] and rotation2.new.id in refused.json()["detail"]
    fresh = await client.get("/api/v1/group/me", headers={"X-API-Key": rotation2.raw_key})
    assert fresh.status_code == 200


async def test_a_revoked_key_cannot_be_rotated(
    client: httpx.AsyncClient, as_user: AsUser, partner_key: PartnerKey
) -> None:
    admin = await as_user()
    raw, _ = await partner_key()
    key_id = raw.split("_")[1]
    await client.post(f"{KEYS}/{key_id}/revoke", headers=admin)
    resp = await client.post(f"{KEYS}/{key_id}/rotate", headers=admin)
    assert resp.status_code == 409 and "revoked" in resp.json()["detail"]
    assert (await client.post(f"{KEYS}/nosuchkey/rotate", headers=admin)).status_code == 404


async def test_changing_a_key_needs_if_match_and_takes_effect_at_once(
    client: httpx.AsyncClient, as_user: AsUser, partner_key: PartnerKey
) -> None:
    admin = await as_user()
    raw, partner = await partner_key(stores=["SH01"])
    key_id = raw.split("_")[1]
    read = await client.get(f"{KEYS}/{key_id}", headers=admin)
    etag = read.headers["etag"]
    change = {"stores": ["SH01", "HZ01"], "rate_limit_per_minute": 30}

    missing = await client.patch(f"{KEYS}/{key_id}", json=change, headers=admin)
    assert missing.status_code == 428
    resp = await client.patch(f"{KEYS}/{key_id}", json=change, headers={**admin, "If-Match": etag})
    assert resp.status_code == 200, resp.text
    assert resp.json()["stores"] == ["SH01", "HZ01"] and resp.json()["version"] == 2
    stale = await client.patch(
        f"{KEYS}/{key_id}", json={"rate_limit_per_minute": 10}, headers={**admin, "If-Match": etag}
    )
    assert stale.status_code == 412
    bad = await client.patch(
        f"{KEYS}/{key_id}",
        json={"scopes": ["*"]},
        headers={**admin, "If-Match": resp.headers["etag"]},
    )
    assert bad.status_code == 422

    me = (await client.get("/api/v1/group/me", headers=partner)).json()
    assert me["stores"] == ["SH01", "HZ01"] and me["rate_limit_per_minute"] == 30


async def test_a_partner_outside_its_stores_gets_404(
    client: httpx.AsyncClient, partner_key: PartnerKey
) -> None:
    _, partner = await partner_key(scopes=["inventory.parts:read"], stores=["SH01"])
    own = await client.get("/api/v1/inventory/stores/SH01/parts", headers=partner)
    if own.status_code == 404 and "Nothing is served" in own.json().get("detail", ""):
        pytest.skip("the router to the services is not wired into the gateway yet")
    assert own.status_code == 200, own.text
    other = await client.get("/api/v1/inventory/stores/BJ01/parts", headers=partner)
    assert other.status_code == 404, other.text
    # And a scope the key does not hold is 403.
    vehicles = await client.get("/api/v1/inventory/vehicles", headers=partner)
    assert vehicles.status_code == 403, vehicles.text


async def test_a_demo_key_is_refused_in_production(gateway_app: FastAPI) -> None:
    from marque_gateway.gateway import Gateway
    from marque_gateway.partners.keys import authenticate_key, issue_key
    from marque_gateway.settings import GatewaySettings
    from marque_kit.errors import Unauthenticated

    gateway = gateway_app.state.gateway
    _, raw = await issue_key(
        gateway.db,
        partner="demo-partner",
        name="a demo key",
        scopes=["inventory.vehicles:read"],
        stores=["SH01"],
        rate_limit_per_minute=60,
        expires_at=None,
        created_by="tests",
        is_demo=True,
    )
    assert (await authenticate_key(gateway, raw)).kind == "partner"  # fine outside production

    real = "r" * 40
    production = GatewaySettings(
        env="production",
        internal_secret=real,
        pii_key=real,
        jwt_secret=real,
        webhook_key=real,
        amqp_url="amqp://marque:s3cret@rabbitmq:5672/",
    )
    with pytest.raises(Unauthenticated, match="demo key"):
        await authenticate_key(Gateway(settings=production, db=gateway.db, redis=None), raw)
