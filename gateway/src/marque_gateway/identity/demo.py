"""Demo staff and a demo partner key for local use (`marque seed`, `marque up`), idempotently.

One user per staff role in the demo group's Shanghai store (SH01), the three HQ roles, and a
second store manager in Hangzhou (HZ01), all with the password `marque-demo-2026`. One partner
key, `demo-autohome`, whose raw key is fixed so that the README can show it. Every row is marked
`is_demo`: production refuses to sign them in, and this seed refuses to run there at all.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col

from marque_gateway.identity.passwords import passwords_for
from marque_gateway.models import ApiKey, User
from marque_gateway.partners.keys import format_key, issue_key
from marque_gateway.settings import GatewaySettings
from marque_kit.db import Database

DEMO_PASSWORD = "marque-demo-2026"

# (username, display name, role, stores)
DEMO_USERS: list[tuple[str, str, str, list[str]]] = [
    ("hq.admin", "周敏 Zhou Min (HQ admin)", "hq_admin", ["*"]),
    ("hq.analyst", "陈静 Chen Jing (HQ analyst)", "hq_analyst", ["*"]),
    ("hq.finance", "钱芳 Qian Fang (HQ finance)", "hq_finance", ["*"]),
    ("sh.manager", "王强 Wang Qiang (Shanghai store manager)", "store_manager", ["SH01"]),
    ("sh.sales.manager", "李娜 Li Na (Shanghai sales manager)", "sales_manager", ["SH01"]),
    ("sh.consultant", "张伟 Zhang Wei (Shanghai sales consultant)", "sales_consultant", ["SH01"]),
    ("sh.advisor", "刘洋 Liu Yang (Shanghai service advisor)", "service_advisor", ["SH01"]),
    ("sh.technician", "赵磊 Zhao Lei (Shanghai technician)", "technician", ["SH01"]),
    ("sh.parts", "孙丽 Sun Li (Shanghai parts clerk)", "parts_clerk", ["SH01"]),
    ("sh.stock", "吴杰 Wu Jie (Shanghai inventory clerk)", "inventory_clerk", ["SH01"]),
    ("sh.finance", "郑红 Zheng Hong (Shanghai finance)", "finance", ["SH01"]),
    ("hz.manager", "黄涛 Huang Tao (Hangzhou store manager)", "store_manager", ["HZ01"]),
]

DEMO_KEY_ID = "demo-autohome"
# Fixed, so that the README can list the key; letters and digits only.
DEMO_KEY_SECRET = "LocalDemoOnlyNotForProduction026"
DEMO_KEY = format_key(DEMO_KEY_ID, DEMO_KEY_SECRET)
DEMO_KEY_SCOPES = [
    "inventory.vehicles:read",
    "inventory.catalog:read",
    "inventory.transfers:read",
    "crm.leads:create",
    "group.webhooks:read",
    "group.webhooks:write",
]
DEMO_KEY_STORES = ["SH01", "HZ01"]


class DemoRefused(RuntimeError):
    """Demo accounts are for local use only."""


def demo_user_id(username: str) -> str:
    return "demo-" + username.replace(".", "-")


async def seed(settings: GatewaySettings) -> str:
    """Load the demo users and partner key into the migrated database; safe to run again."""
    if settings.env == "production":
        raise DemoRefused(
            "Demo users and keys are refused in production (MARQUE_ENV=production); "
            "create real accounts with POST /api/v1/group/users instead."
        )
    db = Database(settings.database_url, pool_size=1)
    try:
        users = await _seed_users(db, settings)
        keys = await _seed_key(db, settings)
    finally:
        await db.dispose()
    if not users and not keys:
        return "(already loaded)"
    return f"{users} demo users, {keys} demo partner key{'s' if keys != 1 else ''}"


async def _seed_users(db: Database, settings: GatewaySettings) -> int:
    now = datetime.now(UTC)
    async with db.session() as session, session.begin():
        names = [username for username, *_ in DEMO_USERS]
        stmt = select(col(User.username)).where(col(User.username).in_(names))
        existing = set((await session.execute(stmt)).scalars())
        missing = [u for u in DEMO_USERS if u[0] not in existing]
        if not missing:
            return 0
        password_hash = await passwords_for(settings).hash_async(DEMO_PASSWORD)
        rows = [
            {
                "id": demo_user_id(username),
                "username": username,
                "display_name": display_name,
                "password_hash": password_hash,
                "roles": [role],
                "stores": stores,
                "disabled": False,
                "is_demo": True,
                "failed_logins": 0,
                "must_change_password": False,
                "password_changed_at": now,
                "version": 1,
            }
            for username, display_name, role, stores in missing
        ]
        inserted = await session.execute(
            insert(User)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["username"])
            .returning(col(User.id))
        )
        return len(inserted.all())


async def _seed_key(db: Database, settings: GatewaySettings) -> int:
    async with db.session() as session:
        if await session.get(ApiKey, DEMO_KEY_ID) is not None:
            return 0
    await issue_key(
        db,
        partner="autohome",
        name="Autohome (demo, local use only)",
        scopes=DEMO_KEY_SCOPES,
        stores=DEMO_KEY_STORES,
        rate_limit_per_minute=settings.default_key_rate_limit_per_minute,
        expires_at=None,
        created_by="marque seed",
        is_demo=True,
        key_id=DEMO_KEY_ID,
        secret=DEMO_KEY_SECRET,
    )
    return 1
