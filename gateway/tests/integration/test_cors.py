"""CORS: the console's origins may call the API from a browser (preflight included); any other
origin gets no CORS grant, so the browser refuses to hand it the answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx

from marque_gateway.settings import GatewaySettings

AsUser = Callable[..., Awaitable[dict[str, str]]]


async def test_a_preflight_from_the_console_is_granted(
    client: httpx.AsyncClient, gateway_settings: GatewaySettings
) -> None:
    origin = gateway_settings.cors_origins[0]
    resp = await client.options(
        "/api/v1/inventory/vehicles",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
        },
    )
    assert resp.status_code == 200
    assert resp.headers["access-control-allow-origin"] == origin
    allowed = resp.headers["access-control-allow-headers"].lower()
    assert {"authorization", "content-type", "idempotency-key"} <= {
        h.strip() for h in allowed.split(",")
    }
    assert "access-control-allow-credentials" not in resp.headers  # bearer tokens, no cookies


async def test_another_origin_gets_no_grant(client: httpx.AsyncClient, as_user: AsUser) -> None:
    preflight = await client.options(
        "/api/v1/group/me",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in preflight.headers

    answer = await client.get(
        "/api/v1/group/me", headers={**await as_user(), "Origin": "https://evil.example"}
    )
    assert answer.status_code == 200
    assert "access-control-allow-origin" not in answer.headers


async def test_the_console_can_read_the_headers_it_needs(
    client: httpx.AsyncClient, as_user: AsUser, gateway_settings: GatewaySettings
) -> None:
    origin = gateway_settings.cors_origins[0]
    answer = await client.get("/api/v1/group/me", headers={**await as_user(), "Origin": origin})
    assert answer.headers["access-control-allow-origin"] == origin
    exposed = {
        h.strip().lower() for h in answer.headers["access-control-expose-headers"].split(",")
    }
    assert {"etag", "retry-after", "x-request-id"} <= exposed
