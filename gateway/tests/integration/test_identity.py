"""Staff identity through the real gateway app: sign-in, lock-out, refresh rotation and reuse
detection, sign-out, passwords, administration with object-level scoping, /me, the demo seed and
tampered access tokens."""

from __future__ import annotations

import base64
import json
import time
import warnings
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from marque_gateway.gateway import Gateway
from marque_gateway.identity import accounts, demo
from marque_gateway.identity.passwords import Passwords
from marque_gateway.identity.tokens import issue_access_token
from marque_gateway.models import RefreshToken, User
from marque_gateway.settings import GatewaySettings
from marque_kit.errors import Forbidden
from marque_kit.permissions import permissions_of

USERS = "/api/v1/group/users"
STAFF_PASSWORD = "Correct-horse-2026"  # the `staff_user` fixture's default password
MakeUser = Callable[..., Awaitable[Any]]
Login = Callable[..., Awaitable[dict[str, Any]]]
AsUser = Callable[..., Awaitable[dict[str, str]]]


def token_form(username: str, password: str) -> dict[str, str]:
    return {"grant_type": "password", "username": username, "password": password}


async def sign_in(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await client.post("/auth/token", data=token_form(username, password))


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["detail"]
    return body


@pytest.fixture
async def admin(as_user: AsUser) -> dict[str, str]:
    return await as_user(roles=("hq_admin",), stores=("*",))


async def user_row(gateway_app: FastAPI, user_id: str) -> User:
    async with gateway_app.state.gateway.db.session() as session:
        user = await session.get(User, user_id)
    assert user is not None
    return user


# --- sign-in -------------------------------------------------------------------------------------


async def test_login_answers_tokens_that_open_the_api(
    client: httpx.AsyncClient, staff_user: MakeUser, gateway_app: FastAPI
) -> None:
    user = await staff_user(roles=("technician",), stores=("SH01",))
    response = await sign_in(client, user.username.upper(), STAFF_PASSWORD)  # case-insensitive
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    tokens = response.json()
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 900
    assert tokens["must_change_password"] is False
    assert tokens["refresh_token"] and tokens["access_token"]
    header = jwt.get_unverified_header(tokens["access_token"])
    assert header == {"alg": "HS256", "typ": "at+jwt"}

    me = await client.get(
        "/api/v1/group/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert me.status_code == 200, me.text
    assert me.json()["subject"] == user.id
    assert (await user_row(gateway_app, user.id)).last_login_at is not None


async def test_wrong_password_and_unknown_user_get_the_same_401(
    client: httpx.AsyncClient, staff_user: MakeUser
) -> None:
    user = await staff_user()
    for username, password in (
        (user.username, "Wrong-password-1"),
        ("nobody.here", STAFF_PASSWORD),
        ("not a username!", STAFF_PASSWORD),
    ):
        response = await sign_in(client, username, password)
        body = assert_problem(response, 401)
        assert body["detail"] == "The username or password is not right."
        assert body["error"] == "invalid_grant"
        assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        ({}, 400, "invalid_request"),
        ({"grant_type": "password", "username": "someone"}, 400, "invalid_request"),
        ({"grant_type": "refresh_token"}, 400, "invalid_request"),
        ({"grant_type": "client_credentials"}, 400, "unsupported_grant_type"),
    ],
)
async def test_token_endpoint_refuses_incomplete_requests(
    client: httpx.AsyncClient, form: dict[str, str], status: int, error: str
) -> None:
    response = await client.post("/auth/token", data=form)
    assert assert_problem(response, status)["error"] == error
    assert response.headers["cache-control"] == "no-store"


async def test_login_rehashes_a_password_made_with_old_parameters(
    client: httpx.AsyncClient, staff_user: MakeUser, gateway_app: FastAPI
) -> None:
    user = await staff_user()
    old = Passwords(time_cost=2, memory_kib=8192, parallelism=1).hash(STAFF_PASSWORD)
    async with gateway_app.state.gateway.db.session() as session, session.begin():
        row = await session.get(User, user.id)
        assert row is not None
        row.password_hash = old
    assert (await sign_in(client, user.username, STAFF_PASSWORD)).status_code == 200
    rehashed = (await user_row(gateway_app, user.id)).password_hash
    assert rehashed != old and "t=1" in rehashed


# --- lock-out ------------------------------------------------------------------------------------


