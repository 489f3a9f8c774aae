"""`marque seed` for CRM: a year of leads in the six demo stores loads into a fresh database through
the service's own intake, assignment and funnel; the funnel reads like a dealer's (ratios in
range), every lead has an owner, the channel mix is the one asked for, nothing reaches the
outbox, and a second run creates nothing.

The seed gets its own database (the app over it runs its own jobs), so the other CRM tests' stores
never meet the demo's.
"""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import text

from marque_crm import leads_service
from marque_crm.demo import STORES, seed
from marque_crm.main import create_app
from marque_crm.settings import CrmSettings
from marque_kit.auth import Principal, sign_principal
from marque_kit.db import Database
from marque_kit.migrations import upgrade

SERVICE_DIR = Path(__file__).resolve().parents[2]
DEMO_STORES = [s.id for s in STORES]
COUNTED = (
    "customers",
    "leads",
    "lead_transitions",
    "lead_assignments",
    "tasks",
    "customer_consents",
    "complaints",
    "campaigns",
    "segments",
    "timeline_entries",
    "consultants",
    "outbox",
)
HQ = Principal(subject="demo-test", roles=("hq_analyst",), stores=("*",))

# Of all leads, how far they got (funnel_report's `reached`), and how they closed: the issue asks
# for ~60 % contacted, ~35 % invited, ~25 % visited, ~15 % test drive, ~12 % quoted, ~6-8 % won,
# ~40 % lost, ~10 % invalid.
REACHED = {
    "contacted": (0.52, 0.72),
    "invited": (0.28, 0.44),
    "visited": (0.22, 0.36),
    "test_drive": (0.11, 0.20),
    "quoted": (0.08, 0.16),
    "won": (0.05, 0.095),
}
CLOSED = {"lost": (0.32, 0.50), "invalid": (0.06, 0.14)}
CHANNELS = {
    "walk_in": (0.20, 0.30),
    "phone": (0.11, 0.19),
    "website": (0.07, 0.13),
    "autohome": (0.16, 0.24),
    "yiche": (0.07, 0.13),
    "dongchedi": (0.07, 0.13),
    "referral": (0.03, 0.08),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Seeded:
    first: str
    second: str
    first_seconds: float
    after_first: dict[str, int]
    after_second: dict[str, int]


@pytest.fixture(scope="module")
def seed_settings(
    make_database: Callable[[str], str], marque_test_env: dict[str, Any]
) -> CrmSettings:
    url = make_database("crm_seed")
    upgrade(SERVICE_DIR, url)
    env = {**marque_test_env, "amqp_namespace": f"{marque_test_env['amqp_namespace']}crmseed."}
    return CrmSettings(database_url=url, grpc_port=free_port(), **env)


async def table_counts(settings: CrmSettings) -> dict[str, int]:
    db = Database(settings.database_url, pool_size=1)
    try:
        async with db.session() as session:
            return {
                table: int(await session.scalar(text(f"SELECT count(*) FROM {table}")) or 0)
                for table in COUNTED
            }
    finally:
        await db.dispose()


@pytest.fixture(scope="module")
async def seeded(seed_settings: CrmSettings) -> Seeded:
    started = time.monotonic()
    first = await seed(seed_settings)
    took = time.monotonic() - started
    after_first = await table_counts(seed_settings)
    second = await seed(seed_settings)
    after_second = await table_counts(seed_settings)
    return Seeded(first, second, took, after_first, after_second)


async def sql(settings: CrmSettings, query: str) -> list[Any]:
    db = Database(settings.database_url, pool_size=1)
    try:
        async with db.session() as session:
            return list((await session.execute(text(query))).all())
    finally:
        await db.dispose()


async def test_the_seed_loads_a_year_once_and_publishes_nothing(seeded: Seeded) -> None:
    counts = seeded.after_first
    print(f"\ndemo seed: {seeded.first} (measured {seeded.first_seconds:.1f} s)")
    loaded = int(seeded.first.split(" ", 1)[0].replace(",", ""))
    assert loaded == counts["leads"] > 1_000, seeded.first
    assert counts["customers"] > 0.9 * counts["leads"]
    assert counts["consultants"] == sum(len(s.staff) for s in STORES)
    assert counts["complaints"] > 0 and counts["campaigns"] == 1
    assert counts["tasks"] > counts["leads"]
    # Reference state (decision 0006): intake, moves and assignments wrote nothing to publish.
    assert counts["outbox"] == 0
    # The second run finds every store-month there already and creates nothing.
    assert seeded.second.startswith("(already loaded"), seeded.second
    assert seeded.after_second == counts


async def test_the_funnel_reads_like_a_dealers(seeded: Seeded, seed_settings: CrmSettings) -> None:
    db = Database(seed_settings.database_url, pool_size=1)
    try:
        async with db.session() as session:
            report = await leads_service.funnel_report(
                session, HQ, store_id=None, since=None, until=None
            )
            per_store = {
                store: await leads_service.funnel_report(
                    session, HQ, store_id=store, since=None, until=None
                )
                for store in DEMO_STORES
            }
    finally:
        await db.dispose()
    total = report.total
    assert total == seeded.after_first["leads"]
    for stage, (low, high) in REACHED.items():
        assert low <= report.reached[stage] / total <= high, (stage, report.reached, total)
    for status, (low, high) in CLOSED.items():
        assert low <= report.by_status[status] / total <= high, (status, report.by_status)
    # Every store has a year of its own, in proportion to its size.
    sizes = {s.id: s.size for s in STORES}
    for store, part in per_store.items():
        share = part.total / total
        expected = sizes[store] / sum(sizes.values())
        assert 0.7 * expected <= share <= 1.3 * expected, (store, part.total)
        assert part.reached["won"] > 0


async def test_channels_and_months_are_spread_like_the_brief(
    seeded: Seeded, seed_settings: CrmSettings
) -> None:
    total = seeded.after_first["leads"]
    by_channel = dict(await sql(seed_settings, "SELECT channel, count(*) FROM leads GROUP BY 1"))
    for channel, (low, high) in CHANNELS.items():
        assert low <= by_channel[channel] / total <= high, (channel, by_channel)
    assert 0.03 <= (by_channel["campaign"] + by_channel["event"]) / total <= 0.08
    months = await sql(
        seed_settings,
        "SELECT date_trunc('month', created_at AT TIME ZONE 'Asia/Shanghai') AS m, count(*) "
        "FROM leads GROUP BY 1 ORDER BY 1",
    )
    assert len(months) == 12
    # Portal leads carry the portal's own lead id; nobody else's do.
    missing = await sql(
        seed_settings,
        "SELECT count(*) FROM leads WHERE (channel IN ('autohome','yiche','dongchedi')) "
        "<> (source_ref <> '')",
    )
    assert missing[0][0] == 0


async def test_every_lead_is_assigned_fairly_and_nobody_on_leave_got_one(
    seeded: Seeded, seed_settings: CrmSettings
) -> None:
    unassigned = await sql(seed_settings, "SELECT count(*) FROM leads WHERE assigned_to = ''")
    assert unassigned[0][0] == 0
    # Only consultants of the lead's own store own its leads, in fair shares (round robin).
    rows = await sql(
        seed_settings,
        "SELECT l.store_id, l.assigned_to, count(*) FROM leads l LEFT JOIN consultants c "
        "ON c.store_id = l.store_id AND c.subject = l.assigned_to AND c.role = 'consultant' "
        "GROUP BY 1, 2, c.subject IS NULL",
    )
    strangers = [r for r in rows if r[1] not in {s for s, _, _ in _staff(r[0])}]
    assert strangers == []
    for store in DEMO_STORES:
        shares = [n for s, _, n in rows if s == store]
        assert max(shares) - min(shares) <= 0.25 * max(shares), (store, shares)
    during_leave = await sql(
        seed_settings,
        "SELECT count(*) FROM leads l JOIN consultants c ON c.store_id = l.store_id "
        "AND c.subject = l.assigned_to WHERE (l.created_at AT TIME ZONE 'Asia/Shanghai')::date "
        "BETWEEN c.on_leave_from AND c.on_leave_until",
    )
    assert during_leave[0][0] == 0
    # Consents were given with the leads: about 60 % of customers on SMS.
    consents = dict(
        await sql(
            seed_settings,
            "SELECT channel, count(DISTINCT customer_id) FROM customer_consents "
            "WHERE granted GROUP BY 1",
        )
    )
    customers = seeded.after_first["customers"]
    assert 0.5 <= consents["sms"] / customers <= 0.7, consents


def _staff(store_id: str) -> tuple[tuple[str, str, str], ...]:
    return next(s.staff for s in STORES if s.id == store_id)


@pytest.fixture(scope="module")
async def demo_client(
    seed_settings: CrmSettings, seeded: Seeded
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(seed_settings)
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://crm") as client:
            yield client


async def test_the_gateway_demo_consultant_finds_their_book(
    demo_client: httpx.AsyncClient, seed_settings: CrmSettings
) -> None:
    """sh.consultant (张伟) signs in through the gateway as `demo-sh-consultant`."""
    me = Principal(subject="demo-sh-consultant", roles=("sales_consultant",), stores=("SH01",))
    headers = {"X-Marque-Principal": sign_principal(me, seed_settings.internal_secret)}
    leads = await demo_client.get("/api/v1/crm/leads", params={"limit": "50"}, headers=headers)
    assert leads.status_code == 200, leads.text
    items = leads.json()["items"]
    assert items and {i["assigned_to"] for i in items} == {"demo-sh-consultant"}
    tasks = await demo_client.get("/api/v1/crm/tasks", params={"assignee": "me"}, headers=headers)
    assert tasks.status_code == 200, tasks.text
    assert tasks.json()["items"]
