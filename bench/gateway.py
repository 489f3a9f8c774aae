"""Figures 5 and 6: what the gateway costs.

5. An authenticated GET of one vehicle through the gateway (access token checked, rate limit
   counted in Redis, principal signed, request proxied) against the same GET straight to the
   inventory process with the internal principal, same client, same connections, same run.
6. A staff login (OAuth2 password flow: argon2id verify, refresh token stored), one at a time,
   with the gateway's default argon2 parameters, against the raw argon2id verify in this process.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import statistics
import time

import httpx
from argon2 import PasswordHasher

from bench.infra import REPO, BenchRun, free_port
from bench.load import LoadResult, LoadSpec, generate
from bench.report import Row, line, meets, ms, rate, ratio, section
from bench.reservations import marque_command, start_inventory, statuses_text, stock_vehicles
from marque_gateway.settings import GatewaySettings
from marque_kit.auth import Principal, sign_principal
from marque_kit.cli import wait_http_ok
from marque_kit.migrations import upgrade

GATEWAY_DIR = REPO / "gateway"
INVENTORY_DIR = REPO / "services" / "inventory"
DEMO_USER, DEMO_PASSWORD = "hq.admin", "marque-demo-2026"
LOGINS = 30


def measure(run: BenchRun, client: str, *, seconds: float = 10.0) -> list[Row]:
    section(
        f"5. Authenticated GET /vehicles/{{vin}}: through the gateway vs direct, {seconds:.0f} s"
    )
    inventory_url = asyncio.run(run.create_database("gw_inventory"))
    upgrade(INVENTORY_DIR, inventory_url)
    vin = asyncio.run(stock_vehicles(inventory_url, 200))[0]
    secret = secrets.token_hex(32)
    inventory = start_inventory(run, inventory_url, secret)
    gateway = start_gateway(run, {"inventory": inventory}, secret, name="gateway")
    access = asyncio.run(_login(gateway))
    path = f"/api/v1/inventory/vehicles/{vin}"
    internal = sign_principal(
        Principal(subject="bench", roles=("hq_admin",), stores=("*",)), secret, ttl_seconds=3600
    )

    direct = generate(
        run,
        "load-direct",
        client,
        LoadSpec(base_url=inventory, mode="get", path=path, seconds=seconds, token=internal),
    )
    through = generate(
        run,
        "load-gateway",
        client,
        LoadSpec(
            base_url=gateway,
            mode="get",
            path=path,
            seconds=seconds,
            token=f"Bearer {access}",
            auth_header="Authorization",
        ),
    )
    _print("direct to inventory", direct)
    _print("through the gateway", through)
    added_p50 = through.p50 - direct.p50
    line("gateway / direct throughput", ratio(through.per_second, direct.per_second))
    line("added latency p50 (64 connections)", ms(added_p50))

    # At 64 connections on 2 cores the p50 is mostly queueing; one request at a time per client
    # process shows what the gateway itself adds to a request.
    quiet = max(3.0, seconds / 2)
    direct_one = generate(
        run,
        "load-direct-2",
        client,
        LoadSpec(
            base_url=inventory,
            mode="get",
            path=path,
            seconds=quiet,
            token=internal,
            connections=2,
        ),
    )
    through_one = generate(
        run,
        "load-gateway-2",
        client,
        LoadSpec(
            base_url=gateway,
            mode="get",
            path=path,
            seconds=quiet,
            token=f"Bearer {access}",
            auth_header="Authorization",
            connections=2,
        ),
    )
    _print("direct, 2 connections", direct_one)
    _print("gateway, 2 connections", through_one)
    added_quiet = through_one.p50 - direct_one.p50
    line("added latency p50 (2 connections)", ms(added_quiet))

    section(f"6. Staff login (POST /auth/token), {LOGINS} one after another")
    login_times = asyncio.run(_time_logins(gateway, LOGINS))
    raw = _raw_argon2_verify()
    run.stop_children()
    login_p50 = statistics.median(login_times)
    line("login p50 / max", f"{ms(login_p50)} / {ms(max(login_times))}")
    line("raw argon2id verify (this process)", ms(raw))
    defaults = GatewaySettings()
    params = (
        f"argon2id t={defaults.argon2_time_cost} m={defaults.argon2_memory_kib // 1024} MiB "
        f"p={defaults.argon2_parallelism}"
    )
    return [
        Row(
            "gateway GET /vehicles/{vin}",
            rate(through.per_second),
            f"{rate(direct.per_second)} (direct to inventory)",
            ratio(through.per_second, direct.per_second),
            ">= 0.5x",
            meets(through.per_second >= 0.5 * direct.per_second),
        ),
        Row(
            "gateway added p50, 64 conns",
            ms(added_p50),
            f"{ms(direct.p50)} direct p50",
            "",
            "<= 2.0 ms",
            meets(added_p50 <= 0.002),
        ),
        Row(
            "gateway added p50, 2 conns",
            ms(added_quiet),
            f"{ms(direct_one.p50)} direct p50",
            "",
            "<= 2.0 ms",
            meets(added_quiet <= 0.002),
        ),
        Row(
            "staff login p50",
            ms(login_p50),
            f"{ms(raw)} raw argon2id verify",
            ratio(login_p50, raw),
            params,
            "",
        ),
    ]


def _print(label: str, result: LoadResult) -> None:
    line(f"{label}: requests/s", rate(result.per_second))
    line(f"{label}: p50 / p99", f"{result.p50 * 1000:.1f} / {result.p99 * 1000:.1f} ms")
    line(f"{label}: statuses", statuses_text(result))


def start_gateway(run: BenchRun, upstreams: dict[str, str], secret: str, *, name: str) -> str:
    """A seeded gateway process in front of `upstreams` ({"inventory": url, ...}); its URL.

    `name` keeps its database, Redis keys and logs apart from another gateway in the same run."""
    url = asyncio.run(run.create_database(name))
    upgrade(GATEWAY_DIR, url)
    port = free_port()
    env = {
        "MARQUE_ENV": "test",
        "MARQUE_AMQP_URL": run.amqp_url,
        "MARQUE_AMQP_NAMESPACE": run.namespace,
        "MARQUE_INTERNAL_SECRET": secret,
        "MARQUE_GATEWAY_DATABASE_URL": url,
        "MARQUE_GATEWAY_HTTP_PORT": str(port),
        "MARQUE_GATEWAY_UPSTREAMS": json.dumps(upstreams),
        "MARQUE_GATEWAY_REDIS_PREFIX": f"marque:bench{run.run_id}:{name}:",
        # The bench measures the gateway's cost, not its limits: let every client through.
        "MARQUE_GATEWAY_USER_RATE_LIMIT_PER_MINUTE": "100000000",
        # The login figure signs in 30 times in a row, after the bench's own sign-in.
        "MARQUE_GATEWAY_LOGIN_RATE_LIMIT_PER_MINUTE": "1000",
    }
    if "inventory" in upstreams:
        run.track(queues=(f"{run.namespace}gateway.from.inventory",))
    seeded = run.spawn(f"{name}-seed", [*marque_command(), "seed", "gateway"], env)
    if seeded.wait(60) != 0:
        raise RuntimeError(f"seeding the gateway failed:\n{run.log_tail(f'{name}-seed')}")
    proc = run.spawn(name, [*marque_command(), "serve", "gateway"], env)
    base_url = f"http://127.0.0.1:{port}"
    if not wait_http_ok(f"{base_url}/readyz", proc):
        raise RuntimeError(f"the gateway did not become ready:\n{run.log_tail(name)}")
    line(f"{name} process", f"pid {proc.pid}, {base_url}")
    return base_url


async def _login(gateway: str) -> str:
    async with httpx.AsyncClient(base_url=gateway, timeout=30) as client:
        resp = await client.post(
            "/auth/token",
            data={"grant_type": "password", "username": DEMO_USER, "password": DEMO_PASSWORD},
        )
        resp.raise_for_status()
        token: str = resp.json()["access_token"]
        return token


async def _time_logins(gateway: str, count: int) -> list[float]:
    times = []
    async with httpx.AsyncClient(base_url=gateway, timeout=30) as client:
        for _ in range(count):
            started = time.perf_counter()
            resp = await client.post(
                "/auth/token",
                data={"grant_type": "password", "username": DEMO_USER, "password": DEMO_PASSWORD},
            )
            times.append(time.perf_counter() - started)
            resp.raise_for_status()
    return times


def _raw_argon2_verify(rounds: int = 20) -> float:
    settings = GatewaySettings()
    hasher = PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
    )
    digest = hasher.hash(DEMO_PASSWORD)
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        hasher.verify(digest, DEMO_PASSWORD)
        times.append(time.perf_counter() - started)
    return statistics.median(times)