async def test_lock_out_after_repeated_failures_until_an_admin_unlocks(
    client: httpx.AsyncClient,
    staff_user: MakeUser,
    admin: dict[str, str],
    gateway_settings: GatewaySettings,
) -> None:
    user = await staff_user()
    threshold = gateway_settings.lockout_threshold
    for _ in range(threshold - 1):
        assert_problem(await sign_in(client, user.username, "Wrong-password-1"), 401)
    locking = assert_problem(await sign_in(client, user.username, "Wrong-password-1"), 403)
    assert "locked" in locking["detail"]

    # Even the right password is refused now, with when it unlocks and who can unlock it.
    refused = assert_problem(await sign_in(client, user.username, STAFF_PASSWORD), 403)
    assert "unlocks by itself at" in refused["detail"]
    assert "administrator can unlock" in refused["detail"]
    assert refused["locked_until"]

    seen = await client.get(f"{USERS}/{user.id}", headers=admin)
    assert seen.json()["locked"] is True

    unlocked = await client.post(f"{USERS}/{user.id}/unlock", headers=admin)
    assert unlocked.status_code == 200, unlocked.text
    assert unlocked.json()["locked"] is False and unlocked.json()["failed_logins"] == 0
    assert (await sign_in(client, user.username, STAFF_PASSWORD)).status_code == 200


async def test_a_success_resets_the_failure_count(
    client: httpx.AsyncClient, staff_user: MakeUser, gateway_settings: GatewaySettings
) -> None:
    user = await staff_user()
    for _ in range(2):
        for _ in range(gateway_settings.lockout_threshold - 1):
            assert_problem(await sign_in(client, user.username, "Wrong-password-1"), 401)
        assert (await sign_in(client, user.username, STAFF_PASSWORD)).status_code == 200


# --- refresh tokens ------------------------------------------------------------------------------


async def test_refresh_rotates_and_reuse_revokes_the_family(
    client: httpx.AsyncClient, staff_user: MakeUser, login: Login, gateway_app: FastAPI
) -> None:
    user = await staff_user()
    first = await login(user.username)
    second = await client.post(
        "/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
    )
    assert second.status_code == 200, second.text
    assert second.headers["cache-control"] == "no-store"
    assert second.json()["refresh_token"] != first["refresh_token"]
    third = await client.post(
        "/auth/refresh", json={"refresh_token": second.json()["refresh_token"]}
    )
    assert third.status_code == 200, third.text
    me = await client.get(
        "/api/v1/group/me", headers={"Authorization": f"Bearer {third.json()['access_token']}"}
    )
    assert me.status_code == 200

    # A second sign-in is another family, untouched by what follows.
    other = await login(user.username)

    # The first token, used already, comes back: someone copied it. The family ends.
    reused = await client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert "already used" in assert_problem(reused, 401)["detail"]
    assert reused.headers["cache-control"] == "no-store"
    latest = await client.post(
        "/auth/refresh", json={"refresh_token": third.json()["refresh_token"]}
    )
    assert_problem(latest, 401)

    async with gateway_app.state.gateway.db.session() as session:
        tokens = (
            (await session.execute(select(RefreshToken).where(RefreshToken.user_id == user.id)))
            .scalars()
            .all()
        )
    assert all(len(t.token_hash) == 64 for t in tokens)
    assert first["refresh_token"] not in {t.token_hash for t in tokens}
    families = {t.family_id for t in tokens}
    assert len(families) == 2
    revoked = {t.family_id for t in tokens if t.revoked_at is not None}
    assert len(revoked) == 1

    still = await client.post("/auth/refresh", json={"refresh_token": other["refresh_token"]})
    assert still.status_code == 200, still.text


async def test_unknown_refresh_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.post("/auth/refresh", json={"refresh_token": "made-up"})
    assert assert_problem(response, 401)["error"] == "invalid_grant"


async def test_logout_ends_the_sign_in(
    client: httpx.AsyncClient, staff_user: MakeUser, login: Login
) -> None:
    user = await staff_user()
    tokens = await login(user.username)
    kept = await login(user.username)
    out = await client.post(
        "/auth/logout", json={"refresh_token": tokens["refresh_token"]}, headers=tokens["headers"]
    )
    assert out.status_code == 204, out.text
    after = await client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert_problem(after, 401)
    assert (
        await client.post("/auth/refresh", json={"refresh_token": kept["refresh_token"]})
    ).status_code == 200

    # Without a token: every sign-in ends.
    fresh = await login(user.username)
    assert (await client.post("/auth/logout", headers=fresh["headers"])).status_code == 204
    assert_problem(
        await client.post("/auth/refresh", json={"refresh_token": fresh["refresh_token"]}), 401
    )
    assert_problem(await client.post("/auth/logout"), 401)  # needs a signed-in caller


