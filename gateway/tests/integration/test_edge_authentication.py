"""The edge lets nobody through without a valid staff token or partner key."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx


async def test_a_request_without_credentials_is_401_with_a_way_forward(
    client: httpx.AsyncClient,
) -> None:
    resp = await client.get("/api/v1/inventory/catalog/stores")
    assert resp.status_code == 401
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.headers["www-authenticate"].startswith("Bearer")
    assert "/auth/token" in resp.json()["detail"]


async def test_probes_need_no_credentials(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).status_code == 200


async def test_a_malformed_api_key_is_401(client: httpx.AsyncClient) -> None:
    resp = await client.get("/api/v1/group/me", headers={"X-API-Key": "mq_nope"})
    assert resp.status_code == 401
    assert "malformed" in resp.json()["detail"]


async def test_an_unknown_api_key_is_401(client: httpx.AsyncClient) -> None:
    resp = await client.get("/api/v1/group/me", headers={"X-API-Key": "mq_abc_" + "x" * 40})
    assert resp.status_code == 401
    assert "not known" in resp.json()["detail"]


async def test_a_valid_user_token_passes_the_edge(
    client: httpx.AsyncClient, as_user: Callable[..., Awaitable[dict[str, str]]]
) -> None:
    headers = await as_user(roles=("store_manager",), stores=("SH01",))
    # No route here yet is fine: what matters is that the edge let the caller through.
    resp = await client.get("/api/v1/group/__nothing__", headers=headers)
    assert resp.status_code == 404
