"""The audit log: one append-only row for every write through the gateway (POST, PUT, PATCH,
DELETE, including `/auth/*` and including refusals and failures): who, with which roles and stores,
in which store, what, the status, the request id, from where, and how long it took.

The database refuses UPDATE and DELETE on `audit_log` (a trigger), so a row once written stays.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs

from sqlalchemy import insert
from starlette.types import Scope

from marque_gateway.models import AuditEntry
from marque_kit.auth import ALL_STORES, Principal
from marque_kit.db import Database

log = logging.getLogger("marque.gateway.audit")

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_STORE_IN_PATH = re.compile(r"/stores/([^/]{1,40})(?:/|$)")

table: Any = AuditEntry.__table__  # type: ignore[attr-defined]


@dataclass
class Trace:
    """What the edge learnt about one request, for its audit row."""

    principal: Principal | None = None
    actor_name: str = ""  # for a login: the username tried
    status: int = 500  # until the answer starts; an unhandled crash stays a 500
    body_too_large: bool = False  # the body passed max_body_bytes while it was read

    def body_exceeded(self) -> None:
        self.body_too_large = True


def store_of(scope: Scope, principal: Principal | None) -> str | None:
    """The store written to: `/stores/{id}/` in the path, `store_id` in the query, else the
    caller's only store when it has exactly one."""
    found = _STORE_IN_PATH.search(scope["path"])
    if found:
        return found.group(1)
    query = scope.get("query_string", b"")
    if b"store_id=" in query:
        values = parse_qs(query.decode("latin-1")).get("store_id")
        if values and values[0]:
            return values[0][:40]
    if principal is not None and len(principal.stores) == 1 and principal.stores[0] != ALL_STORES:
        return principal.stores[0]
    return None


@lru_cache(maxsize=32)
def _networks(trusted: tuple[str, ...]) -> tuple[Any, ...]:
    return tuple(ipaddress.ip_network(t, strict=False) for t in trusted)


def _trusted(address: str, networks: Iterable[Any]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in n for n in networks)


def client_ip(scope: Scope, trusted_proxies: Iterable[str]) -> str:
    """The TCP peer; behind a trusted proxy, the last X-Forwarded-For hop that is not a trusted
    proxy itself (hops further left can be forged by the client)."""
    client = scope.get("client")
    peer = str(client[0]) if client else ""
    networks = _networks(tuple(trusted_proxies))
    if not networks or not _trusted(peer, networks):
        return peer
    forwarded = [
        value.decode("latin-1")
        for name, value in scope.get("headers", ())
        if name == b"x-forwarded-for"
    ]
    hops = [h.strip() for v in forwarded for h in v.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, networks):
            return hop[:64]
    return hops[0][:64] if hops else peer


def login_username(body: bytes) -> str:
    """The username a login form (`/auth/token`) tried; never anything else from the body."""
    try:
        values = parse_qs(body.decode("utf-8", "replace")).get("username")
    except ValueError:
        return ""
    return values[0].strip()[:80] if values else ""


def header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return ""


def entry(
    scope: Scope,
    trace: Trace,
    *,
    request_id: str,
    duration_ms: int,
    trusted_proxies: Iterable[str],
) -> dict[str, Any]:
    principal = trace.principal
    if principal is None:
        actor, kind, name, roles, stores = "anonymous", "anonymous", trace.actor_name, [], []
    else:
        actor, kind = principal.label(), principal.kind
        name = principal.name or trace.actor_name
        roles, stores = list(principal.roles), list(principal.stores)
    return {
        "actor": actor[:200],
        "actor_name": name,
        "actor_kind": kind,
        "roles": roles,
        "stores": stores,
        "store_id": store_of(scope, principal),
        "method": scope["method"],
        "path": scope["path"][:2000],
        "status": trace.status,
        "request_id": request_id[:100],
        "client_ip": client_ip(scope, trusted_proxies),
        "user_agent": header(scope, b"user-agent")[:300],
        "duration_ms": duration_ms,
    }


async def record(db: Database, row: dict[str, Any]) -> None:
    """Append the row; a failure is logged loudly but never changes the caller's answer."""
    try:
        async with db.session() as session, session.begin():
            await session.execute(insert(table).values(**row))
    except Exception:
        log.exception("could not write the audit row for %s %s", row["method"], row["path"])