# --- passwords -----------------------------------------------------------------------------------


async def test_change_password(
    client: httpx.AsyncClient, staff_user: MakeUser, login: Login
) -> None:
    user = await staff_user()
    tokens = await login(user.username)
    other_session = await login(user.username)
    headers = tokens["headers"]

    wrong = await client.post(
        "/auth/password",
        json={"current_password": "Not-my-password-1", "new_password": "Brand-new-2027"},
        headers=headers,
    )
    assert assert_problem(wrong, 422)["errors"][0]["field"] == "current_password"
    weak = await client.post(
        "/auth/password",
        json={"current_password": STAFF_PASSWORD, "new_password": "short"},
        headers=headers,
    )
    assert "at least 10 characters" in assert_problem(weak, 422)["detail"]

    changed = await client.post(
        "/auth/password",
        json={"current_password": STAFF_PASSWORD, "new_password": "Brand-new-2027"},
        headers=headers,
    )
    assert changed.status_code == 200, changed.text
    assert changed.headers["cache-control"] == "no-store"
    assert changed.json()["must_change_password"] is False

    assert_problem(await sign_in(client, user.username, STAFF_PASSWORD), 401)
    assert (await sign_in(client, user.username, "Brand-new-2027")).status_code == 200
    # Other sign-ins end; the pair answered by the change keeps working.
    assert_problem(
        await client.post("/auth/refresh", json={"refresh_token": other_session["refresh_token"]}),
        401,
    )
    assert (
        await client.post("/auth/refresh", json={"refresh_token": changed.json()["refresh_token"]})
    ).status_code == 200


async def test_admin_reset_gives_a_temporary_password_to_change(
    client: httpx.AsyncClient, staff_user: MakeUser, login: Login, admin: dict[str, str]
) -> None:
    user = await staff_user()
    before = await login(user.username)
    reset = await client.post(f"{USERS}/{user.id}/reset-password", headers=admin)
    assert reset.status_code == 200, reset.text
    assert reset.headers["cache-control"] == "no-store"
    temporary = reset.json()["temporary_password"]
    assert reset.json()["user"]["must_change_password"] is True

    assert_problem(await sign_in(client, user.username, STAFF_PASSWORD), 401)
    assert_problem(
        await client.post("/auth/refresh", json={"refresh_token": before["refresh_token"]}), 401
    )
    tokens = await login(user.username, temporary)
    assert tokens["must_change_password"] is True
    changed = await client.post(
        "/auth/password",
        json={"current_password": temporary, "new_password": "Mine-again-2027"},
        headers=tokens["headers"],
    )
    assert changed.status_code == 200, changed.text
    assert (await login(user.username, "Mine-again-2027"))["must_change_password"] is False


async def test_disabled_user_cannot_sign_in_or_refresh(
    client: httpx.AsyncClient, staff_user: MakeUser, login: Login, admin: dict[str, str]
) -> None:
    user = await staff_user()
    tokens = await login(user.username)
    disabled = await client.post(f"{USERS}/{user.id}/disable", headers=admin)
    assert disabled.status_code == 200 and disabled.json()["disabled"] is True

    refused = assert_problem(await sign_in(client, user.username, STAFF_PASSWORD), 403)
    assert "disabled" in refused["detail"]
    assert_problem(
        await client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]}), 401
    )
    enabled = await client.post(f"{USERS}/{user.id}/enable", headers=admin)
    assert enabled.json()["disabled"] is False
    assert (await sign_in(client, user.username, STAFF_PASSWORD)).status_code == 200


# --- administration ------------------------------------------------------------------------------


def new_user(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "username": f"t.new.{time.time_ns()}",
        "password": "First-day-2026",
        "display_name": "李娜 Li Na",
        "roles": ["sales_consultant"],
        "stores": ["SH01"],
    }
    return body | changes


