"""Figure 9: lead intake/s through the gateway, with assignment and dedupe, at 32 clients.

CRM and the gateway run as real processes (`marque serve crm`, `marque serve gateway`) on the
run's own databases and broker prefix. Six bench stores (BC01-BC06) have eight consultants each on
the roster, so every new lead is assigned by round robin (the store's rotation row is locked for
the intake's transaction). The gateway issues a partner API key for 汽车之家 with
`crm.leads:create` in those stores, through its own API, signed in as the demo HQ admin.

32 clients then push 汽车之家 leads (`POST /api/v1/crm/leads`, each with its own portal lead id)
for N seconds: 80 % are new people (new mobile: a customer is created, a lead created and
assigned, its first follow-up booked), 20 % repeat a mobile the same client sent a little earlier
(the one-open-lead rule attaches the enquiry to that lead: 200 instead of 201). The bench prints
leads/s, p50/p99 and the statuses, and checks the database afterwards: every lead assigned, one
customer per mobile, and the attached enquiries counted on their leads.

Both are warmed up first (a short run each, not counted: connection pools, statement caches).
Baseline, same run, same client: the same load straight to the CRM process with the signed
internal principal the gateway would forward (what the gateway's key check, rate limit, audit
record and proxying add), and a gateway GET of one lead (what the intake itself costs).

`python -m bench.crm SPEC.json` is the load generator (asyncio, raw keep-alive connections), run
as child processes.
"""

from __future__ import annotations

import asyncio
import json
import random
import secrets
import sys
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.gateway import start_gateway
from bench.http_client import Connection, Step, drive
from bench.infra import REPO, BenchRun, asyncpg_dsn, free_port
from bench.load import LoadResult, LoadSpec, Report, generate
from bench.report import Row, line, ms, rate, ratio, section
from bench.reservations import marque_command, statuses_text
from marque_kit.auth import Principal, sign_principal
from marque_kit.cli import wait_http_ok
from marque_kit.migrations import upgrade

CRM_DIR = REPO / "services" / "crm"
GATEWAY_DIR = REPO / "gateway"
STORES = ("BC01", "BC02", "BC03", "BC04", "BC05", "BC06")
CONSULTANTS = 8
CLIENTS = 32
PROCESSES = 2
REPEAT_SHARE = 0.2
ADMIN, ADMIN_PASSWORD = "hq.admin", "marque-demo-2026"
# Load phases; each has its own mobiles.
PHASES = ("wg", "wd", "gw", "dr")
MODELS = ("BYD-HAN", "BYD-SEAL", "TSL-MY", "VW-ID4X", "TYT-RAV4", "LI-L6")


@dataclass(frozen=True)
class Intake:
    result: LoadResult
    created: int
    attached: int


@dataclass(frozen=True)
class Integrity:
    leads: int
    unassigned: int
    customers: int
    distinct_mobiles: int
    attached_on_leads: int


def measure(run: BenchRun, *, seconds: float = 10.0) -> list[Row]:
    section(
        f"9. Lead intake (汽车之家 partner key, {int(REPEAT_SHARE * 100)} % repeat mobiles), "
        f"{CLIENTS} clients, {seconds:.0f} s"
    )
    secret = secrets.token_hex(32)
    crm_url = asyncio.run(run.create_database("crm"))
    upgrade(CRM_DIR, crm_url)
    crm = _start_crm(run, crm_url, secret)
    gateway = start_gateway(run, {"crm": crm}, secret, name="crm-gateway")
    hq = sign_principal(
        Principal(subject="bench", roles=("hq_admin",), stores=("*",)), secret, ttl_seconds=3600
    )
    asyncio.run(_roster(crm, hq))
    key = asyncio.run(_partner_key(gateway))
    internal = sign_principal(
        Principal(
            subject="bench-autohome",
            kind="partner",
            name="autohome",
            roles=("partner",),
            stores=STORES,
            scopes=("crm.leads:create",),
        ),
        secret,
        ttl_seconds=3600,
    )
    warm = max(2.0, seconds / 5)
    warm_ups = [
        _intake(run, "crm-warm-gateway", gateway, ("X-API-Key", key), warm, tag="wg"),
        _intake(run, "crm-warm-direct", crm, ("X-Marque-Principal", internal), warm, tag="wd"),
    ]
    through = _intake(run, "crm-gateway", gateway, ("X-API-Key", key), seconds, tag="gw")
    direct = _intake(run, "crm-direct", crm, ("X-Marque-Principal", internal), seconds, tag="dr")
    lead_id = asyncio.run(_any_lead(crm, hq))
    access = asyncio.run(_login(gateway))
    read = generate(
        run,
        "crm-gateway-get",
        "python",
        LoadSpec(
            base_url=gateway,
            mode="get",
            path=f"/api/v1/crm/leads/{lead_id}",
            seconds=max(3.0, seconds / 2),
            token=f"Bearer {access}",
            auth_header="Authorization",
            connections=CLIENTS,
        ),
    )
    run.stop_children()
    integrity = asyncio.run(_check(crm_url))

    for label, intake in (("through the gateway", through), ("direct to crm", direct)):
        _print(label, intake)
    line("gateway GET one lead: requests/s", rate(read.per_second))
    line("gateway GET one lead: p50 / p99", f"{ms(read.p50)} / {ms(read.p99)}")
    line("gateway / direct intake", ratio(through.result.per_second, direct.result.per_second))
    line(
        "database after both runs",
        f"{integrity.leads:,} leads ({integrity.unassigned} unassigned), "
        f"{integrity.customers:,} customers for {integrity.distinct_mobiles:,} mobiles, "
        f"{integrity.attached_on_leads:,} repeat enquiries attached",
    )
    answered_attached = sum(i.attached for i in (through, direct, *warm_ups))
    line(
        "dedupe consistent",
        "yes"
        if integrity.customers == integrity.distinct_mobiles
        and integrity.attached_on_leads == answered_attached
        and integrity.unassigned == 0
        else f"NO (attached answers {answered_attached:,})",
    )
    return [
        Row(
            "lead intake via gateway (32 clients)",
            f"{rate(through.result.per_second)} "
            f"p50 {ms(through.result.p50)} p99 {ms(through.result.p99)}",
            f"{rate(direct.result.per_second)} (direct to crm)",
            ratio(through.result.per_second, direct.result.per_second),
        ),
        Row(
            "gateway GET one lead (32 clients)",
            f"{rate(read.per_second)} p50 {ms(read.p50)}",
            f"{rate(through.result.per_second)} (intake via gateway)",
            ratio(read.per_second, through.result.per_second),
        ),
    ]


