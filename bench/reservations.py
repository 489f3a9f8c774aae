"""Figures 3 and 4: HTTP reservation attempts/s on the real inventory process, against bare FastAPI.

The inventory service runs as `marque serve inventory` in its own process, on its own migrated
database holding the demo catalog and `vehicles` in-stock cars. 64 clients reserve cars picked at
random from a hot set of `hot` VINs, so most attempts collide; afterwards the database is checked
for any car reserved twice. The baseline is a bare FastAPI endpoint served by the same uvicorn
settings and hit by the same client for the same time.
"""

from __future__ import annotations

import asyncio
import random
import secrets
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.dialects.postgresql import insert

from bench.infra import REPO, BenchRun, asyncpg_dsn, free_port
from bench.load import LoadResult, LoadSpec, generate
from bench.report import Row, line, meets, rate, ratio, section
from marque_inventory import demo_data
from marque_inventory.domain.vin import with_check_digit
from marque_inventory.models import (
    Brand,
    Colour,
    Part,
    Store,
    Trim,
    VehicleModel,
    VehicleOption,
    VehicleRow,
)
from marque_kit.auth import Principal, sign_principal
from marque_kit.cli import wait_http_ok
from marque_kit.db import Database
from marque_kit.migrations import upgrade

SERVICE_DIR = REPO / "services" / "inventory"
TARGET_PER_SECOND = 300
RESERVED = "marque.inventory.v1.VehicleReserved"


@dataclass(frozen=True)
class Integrity:
    reserved_vehicles: int
    reserved_without_order: int
    reserved_events: int
    vins_with_several_events: int
    vins_with_several_requests: int
    reserved_without_one_event: int

    @property
    def double_reservations(self) -> int:
        return max(self.vins_with_several_events, self.vins_with_several_requests)

    @property
    def consistent(self) -> bool:
        return (
            self.double_reservations == 0
            and self.reserved_without_order == 0
            and self.reserved_without_one_event == 0
            and self.reserved_events == self.reserved_vehicles
        )


def measure(
    run: BenchRun, client: str, *, seconds: float = 10.0, vehicles: int = 2_000, hot: int = 200
) -> list[Row]:
    section(
        f"3. HTTP reservation attempts, 64 clients, {hot} hot VINs of {vehicles:,}, {seconds:.0f} s"
    )
    url = asyncio.run(run.create_database("inventory"))
    # Alembic's env runs its own event loop, so the migration runs outside ours.
    upgrade(SERVICE_DIR, url)
    vins = asyncio.run(stock_vehicles(url, vehicles))
    secret = secrets.token_hex(32)
    token = sign_principal(
        Principal(subject="bench", roles=("hq_admin",), stores=("*",)), secret, ttl_seconds=3600
    )
    hot_vins = tuple(random.Random(7).sample(vins, hot))
    base_url = start_inventory(run, url, secret)
    spec = LoadSpec(
        base_url=base_url,
        mode="reserve",
        seconds=seconds,
        vins=hot_vins,
        token=token,
        tag=f"bench{run.run_id}",
    )
    reservations = generate(run, "load-reserve", client, spec)
    run.stop_children()
    integrity = asyncio.run(_check(url))
    _print_reservations(reservations, integrity)

    section(f"4. Baseline: bare FastAPI GET /ping, same client, {seconds:.0f} s")
    ping_url = _start_ping(run)
    baseline = generate(
        run, "load-ping", client, LoadSpec(base_url=ping_url, mode="get", seconds=seconds)
    )
    run.stop_children()
    line("client", baseline.client)
    line("requests/s", rate(baseline.per_second))
    line("latency p50 / p99", f"{baseline.p50 * 1000:.1f} / {baseline.p99 * 1000:.1f} ms")
    line("statuses", statuses_text(baseline))
    line("reservation / baseline", ratio(reservations.per_second, baseline.per_second))
    return [
        Row(
            "reservation attempts",
            rate(reservations.per_second),
            f"{rate(baseline.per_second)} (bare FastAPI /ping)",
            ratio(reservations.per_second, baseline.per_second),
            f">= {TARGET_PER_SECOND}/s",
            meets(reservations.per_second >= TARGET_PER_SECOND),
        ),
        Row(
            "double reservations",
            str(integrity.double_reservations),
            f"{integrity.reserved_vehicles} cars reserved, {reservations.statuses[200]} x 200",
            "",
            "0",
            meets(integrity.consistent),
        ),
    ]


def _print_reservations(result: LoadResult, integrity: Integrity) -> None:
    line("client", result.client)
    line("attempts/s", rate(result.per_second))
    line("attempts", f"{result.requests:,} in {result.seconds:.1f} s")
    line("statuses", statuses_text(result))
    line("transport errors", str(result.errors))
    line("latency p50 / p99", f"{result.p50 * 1000:.1f} / {result.p99 * 1000:.1f} ms")
    line("vehicles reserved (database)", str(integrity.reserved_vehicles))
    line("VehicleReserved outbox rows", str(integrity.reserved_events))
    line("reserved without an order_ref", str(integrity.reserved_without_order))
    line("reserved without exactly 1 event", str(integrity.reserved_without_one_event))
    print(f"  double reservations: {integrity.double_reservations}", flush=True)


def statuses_text(result: LoadResult) -> str:
    return ", ".join(f"{code}: {count:,}" for code, count in sorted(result.statuses.items()))


