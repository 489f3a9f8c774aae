"""Rate limits per API key and per user: 429 with Retry-After, shared by gateway replicas through
Redis, and per-process (loudly) when Redis is down."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from prometheus_client import REGISTRY

from marque_gateway.main import create_app
from marque_gateway.settings import GatewaySettings

AsUser = Callable[..., Awaitable[dict[str, str]]]
PartnerKey = Callable[..., Awaitable[tuple[str, dict[str, str]]]]
ME = "/api/v1/group/me"


def client_of(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.8", 50001))
    return httpx.AsyncClient(transport=transport, base_url="http://gateway")


@pytest.fixture(scope="module")
async def replica(gateway_settings: GatewaySettings) -> AsyncIterator[FastAPI]:
    """A second gateway on the same database and Redis (same key prefix), with a tight per-user
    limit so the user limit can be seen."""
    settings = gateway_settings.model_copy(update={"user_rate_limit_per_minute": 2})
    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30):
        yield app


@pytest.fixture(scope="module")
async def redis_down(gateway_settings: GatewaySettings) -> AsyncIterator[FastAPI]:
    """A gateway whose Redis is a closed port."""
    settings = gateway_settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30):
        yield app


async def test_a_key_over_its_limit_gets_429_with_retry_after(
    client: httpx.AsyncClient, partner_key: PartnerKey
) -> None:
    _, partner = await partner_key(rate_limit_per_minute=3)
    for remaining in (2, 1, 0):
        resp = await client.get(ME, headers=partner)
        assert resp.status_code == 200
        assert resp.headers["ratelimit-limit"] == "3"
        assert resp.headers["ratelimit-remaining"] == str(remaining)
        assert 1 <= int(resp.headers["ratelimit-reset"]) <= 60

    refused = await client.get(ME, headers=partner)
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("application/problem+json")
    retry_after = int(refused.headers["retry-after"])
    assert 1 <= retry_after <= 60
    assert refused.headers["ratelimit-remaining"] == "0"
    body = refused.json()
    assert body["status"] == 429 and body["retry_after_seconds"] == retry_after
    assert "3 requests" in body["detail"]


async def test_each_key_has_its_own_budget(
    client: httpx.AsyncClient, partner_key: PartnerKey
) -> None:
    _, first = await partner_key(rate_limit_per_minute=1)
    _, second = await partner_key(rate_limit_per_minute=1)
    assert (await client.get(ME, headers=first)).status_code == 200
    assert (await client.get(ME, headers=first)).status_code == 429
    assert (await client.get(ME, headers=second)).status_code == 200


async def test_limits_hold_across_two_gateway_replicas(
    client: httpx.AsyncClient, replica: FastAPI, partner_key: PartnerKey
) -> None:
    _, partner = await partner_key(rate_limit_per_minute=3)
    async with client_of(replica) as other:
        assert (await client.get(ME, headers=partner)).status_code == 200
        assert (await other.get(ME, headers=partner)).status_code == 200
        assert (await client.get(ME, headers=partner)).status_code == 200
        # The fourth request of the minute is refused, whichever replica it reaches.
        assert (await other.get(ME, headers=partner)).status_code == 429
        assert (await client.get(ME, headers=partner)).status_code == 429


async def test_a_user_over_the_user_limit_gets_429(replica: FastAPI, as_user: AsUser) -> None:
    user = await as_user(roles=("store_manager",), stores=("SH01",))
    async with client_of(replica) as c:
        assert (await c.get(ME, headers=user)).status_code == 200
        ok = await c.get(ME, headers=user)
        assert ok.status_code == 200 and ok.headers["ratelimit-limit"] == "2"
        refused = await c.get(ME, headers=user)
    assert refused.status_code == 429 and "retry-after" in refused.headers


async def test_without_redis_requests_are_served_and_limited_per_process_loudly(
    redis_down: FastAPI, partner_key: PartnerKey, caplog: pytest.LogCaptureFixture
) -> None:
    _, partner = await partner_key(rate_limit_per_minute=3)
    caplog.set_level(logging.WARNING, logger="marque.gateway.ratelimit")
    async with client_of(redis_down) as c:
        answers = [(await c.get(ME, headers=partner)).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    assert REGISTRY.get_sample_value("marque_gateway_rate_limit_degraded") == 1
    warnings = [r for r in caplog.records if "Redis does not answer" in r.getMessage()]
    assert len(warnings) == 1  # at most once per 30 s, not once per request


async def test_the_gauge_drops_when_redis_answers_again(
    redis_down: FastAPI, gateway_settings: GatewaySettings, partner_key: PartnerKey
) -> None:
    import redis.asyncio as aioredis

    gateway = redis_down.state.gateway
    limiter = gateway.extras["rate_limiter"]
    _, partner = await partner_key()
    async with client_of(redis_down) as c:
        assert (await c.get(ME, headers=partner)).status_code == 200
        assert REGISTRY.get_sample_value("marque_gateway_rate_limit_degraded") == 1
        # Redis "comes back": point the limiter at the real one and let the retry pause pass.
        real = aioredis.from_url(gateway_settings.redis_url)
        try:
            limiter.script = real.register_script(limiter.script.script)
            limiter._retry_redis_at = 0.0
            resp = await c.get(ME, headers=partner)
        finally:
            await real.aclose()
    assert resp.status_code == 200
    assert REGISTRY.get_sample_value("marque_gateway_rate_limit_degraded") == 0
    assert limiter.degraded is False


@pytest.fixture(scope="module")
async def tight_sign_in(gateway_settings: GatewaySettings) -> AsyncIterator[FastAPI]:
    """A gateway allowing 3 sign-in attempts per client address and minute."""
    settings = gateway_settings.model_copy(update={"login_rate_limit_per_minute": 3})
    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30):
        yield app


async def test_password_guessing_from_one_address_is_slowed_down(
    tight_sign_in: FastAPI,
) -> None:
    transport = httpx.ASGITransport(app=tight_sign_in, client=("198.51.100.77", 50002))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as guesser:
        statuses = []
        for n in range(4):  # a different username each time: lock-out alone would not see it
            resp = await guesser.post(
                "/auth/token",
                data={"grant_type": "password", "username": f"guess{n}", "password": "x" * 12},
            )
            statuses.append(resp.status_code)
    assert statuses == [401, 401, 401, 429]
    assert "sign-in attempts" in resp.json()["detail"]
    assert 1 <= int(resp.headers["retry-after"]) <= 60