def _print(label: str, intake: Intake) -> None:
    result = intake.result
    line(f"{label}: leads/s", rate(result.per_second))
    line(f"{label}: p50 / p99", f"{ms(result.p50)} / {ms(result.p99)}")
    line(
        f"{label}: created / attached",
        f"{intake.created:,} / {intake.attached:,} ({statuses_text(result)})",
    )


# --- processes -------------------------------------------------------------------------------


def _start_crm(run: BenchRun, url: str, secret: str) -> str:
    http_port, grpc_port = free_port(), free_port()
    env = {
        "MARQUE_ENV": "test",
        "MARQUE_AMQP_URL": run.amqp_url,
        "MARQUE_AMQP_NAMESPACE": run.namespace,
        "MARQUE_INTERNAL_SECRET": secret,
        "MARQUE_CRM_DATABASE_URL": url,
        "MARQUE_CRM_HTTP_PORT": str(http_port),
        "MARQUE_CRM_GRPC_PORT": str(grpc_port),
        # 32 clients: a connection each, so that none waits for the pool.
        "MARQUE_CRM_DB_POOL_SIZE": "32",
    }
    run.track(exchanges=(f"{run.namespace}marque.crm",))
    proc = run.spawn("crm", [*marque_command(), "serve", "crm"], env)
    base_url = f"http://127.0.0.1:{http_port}"
    if not wait_http_ok(f"{base_url}/readyz", proc):
        raise RuntimeError(f"crm did not become ready:\n{run.log_tail('crm')}")
    line("crm process", f"pid {proc.pid}, {base_url}")
    return base_url


async def _roster(crm: str, token: str) -> None:
    """Eight consultants on duty in each bench store: round robin has someone to pick."""
    headers = {"X-Marque-Principal": token}
    async with httpx.AsyncClient(base_url=crm, timeout=30, headers=headers) as client:
        for store in STORES:
            for n in range(1, CONSULTANTS + 1):
                resp = await client.put(
                    f"/api/v1/crm/stores/{store}/consultants/bench-{store.lower()}-{n}",
                    json={"name": f"顾问{n}"},
                )
                resp.raise_for_status()


async def _login(gateway: str) -> str:
    async with httpx.AsyncClient(base_url=gateway, timeout=30) as client:
        resp = await client.post(
            "/auth/token",
            data={"grant_type": "password", "username": ADMIN, "password": ADMIN_PASSWORD},
        )
        resp.raise_for_status()
        token: str = resp.json()["access_token"]
        return token


async def _partner_key(gateway: str) -> str:
    """A 汽车之家 key for the bench stores, issued through the gateway's own API."""
    access = await _login(gateway)
    async with httpx.AsyncClient(base_url=gateway, timeout=30) as client:
        resp = await client.post(
            "/api/v1/group/keys",
            headers={"Authorization": f"Bearer {access}"},
            json={
                "partner": "autohome",
                "name": "bench lead push",
                "scopes": ["crm.leads:create", "crm.leads:read"],
                "stores": list(STORES),
                "rate_limit_per_minute": 100_000,
            },
        )
        resp.raise_for_status()
        key: str = resp.json()["key"]
        return key


