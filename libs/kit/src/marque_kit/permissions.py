"""Who may do what: the one role → permission table (DESIGN.md §7).

A permission is `<service>.<resource>:<action>` (`inventory.vehicles:reserve`). A grant may end in
`:*` (every action on a resource), `.*` (everything in a service) or be `*:read` (read anything).
`*` alone is everything. Store scoping is separate: a role says *what*, the user's stores say
*where*. Partners hold no role permissions; their API key's scopes say what they may do.

The gateway uses this table for its own routes and for `GET /api/v1/group/me`; every service uses
it through `Principal.can` when it checks the signed principal the gateway forwards.
"""

from __future__ import annotations

ROLES: dict[str, str] = {
    "hq_admin": "Group HQ administrator: every store, every action, users and partner keys",
    "hq_analyst": "Group HQ analyst: reads every store, changes nothing",
    "hq_finance": (
        "Group HQ finance: every store's books and reports, approves large expense claims, "
        "reopens closed periods"
    ),
    "store_manager": "Store manager (店总): everything in their stores",
    "sales_manager": "Sales manager: leads, quotes, orders, discount approvals, vehicle stock",
    "sales_consultant": "Sales consultant (销售顾问): own leads and customers, quotes, orders",
    "service_advisor": "Service advisor (服务顾问): appointments and repair orders",
    "technician": "Technician: works repair orders, reads parts stock",
    "parts_clerk": "Parts clerk: parts stock, receipts, issues and parts transfers",
    "inventory_clerk": "Inventory clerk: vehicle and parts stock, receipts and transfers",
    "finance": "Finance (财务): receipts, invoices, reconciliation, expense claims",
    "partner": "Partner system: only what its API key's scopes grant",
}

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "hq_admin": frozenset({"*"}),
    "hq_analyst": frozenset({"*:read"}),
    "hq_finance": frozenset(
        {
            "finance.*",
            "reporting.*:read",
            "inventory.vehicles:read",
            "inventory.parts:read",
            "sales.orders:read",
            "aftersales.repair_orders:read",
            "pii:read",
        }
    ),
    "store_manager": frozenset(
        {
            "inventory.*",
            "crm.*",
            "sales.*",
            "aftersales.*",
            "finance.*",
            "reporting.*",
            "pii:read",
            "group.users:read",
        }
    ),
    "sales_manager": frozenset(
        {
            "inventory.vehicles:read",
            "inventory.vehicles:reserve",
            "inventory.catalog:read",
            "inventory.transfers:read",
            "inventory.transfers:write",
            "crm.*",
            "sales.*",
            "reporting.*:read",
            "pii:read",
            # Their own expense claims (报销): file, submit, read.
            "finance.expenses:read",
            "finance.expenses:write",
        }
    ),
    "sales_consultant": frozenset(
        {
            "inventory.vehicles:read",
            "inventory.vehicles:reserve",
            "inventory.catalog:read",
            "inventory.transfers:read",
            "crm.leads:*",
            "crm.customers:*",
            "crm.tasks:*",
            "sales.quotes:*",
            "sales.orders:*",
            # Their own expense claims (报销): file, submit, read.
            "finance.expenses:read",
            "finance.expenses:write",
        }
    ),
    "service_advisor": frozenset(
        {
            "aftersales.*",
            "inventory.parts:read",
            "inventory.parts:reserve",
            "inventory.catalog:read",
            "crm.customers:read",
            "crm.customers:write",
            # Their own expense claims (报销): file, submit, read.
            "finance.expenses:read",
            "finance.expenses:write",
        }
    ),
    "technician": frozenset(
        {
            "aftersales.repair_orders:read",
            "aftersales.repair_orders:work",
            "inventory.parts:read",
            "inventory.catalog:read",
            # Their own expense claims (报销): file, submit, read.
            "finance.expenses:read",
            "finance.expenses:write",
        }
    ),
    "parts_clerk": frozenset(
        {
            "inventory.parts:*",
            "inventory.catalog:read",
            "inventory.transfers:read",
            "inventory.transfers:write",
            # Their own expense claims (报销): file, submit, read.
            "finance.expenses:read",
            "finance.expenses:write",
        }
    ),
    "inventory_clerk": frozenset(
        {
            "inventory.vehicles:*",
            "inventory.parts:*",
            "inventory.catalog:read",
            "inventory.transfers:read",
            "inventory.transfers:write",
            "inventory.safety_stock:write",
            # Their own expense claims (报销): file, submit, read.
            "finance.expenses:read",
            "finance.expenses:write",
        }
    ),
    "finance": frozenset(
        {
            "finance.*",
            "inventory.vehicles:read",
            "inventory.parts:read",
            "inventory.catalog:read",
            "sales.orders:read",
            "aftersales.repair_orders:read",
            "pii:read",
        }
    ),
    "partner": frozenset(),
}

# Roles whose approval counts for a store (transfers, large discounts).
MANAGER_ROLES = frozenset({"store_manager", "hq_admin", "sales_manager"})


# Permissions that only `*` or the permission itself grant: `*:read` (hq_analyst) reads every
# record but sees mobiles and 身份证 numbers masked (PIPL: need to know).
EXPLICIT_ONLY = frozenset({"pii:read"})


def grant_matches(granted: str, wanted: str) -> bool:
    """Does the grant `granted` cover the permission `wanted`?

    `*` everything; `*:read` any read; `crm.*` all of crm; `reporting.*:read` any read in reporting;
    `crm.leads:*` any action on leads; otherwise the exact permission.
    """
    if granted in ("*", wanted):
        return True
    if wanted in EXPLICIT_ONLY:
        # Seeing personal data in full is granted by name, never by a read-anything grant.
        return False
    resource, _, action = wanted.partition(":")
    g_resource, _, g_action = granted.partition(":")
    if g_action and g_action != "*" and g_action != action:
        return False
    if g_resource == "*":
        return True
    if g_resource.endswith(".*"):
        return resource.startswith(g_resource[:-1])
    return g_resource == resource and g_action == "*"


def permissions_of(roles: tuple[str, ...] | list[str]) -> list[str]:
    """Every grant the roles carry, sorted (unknown roles carry none)."""
    return sorted({p for role in roles for p in ROLE_PERMISSIONS.get(role, ())})
