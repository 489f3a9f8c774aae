"""The audit log, read by HQ: GET /api/v1/group/audit (`group.audit:read`: hq_admin, hq_analyst).

Newest first, cursor-paginated, filtered by actor, store, method, status, path prefix and time.
The log itself is append-only; there is nothing here to change it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlmodel import col, select

from marque_gateway.deps import GatewayDep, require
from marque_gateway.models import AuditEntry
from marque_kit.auth import Principal
from marque_kit.errors import InvalidInput
from marque_kit.http import Page, PageQuery, paginate

router = APIRouter(prefix="/api/v1/group/audit", tags=["group: audit"])

Auditor = Annotated[Principal, Depends(require("group.audit:read"))]


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    actor: str
    actor_name: str
    actor_kind: str
    roles: list[str]
    stores: list[str]
    store_id: str | None
    method: str
    path: str
    status: int
    request_id: str
    client_ip: str
    user_agent: str
    duration_ms: int

    @classmethod
    def of(cls, row: AuditEntry) -> AuditEntryOut:
        return cls.model_validate(row, from_attributes=True)


def _aware(at: datetime | None) -> datetime | None:
    """A time without a zone is read as UTC."""
    return at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@router.get("", response_model=Page[AuditEntryOut], summary="Query the audit log")
async def list_audit(
    gateway: GatewayDep,
    _: Auditor,
    page: PageQuery,
    actor: Annotated[
        str | None,
        Query(max_length=200, description="user:<id>, partner:<key id> or anonymous"),
    ] = None,
    store_id: Annotated[str | None, Query(max_length=40)] = None,
    method: Annotated[Literal["POST", "PUT", "PATCH", "DELETE"] | None, Query()] = None,
    status: Annotated[int | None, Query(ge=100, le=599)] = None,
    path: Annotated[
        str | None, Query(max_length=500, description="Path prefix, e.g. /api/v1/inventory/")
    ] = None,
    since: Annotated[datetime | None, Query(alias="from", description="Inclusive")] = None,
    until: Annotated[datetime | None, Query(alias="to", description="Exclusive")] = None,
) -> Page[AuditEntryOut]:
    """Newest first. `from`/`to` are ISO 8601 times with a zone, e.g. 2026-11-27T00:00:00Z."""
    if since is not None and until is not None and since >= until:
        raise InvalidInput(
            "`from` must be before `to`.",
            errors=[{"field": "from", "location": "query", "message": "after `to`"}],
        )
    since, until = _aware(since), _aware(until)
    stmt = select(AuditEntry)
    if actor:
        stmt = stmt.where(col(AuditEntry.actor) == actor)
    if store_id:
        stmt = stmt.where(col(AuditEntry.store_id) == store_id)
    if method:
        stmt = stmt.where(col(AuditEntry.method) == method)
    if status is not None:
        stmt = stmt.where(col(AuditEntry.status) == status)
    if path:
        stmt = stmt.where(col(AuditEntry.path).like(_escape_like(path) + "%", escape="\\"))
    if since is not None:
        stmt = stmt.where(col(AuditEntry.at) >= since)
    if until is not None:
        stmt = stmt.where(col(AuditEntry.at) < until)
    async with gateway.db.session() as session:
        rows, cursor = await paginate(
            session, stmt, page, order=(col(AuditEntry.at), col(AuditEntry.id)), descending=True
        )
    return Page(items=[AuditEntryOut.of(r) for r in rows], next_cursor=cursor)
