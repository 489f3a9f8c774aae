"""`marque seed` for finance: a year of the demo group's books loads into a fresh database through
the service's own commands, balances in every store, reads plausibly in the reports (revenue,
margins by business line, receivables ageing, the inter-store account), writes nothing to the
outbox, and loads only once.

The seed gets its own database and broker names (the app over it runs its own consumers), so the
other finance tests' stores and queues never meet the demo's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import text

from marque_finance.demo import STORES, seed, window
from marque_finance.main import create_app
from marque_finance.settings import FinanceSettings
from marque_kit.db import Database
from marque_kit.migrations import upgrade
from marque_kit.testing.principals import free_port, staff_headers

SERVICE_DIR = Path(__file__).resolve().parents[2]
R = "/api/v1/finance/reports"
DEMO_STORES = [s.id for s in STORES]
COUNTED = (
    "journal_entries",
    "journal_lines",
    "invoices",
    "receipts",
    "payables",
    "payable_payments",
    "floorplan_loans",
    "floorplan_accruals",
    "expense_claims",
    "period_events",
)


@dataclass(frozen=True)
class Seeded:
    first: str
    second: str
    counts_after_first: dict[str, int]
    counts_after_second: dict[str, int]
    months: list[str]


@pytest.fixture(scope="module")
def seed_settings(
    make_database: Callable[[str], str], marque_test_env: dict[str, Any]
) -> FinanceSettings:
    url = make_database("finance_seed")
    upgrade(SERVICE_DIR, url)
    env = {**marque_test_env, "amqp_namespace": f"{marque_test_env['amqp_namespace']}finseed."}
    return FinanceSettings(database_url=url, grpc_port=free_port(), **env)


async def table_counts(settings: FinanceSettings) -> dict[str, int]:
    db = Database(settings.database_url, pool_size=1)
    try:
        async with db.session() as session:
            return {
                table: int(await session.scalar(text(f"SELECT count(*) FROM {table}")) or 0)
                for table in (*COUNTED, "outbox")
            }
    finally:
        await db.dispose()


@pytest.fixture(scope="module")
async def seeded(seed_settings: FinanceSettings) -> Seeded:
    first = await seed(seed_settings)
    after_first = await table_counts(seed_settings)
    second = await seed(seed_settings)
    after_second = await table_counts(seed_settings)
    months = window(datetime.now(ZoneInfo(seed_settings.timezone)).date())
    return Seeded(first, second, after_first, after_second, months)


@pytest.fixture(scope="module")
async def demo_client(
    seed_settings: FinanceSettings, seeded: Seeded
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(seed_settings)
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://finance") as client:
            yield client


def headers(settings: FinanceSettings, role: str = "hq_finance", *stores: str) -> dict[str, str]:
    return staff_headers(settings.internal_secret, role, *stores, sub="demo-test")


async def get(
    client: httpx.AsyncClient, path: str, settings: FinanceSettings, **params: str
) -> dict[str, Any]:
    response = await client.get(path, params=params, headers=headers(settings))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_the_seed_posts_a_year_once_and_publishes_nothing(seeded: Seeded) -> None:
    counts = seeded.counts_after_first
    posted = int(seeded.first.split(" ", 1)[0].replace(",", ""))
    assert posted == counts["journal_entries"] > 4_000, seeded.first
    assert f"{seeded.months[0]}..{seeded.months[-1]}" in seeded.first
    assert counts["invoices"] > 500 and counts["receipts"] > 500
    assert counts["floorplan_loans"] > 100 and counts["floorplan_accruals"] >= 6 * 9
    assert counts["expense_claims"] >= 6 * 12 * 3
    # Reference state: the commands' events never reach the outbox.
    assert counts["outbox"] == 0
    # The second run finds every month, claim, transfer, accrual and close done.
    assert seeded.second.startswith("0 journal entries posted"), seeded.second
    assert seeded.counts_after_second == counts


async def test_every_store_balances_and_sells_at_plausible_margins(
    seeded: Seeded, demo_client: httpx.AsyncClient, seed_settings: FinanceSettings
) -> None:
    span = {"from_period": seeded.months[0], "to_period": seeded.months[-1]}
    for store in DEMO_STORES:
        tb = await get(demo_client, f"{R}/trial-balance", seed_settings, store_id=store, **span)
        assert tb["balanced"], store
        pnl = await get(demo_client, f"{R}/profit-and-loss", seed_settings, store_id=store, **span)
        assert pnl["total_revenue"]["amount_fen"] > 0
        lines = {b["business_line"]: b for b in pnl["by_business_line"]}
        assert {"new_vehicles", "parts", "service_labor", "insurance_commission"} <= set(lines)
        for name, line in lines.items():
            assert line["revenue_fen"] > 0, (store, name)
            if line["cost_fen"]:  # commissions carry no cost of sales
                margin = line["gross_profit_fen"] / line["revenue_fen"]
                assert 0 < margin < 0.6, (store, name, margin)
        # New cars sell at a few per cent over cost; the money is made around them.
        vehicles = lines["new_vehicles"]
        assert 0.02 < vehicles["gross_profit_fen"] / vehicles["revenue_fen"] < 0.1
        assert pnl["selling_expenses"]["amount_fen"] > 0
        assert pnl["admin_expenses"]["amount_fen"] > 0
        assert pnl["finance_costs"]["amount_fen"] > 0  # floor-plan interest


async def test_receivables_age_across_several_buckets(
    seeded: Seeded, demo_client: httpx.AsyncClient, seed_settings: FinanceSettings
) -> None:
    ageing = await get(demo_client, "/api/v1/finance/ar/ageing", seed_settings)
    owed = {bucket for bucket, fen in ageing["totals"].items() if fen > 0}
    assert len(owed) >= 4, ageing["totals"]
    assert {"current", "over_180"} <= owed or {"current", "91_180"} <= owed
    insurers = {c["customer_id"] for c in ageing["customers"] if c["customer_id"].startswith("INS")}
    assert insurers  # accident repairs the insurer has not paid yet


async def test_the_inter_store_account_nets_to_zero_across_the_group(
    seeded: Seeded, seed_settings: FinanceSettings
) -> None:
    db = Database(seed_settings.database_url, pool_size=1)
    try:
        async with db.session() as session:
            lines, net = (
                await session.execute(
                    text(
                        "SELECT count(*), COALESCE(SUM(debit_fen - credit_fen), 0) "
                        "FROM journal_lines WHERE account_code = '1901' AND store_id = ANY(:s)"
                    ),
                    {"s": DEMO_STORES},
                )
            ).one()
    finally:
        await db.dispose()
    assert lines > 0  # vehicles did move between stores
    assert net == 0


async def test_months_are_closed_but_the_last_and_claims_went_through_their_approvers(
    seeded: Seeded, demo_client: httpx.AsyncClient, seed_settings: FinanceSettings
) -> None:
    store = "SH01"
    periods = await get(
        demo_client, f"/api/v1/finance/stores/{store}/periods", seed_settings, limit="50"
    )
    status = {p["period"]: p["status"] for p in periods["items"]}
    assert all(status[m] == "closed" for m in seeded.months[:-1]), status
    assert status[seeded.months[-1]] == "open"

    db = Database(seed_settings.database_url, pool_size=1)
    try:
        async with db.session() as session:
            rows = (
                await session.execute(
                    text(
                        "SELECT status, amount_fen, approvals FROM expense_claims "
                        "WHERE store_id = :s"
                    ),
                    {"s": store},
                )
            ).all()
    finally:
        await db.dispose()
    threshold = seed_settings.expense_hq_threshold_fen
    steps = {
        tuple(a["step"] for a in approvals) for claim_status, amount, approvals in rows if amount
    }
    assert ("store_manager", "hq_finance") in steps and ("store_manager",) in steps
    for claim_status, amount, approvals in rows:
        if claim_status in ("approved", "paid"):
            expected = ["store_manager", "hq_finance"] if amount > threshold else ["store_manager"]
            assert [a["step"] for a in approvals] == expected
    statuses = {claim_status for claim_status, _, _ in rows}
    assert {"paid", "approved", "submitted"} <= statuses