async def test_create_user(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    body = new_user(username=f"T.Create.{time.time_ns()}")
    created = await client.post(USERS, json=body, headers=admin)
    assert created.status_code == 201, created.text
    out = created.json()
    assert out["username"] == body["username"].lower()
    assert out["must_change_password"] is True
    assert created.headers["location"] == f"{USERS}/{out['id']}"
    assert created.headers["etag"] == '"1"'
    assert "password_hash" not in out and "password" not in out
    assert "argon2" not in created.text

    tokens = await sign_in(client, body["username"], body["password"])
    assert tokens.json()["must_change_password"] is True

    duplicate = await client.post(
        USERS, json=new_user(username=body["username"].upper()), headers=admin
    )
    assert "taken" in assert_problem(duplicate, 409)["detail"]


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"username": "has space"}, "username"),
        ({"password": "short"}, "at least 10"),
        ({"password": "alllowercaseletters"}, "two kinds"),
        ({"roles": ["hq_analyst"], "stores": ["SH01"]}, '["*"]'),
        ({"roles": ["technician"], "stores": ["*"]}, "only for hq_admin"),
        ({"roles": ["technician"], "stores": []}, "at least one"),
        ({"roles": ["partner"]}, "not a staff role"),
        ({"roles": ["ceo"]}, "Unknown role"),
        ({"roles": []}, "roles"),
    ],
)
async def test_create_user_validation(
    client: httpx.AsyncClient, admin: dict[str, str], changes: dict[str, Any], needle: str
) -> None:
    response = await client.post(USERS, json=new_user(**changes), headers=admin)
    assert needle in assert_problem(response, 422)["detail"]