async def _any_lead(crm: str, token: str) -> str:
    async with httpx.AsyncClient(base_url=crm, timeout=30) as client:
        resp = await client.get(
            "/api/v1/crm/leads",
            params={"store_id": STORES[0], "limit": 1},
            headers={"X-Marque-Principal": token},
        )
        resp.raise_for_status()
        lead_id: str = resp.json()["items"][0]["id"]
        return lead_id


async def _check(url: str) -> Integrity:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        leads, unassigned, attached = await conn.fetchrow(
            "SELECT count(*), count(*) FILTER (WHERE assigned_to = ''), "
            "coalesce(sum(duplicate_count), 0) FROM leads"
        )
        customers, mobiles = await conn.fetchrow(
            "SELECT count(*), count(DISTINCT mobile_index) FROM customers"
        )
        return Integrity(leads, unassigned, customers, mobiles, int(attached))
    finally:
        await conn.close()


# --- the load --------------------------------------------------------------------------------


def _intake(
    run: BenchRun,
    name: str,
    base_url: str,
    auth: tuple[str, str],
    seconds: float,
    *,
    tag: str,
) -> Intake:
    per = CLIENTS // PROCESSES
    procs = []
    for k in range(PROCESSES):
        spec = run.workdir / f"{name}-{k}.json"
        spec.write_text(
            json.dumps(
                {
                    "base_url": base_url,
                    "seconds": seconds,
                    "connections": per,
                    "auth_header": auth[0],
                    "token": auth[1],
                    # Distinct mobiles per phase and process.
                    "mobile_prefix": f"19{k}{PHASES.index(tag)}",
                    "tag": f"{run.run_id}-{tag}{k}",
                    "stores": list(STORES),
                }
            )
        )
        argv = [sys.executable, "-m", "bench.crm", str(spec)]
        procs.append((f"{name}-{k}", run.spawn(f"{name}-{k}", argv, {})))
    result = LoadResult(client=f"Python asyncio, {PROCESSES} x {per} keep-alive connections")
    reports: list[Report] = []
    created = attached = 0
    for proc_name, proc in procs:
        try:
            proc.wait(seconds + 60)
        finally:
            run.stop(proc)
        raw = _last_json(run, proc_name)
        reports.append(
            Report(
                requests=int(raw["requests"]),
                seconds=float(raw["seconds"]),
                statuses={int(k): int(v) for k, v in raw["statuses"].items()},
                errors=int(raw["errors"]),
                p50=float(raw["p50"]),
                p99=float(raw["p99"]),
            )
        )
        created += int(raw["statuses"].get("201", 0))
        attached += int(raw["statuses"].get("200", 0))
    for report in reports:
        result.add(report)
    # Processes ran side by side: the worst one's percentiles are the honest ones to show.
    result.p50 = max(r.p50 for r in reports)
    result.p99 = max(r.p99 for r in reports)
    # Only accepted leads count as intake.
    result.requests = created + attached
    return Intake(result, created, attached)


def _last_json(run: BenchRun, name: str) -> dict[str, Any]:
    for text in reversed((run.workdir / f"{name}.log").read_text().splitlines()):
        if text.lstrip().startswith("{"):
            found: dict[str, Any] = json.loads(text)
            return found
    raise RuntimeError(f"the load generator {name} printed no report:\n{run.log_tail(name)}")


async def push_leads(spec: dict[str, Any]) -> dict[str, Any]:
    """`connections` clients pushing leads for `seconds` (see the module docstring)."""
    stores: list[str] = spec["stores"]

    def steps(worker: int) -> Step:
        rng = random.Random(f"{spec['tag']}:{worker}")
        recent: deque[tuple[str, str]] = deque(maxlen=50)
        n = 0

        async def step(conn: Connection) -> int:
            nonlocal n
            n += 1
            if recent and rng.random() < REPEAT_SHARE:
                mobile, store = rng.choice(recent)
            else:
                # 11 digits: prefix (4) + client (2) + serial (5), unique within the run.
                mobile = f"{spec['mobile_prefix']}{worker:02d}{n:05d}"
                store = rng.choice(stores)
                recent.append((mobile, store))
            body = json.dumps(
                {
                    "store_id": store,
                    "channel": "autohome",
                    "name": "汽车之家客户",
                    "mobile": mobile,
                    "model_code": rng.choice(MODELS),
                    "timeframe": "within_30_days",
                    "source_ref": f"AH-{spec['tag']}-{worker}-{n}",
                },
                ensure_ascii=False,
            ).encode()
            return await conn.request("POST", "/api/v1/crm/leads", body)

        return step

    return await drive(
        spec["base_url"],
        connections=int(spec["connections"]),
        seconds=float(spec["seconds"]),
        headers={spec["auth_header"]: spec["token"]},
        steps=steps,
    )


if __name__ == "__main__":
    print(json.dumps(asyncio.run(push_leads(json.loads(Path(sys.argv[1]).read_text())))))