async def stock_vehicles(url: str, vehicles: int) -> list[str]:
    """The demo catalog and `vehicles` in-stock cars spread over the stores; returns their VINs."""
    db = Database(url)
    today = datetime.now(UTC).date()
    trims = demo_data.TRIMS
    colours = [c[0] for c in demo_data.COLOURS]
    stores = [s[0] for s in demo_data.STORES]
    vins = [with_check_digit(f"LBENCH00{n:08d}") for n in range(vehicles)]
    cars: list[dict[str, Any]] = []
    for n, vin in enumerate(vins):
        trim, model, *_, cost_yuan = trims[n % len(trims)]
        cars.append(
            dict(
                vin=vin,
                store_id=stores[n % len(stores)],
                model_code=model,
                trim_code=trim,
                colour_code=colours[n % len(colours)],
                model_year=2026,
                cost_fen=cost_yuan * 100,
                status="in_stock",
                arrived_on=today,
                option_codes=[],
                version=1,
            )
        )
    try:
        async with db.session() as session, session.begin():
            for model_cls, values in _catalog():
                await session.execute(insert(model_cls).values(values).on_conflict_do_nothing())
            await session.execute(insert(VehicleRow), cars)
    finally:
        await db.dispose()
    line("stock loaded", f"{vehicles:,} in-stock vehicles in {len(stores)} stores")
    return vins


def _catalog() -> list[tuple[type, list[dict[str, Any]]]]:
    return [
        (Store, [dict(id=i, name=n, city=c, timezone=tz) for i, n, c, tz in demo_data.STORES]),
        (Brand, [dict(code=c, name=n, country=k, wmi=w) for c, n, k, w in demo_data.BRANDS]),
        (
            VehicleModel,
            [dict(code=c, brand_code=b, name=n, body=y) for c, b, n, y in demo_data.MODELS],
        ),
        (
            Trim,
            [
                dict(
                    code=c,
                    model_code=m,
                    name=n,
                    energy_type=e,
                    msrp_fen=p * 100,
                    dealer_cost_fen=d * 100,
                )
                for c, m, n, e, p, d in demo_data.TRIMS
            ],
        ),
        (Colour, [dict(code=c, name=n, hex=h) for c, n, h in demo_data.COLOURS]),
        (VehicleOption, [dict(code=c, name=n, price_fen=p * 100) for c, n, p in demo_data.OPTIONS]),
        (
            Part,
            [
                dict(part_number=c, name=n, unit_price_fen=p * 100, unit_cost_fen=k * 100)
                for c, n, p, k in demo_data.PARTS
            ],
        ),
    ]


def marque_command() -> list[str]:
    script = Path(sys.executable).parent / "marque"
    return [str(script)] if script.exists() else [sys.executable, "-m", "marque_kit.cli"]


def start_inventory(run: BenchRun, url: str, secret: str) -> str:
    http_port, grpc_port = free_port(), free_port()
    env = {
        "MARQUE_ENV": "test",
        "MARQUE_AMQP_URL": run.amqp_url,
        "MARQUE_AMQP_NAMESPACE": run.namespace,
        "MARQUE_INTERNAL_SECRET": secret,
        "MARQUE_INVENTORY_DATABASE_URL": url,
        "MARQUE_INVENTORY_HTTP_PORT": str(http_port),
        "MARQUE_INVENTORY_GRPC_PORT": str(grpc_port),
    }
    run.track(exchanges=(f"{run.namespace}marque.inventory",))
    proc = run.spawn("inventory", [*marque_command(), "serve", "inventory"], env)
    base_url = f"http://127.0.0.1:{http_port}"
    if not wait_http_ok(f"{base_url}/readyz", proc):
        raise RuntimeError(f"inventory did not become ready:\n{run.log_tail('inventory')}")
    line("inventory process", f"pid {proc.pid}, {base_url}")
    return base_url


def _start_ping(run: BenchRun) -> str:
    port = free_port()
    proc = run.spawn("ping", [sys.executable, "-m", "bench.ping_server", str(port)], {})
    base_url = f"http://127.0.0.1:{port}"
    if not wait_http_ok(f"{base_url}/ping", proc):
        raise RuntimeError(f"the ping server did not start:\n{run.log_tail('ping')}")
    return base_url


async def _check(url: str) -> Integrity:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return Integrity(
            reserved_vehicles=await conn.fetchval(
                "SELECT count(*) FROM vehicles WHERE status = 'reserved'"
            ),
            reserved_without_order=await conn.fetchval(
                "SELECT count(*) FROM vehicles WHERE status = 'reserved' "
                "AND (order_ref IS NULL OR order_ref = '')"
            ),
            reserved_events=await conn.fetchval(
                "SELECT count(*) FROM outbox WHERE event_type = $1", RESERVED
            ),
            vins_with_several_events=await conn.fetchval(
                "SELECT count(*) FROM (SELECT aggregate_id FROM outbox WHERE event_type = $1 "
                "GROUP BY aggregate_id HAVING count(*) > 1) AS d",
                RESERVED,
            ),
            vins_with_several_requests=await conn.fetchval(
                "SELECT count(*) FROM (SELECT vin FROM vehicle_requests WHERE method = 'reserve' "
                "GROUP BY vin HAVING count(*) > 1) AS d"
            ),
            reserved_without_one_event=await conn.fetchval(
                "SELECT count(*) FROM vehicles AS v WHERE v.status = 'reserved' AND "
                "(SELECT count(*) FROM outbox AS o WHERE o.event_type = $1 "
                "AND o.aggregate_id = v.vin) <> 1",
                RESERVED,
            ),
        )
    finally:
        await conn.close()