async def test_password_equal_to_username_is_refused(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    response = await client.post(
        USERS, json=new_user(username="t.same.1234", password="T.Same.1234"), headers=admin
    )
    assert "username" in assert_problem(response, 422)["detail"]


async def test_patch_needs_the_current_version(
    client: httpx.AsyncClient, staff_user: MakeUser, admin: dict[str, str]
) -> None:
    user = await staff_user(roles=("technician",), stores=("SH01",))
    url = f"{USERS}/{user.id}"
    got = await client.get(url, headers=admin)
    version = got.headers["etag"]

    missing = await client.patch(url, json={"roles": ["parts_clerk"]}, headers=admin)
    assert_problem(missing, 428)
    ok = await client.patch(
        url,
        json={"roles": ["parts_clerk"], "stores": ["SH01", "HZ01"], "display_name": "Sun Li"},
        headers=admin | {"If-Match": version},
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["roles"] == ["parts_clerk"] and ok.json()["stores"] == ["SH01", "HZ01"]
    assert ok.headers["etag"] != version

    stale = await client.patch(
        url, json={"display_name": "Someone else"}, headers=admin | {"If-Match": version}
    )
    assert "Reload" in assert_problem(stale, 412)["detail"]
    bad = await client.patch(
        url, json={"roles": ["hq_admin"]}, headers=admin | {"If-Match": ok.headers["etag"]}
    )
    assert_problem(bad, 422)  # hq_admin needs stores ["*"]: never half-applied
    assert (await client.get(url, headers=admin)).json()["roles"] == ["parts_clerk"]


async def test_store_manager_sees_only_users_of_their_stores(
    client: httpx.AsyncClient, staff_user: MakeUser, as_user: AsUser
) -> None:
    mine = await staff_user(roles=("technician",), stores=("SH01",))
    both = await staff_user(roles=("parts_clerk",), stores=("HZ01", "SH01"))
    theirs = await staff_user(roles=("technician",), stores=("HZ01",))
    manager = await as_user(roles=("store_manager",), stores=("SH01",))

    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 50} | ({"cursor": cursor} if cursor else {})
        page = await client.get(USERS, params=params, headers=manager)
        assert page.status_code == 200, page.text
        seen.extend(page.json()["items"])
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    ids = {u["id"] for u in seen}
    assert {mine.id, both.id} <= ids and theirs.id not in ids
    assert all("SH01" in u["stores"] for u in seen)

    assert (await client.get(f"{USERS}/{mine.id}", headers=manager)).status_code == 200
    assert_problem(await client.get(f"{USERS}/{theirs.id}", headers=manager), 404)
    # Reading is not writing: a store manager cannot change accounts.
    assert_problem(await client.post(f"{USERS}/{mine.id}/disable", headers=manager), 403)


async def test_list_filters(
    client: httpx.AsyncClient, staff_user: MakeUser, admin: dict[str, str]
) -> None:
    tag = f"flt{time.time_ns()}"
    finance = await staff_user(roles=("finance",), stores=("CD01",), username=f"t.{tag}.a")
    await staff_user(roles=("technician",), stores=("CD01",), username=f"t.{tag}.b")
    by_role = await client.get(USERS, params={"q": tag, "role": "finance"}, headers=admin)
    assert [u["id"] for u in by_role.json()["items"]] == [finance.id]
    by_store = await client.get(USERS, params={"q": tag, "store": "cd01"}, headers=admin)
    assert len(by_store.json()["items"]) == 2
    first = await client.get(USERS, params={"q": tag, "limit": 1}, headers=admin)
    assert first.json()["next_cursor"]
    second = await client.get(
        USERS, params={"q": tag, "limit": 1, "cursor": first.json()["next_cursor"]}, headers=admin
    )
    assert second.json()["items"][0]["id"] != first.json()["items"][0]["id"]
    assert_problem(await client.get(USERS, params={"cursor": "junk"}, headers=admin), 422)


async def test_technician_cannot_create_users(client: httpx.AsyncClient, as_user: AsUser) -> None:
    technician = await as_user(roles=("technician",), stores=("SH01",))
    response = await client.post(USERS, json=new_user(), headers=technician)
    assert "group.users:write" in assert_problem(response, 403)["detail"]
    assert_problem(await client.get(USERS, headers=technician), 403)


async def test_permissions_are_named_in_openapi(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    assert "/auth/token" in schema["paths"]
    create = schema["paths"][USERS]["post"]
    assert "group.users:write" in json.dumps(create)


async def test_admin_cannot_disable_themselves(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    me = (await client.get("/api/v1/group/me", headers=admin)).json()
    assert_problem(await client.post(f"{USERS}/{me['subject']}/disable", headers=admin), 409)


# --- /me -----------------------------------------------------------------------------------------


async def test_me_for_a_user(client: httpx.AsyncClient, as_user: AsUser) -> None:
    headers = await as_user(roles=("sales_manager",), stores=("SH01",), name="李娜 Li Na")
    me = await client.get("/api/v1/group/me", headers=headers)
    assert me.status_code == 200, me.text
    body = me.json()
    assert body["kind"] == "user" and body["name"] == "李娜 Li Na"
    assert body["roles"] == ["sales_manager"] and body["stores"] == ["SH01"]
    assert body["permissions"] == permissions_of(["sales_manager"])
    assert body["partner"] is None


async def test_me_for_a_partner(
    client: httpx.AsyncClient,
    partner_key: Callable[..., Awaitable[tuple[str, dict[str, str]]]],
) -> None:
    key, headers = await partner_key(
        scopes=["inventory.vehicles:read", "crm.leads:create"],
        stores=["SH01", "HZ01"],
        partner="autohome",
        rate_limit_per_minute=77,
    )
    body = (await client.get("/api/v1/group/me", headers=headers)).json()
    assert body["kind"] == "partner" and body["partner"] == "autohome"
    assert body["permissions"] == ["crm.leads:create", "inventory.vehicles:read"]
    assert body["stores"] == ["SH01", "HZ01"]
    assert body["rate_limit_per_minute"] == 77
    assert key.split("_")[1] == body["subject"]
    # A partner has no password to change and no users to read.
    assert_problem(
        await client.post(
            "/auth/password",
            json={"current_password": "x", "new_password": "Brand-new-2027"},
            headers=headers,
        ),
        403,
    )
    assert_problem(await client.get(USERS, headers=headers), 403)


# --- demo seed -----------------------------------------------------------------------------------


async def test_demo_seed_is_idempotent_and_signs_in(
    client: httpx.AsyncClient, gateway_settings: GatewaySettings, gateway_app: FastAPI
) -> None:
    first = await demo.seed(gateway_settings)
    assert first in ("12 demo users, 1 demo partner key", "(already loaded)")
    assert await demo.seed(gateway_settings) == "(already loaded)"

    for username, _, role, stores in demo.DEMO_USERS:
        response = await sign_in(client, username, demo.DEMO_PASSWORD)
        assert response.status_code == 200, (username, response.text)
        me = await client.get(
            "/api/v1/group/me",
            headers={"Authorization": f"Bearer {response.json()['access_token']}"},
        )
        assert me.json()["roles"] == [role] and me.json()["stores"] == stores
    assert {u[2] for u in demo.DEMO_USERS} == set(accounts_roles())

    partner = await client.get("/api/v1/group/me", headers={"X-API-Key": demo.DEMO_KEY})
    assert partner.status_code == 200, partner.text
    assert partner.json()["subject"] == "demo-autohome"
    assert partner.json()["permissions"] == sorted(demo.DEMO_KEY_SCOPES)
    assert demo.DEMO_KEY == "mq_demo-autohome_LocalDemoOnlyNotForProduction026"

    # Production refuses the seed, and refuses demo accounts that exist.
    production = gateway_settings.model_copy(update={"env": "production"})
    with pytest.raises(demo.DemoRefused, match="production"):
        await demo.seed(production)
    prod_gateway = Gateway(settings=production, db=gateway_app.state.gateway.db, redis=None)
    with pytest.raises(Forbidden, match="demo accounts are refused in production"):
        await accounts.login(prod_gateway, username="hq.admin", password=demo.DEMO_PASSWORD)


def accounts_roles() -> list[str]:
    from marque_gateway.domain.accounts import STAFF_ROLES

    return list(STAFF_ROLES)


# --- tampered access tokens ----------------------------------------------------------------------


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": "marque-gateway",
        "aud": "marque-api",
        "sub": "usr_tamper",
        "name": "Mallory",
        "roles": ["hq_admin"],
        "stores": ["*"],
        "iat": now,
        "exp": now + 600,
        "jti": "x",
    }
    return claims | changes


def _hs512(claims: dict[str, Any], secret: str) -> str:
    """Signed with the right secret, but not with the pinned algorithm."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyJWT warns that the dev secret is short for HS512
        return jwt.encode(claims, secret, algorithm="HS512", headers={"typ": "at+jwt"})


def _tampered(settings: GatewaySettings) -> dict[str, str]:
    secret = settings.jwt_secret
    good, _ = issue_access_token(
        user_id="usr_tamper", name="Mallory", roles=["hq_admin"], stores=["*"], settings=settings
    )
    head, body, signature = good.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    return {
        "alg=none": f"{_b64({'alg': 'none', 'typ': 'at+jwt'})}.{_b64(_claims())}.",
        "wrong aud": jwt.encode(
            _claims(aud="someone-else"), secret, algorithm="HS256", headers={"typ": "at+jwt"}
        ),
        "wrong iss": jwt.encode(
            _claims(iss="evil"), secret, algorithm="HS256", headers={"typ": "at+jwt"}
        ),
        "expired": jwt.encode(
            _claims(iat=int(time.time()) - 1000, exp=int(time.time()) - 10),
            secret,
            algorithm="HS256",
            headers={"typ": "at+jwt"},
        ),
        "flipped signature": f"{head}.{body}.{flipped}",
        "wrong typ": jwt.encode(_claims(), secret, algorithm="HS256", headers={"typ": "JWT"}),
        "other secret": jwt.encode(
            _claims(), "x" * 40, algorithm="HS256", headers={"typ": "at+jwt"}
        ),
        "HS512": _hs512(_claims(), secret),
        "not a jwt": "garbage",
    }


@pytest.mark.parametrize(
    "case",
    [
        "alg=none",
        "wrong aud",
        "wrong iss",
        "expired",
        "flipped signature",
        "wrong typ",
        "other secret",
        "HS512",
        "not a jwt",
    ],
)
async def test_tampered_access_tokens_are_401(
    client: httpx.AsyncClient, gateway_settings: GatewaySettings, case: str
) -> None:
    token = _tampered(gateway_settings)[case]
    response = await client.get("/api/v1/group/me", headers={"Authorization": f"Bearer {token}"})
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_an_untampered_token_passes(
    client: httpx.AsyncClient, gateway_settings: GatewaySettings
) -> None:
    token = jwt.encode(
        _claims(), gateway_settings.jwt_secret, algorithm="HS256", headers={"typ": "at+jwt"}
    )
    assert (
        await client.get("/api/v1/group/me", headers={"Authorization": f"Bearer {token}"})
    ).status_code == 200


async def test_a_temporary_password_opens_nothing_but_the_password_change(
    client: httpx.AsyncClient, staff_user: MakeUser, login: Login
) -> None:
    user = await staff_user(roles=("inventory_clerk",), must_change_password=True)
    tokens = await login(user.username)
    assert tokens["must_change_password"] is True
    headers = tokens["headers"]

    refused = await client.get("/api/v1/inventory/catalog/stores", headers=headers)
    assert "POST /auth/password" in assert_problem(refused, 403)["detail"]
    assert_problem(await client.get("/api/v1/group/users", headers=headers), 403)
    assert (await client.get("/api/v1/group/me", headers=headers)).status_code == 200

    changed = await client.post(
        "/auth/password",
        json={"current_password": STAFF_PASSWORD, "new_password": "My-own-choice-2026"},
        headers=headers,
    )
    assert changed.status_code == 200, changed.text
    fresh = {"Authorization": f"Bearer {changed.json()['access_token']}"}
    assert (await client.get("/api/v1/inventory/catalog/stores", headers=fresh)).status_code == 200
