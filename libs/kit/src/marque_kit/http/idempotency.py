"""`Idempotency-Key` for POSTs that create something (IETF draft idempotency-key-header).

The key row lives in the service's own `idempotency_keys` table and is written in the route's own
transaction, so the stored answer and the domain change commit together or not at all:

    @router.post("/leads", status_code=201, response_model=LeadOut)
    async def create_lead(body: LeadIn, idem: IdempotencyDep, ...) -> Response:
        async with UnitOfWork(db, source=...) as uow:
            if replay := await idem.begin(uow.session, body):
                return replay                       # the first answer, as stored
            lead = ...                              # the domain change
            response = await idem.complete(uow.session, 201, LeadOut.from_domain(lead))
            await uow.commit()
        return response

`begin` INSERTs the key first (ON CONFLICT DO NOTHING). A concurrent request with the same key
blocks on the primary key until the first transaction ends: after a commit it finds the stored
answer and replays it (`Idempotent-Replayed: true`); after a rollback its own insert goes through
and it runs as new. The same key with another method, path or body is a 422. Without the header
`begin` returns None and `complete` just builds the response, so one route serves both cases.
Keys are scoped by principal: two callers never see each other's answers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import orjson
from fastapi import Depends, Request
from pydantic import BaseModel
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from marque_kit.auth import Principal
from marque_kit.errors import DomainError, IdempotencyMismatch
from marque_kit.http.principal import CurrentPrincipal
from marque_kit.tables import idempotency_keys

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 200


def _json_bytes(value: Any) -> bytes:
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return orjson.loads(orjson.dumps(value))


class JsonBytesResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class Idempotency:
    """One request's idempotency handle; see the module docstring for the pattern."""

    def __init__(self, request: Request, principal: Principal, key: str | None) -> None:
        self.request = request
        self.principal = principal
        self.key = key
        self._owned = False

    @property
    def active(self) -> bool:
        return self.key is not None

    async def fingerprint(self, body: bytes | BaseModel | Mapping[str, Any] | None) -> str:
        """Method, path, query and body; a parsed body is compared by value, not by bytes."""
        if body is None:
            payload = await self.request.body()
        elif isinstance(body, bytes):
            payload = body
        else:
            payload = _json_bytes(body)
        url = self.request.url
        head = f"{self.request.method} {url.path}?{url.query}\n".encode()
        return hashlib.sha256(head + payload).hexdigest()

    async def begin(
        self,
        session: AsyncSession,
        body: bytes | BaseModel | Mapping[str, Any] | None = None,
    ) -> Response | None:
        """Claim the key inside the open transaction; a Response means "send this stored answer"."""
        if self.key is None:
            return None
        request_hash = await self.fingerprint(body)
        principal = self.principal.label()
        claimed = await session.execute(
            insert(idempotency_keys)
            .values(
                principal=principal,
                key=self.key,
                method=self.request.method,
                path=self.request.url.path[:500],
                request_hash=request_hash,
            )
            .on_conflict_do_nothing()
            .returning(idempotency_keys.c.key)
        )
        if claimed.first() is not None:
            self._owned = True
            return None
        # The first request committed (a rollback would have let our insert through): lock its row.
        row = (
            await session.execute(
                select(idempotency_keys)
                .where(
                    idempotency_keys.c.principal == principal,
                    idempotency_keys.c.key == self.key,
                )
                .with_for_update()
            )
        ).one()
        if row.request_hash != request_hash:
            raise IdempotencyMismatch(
                f"Idempotency-Key {self.key!r} was first used for {row.method} {row.path} with "
                "another body. Use a new key for a new request.",
                errors=[{"field": HEADER, "location": "header", "message": "reused"}],
            )
        if row.status_code is None:
            # Committed without an answer (the route never called complete): run it as new.
            self._owned = True
            return None
        headers = dict(row.response_headers or {})
        headers[REPLAYED_HEADER] = "true"
        return JsonBytesResponse(row.response_body, status_code=row.status_code, headers=headers)

    async def complete(
        self,
        session: AsyncSession,
        status_code: int,
        body: Any,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """Store the answer beside the change (before commit) and return it as a response."""
        content = _jsonable(body)
        stored_headers = dict(headers or {})
        if self.key is not None:
            if not self._owned:
                raise RuntimeError("Idempotency.complete() called without a successful begin()")
            await session.execute(
                idempotency_keys.update()
                .where(
                    idempotency_keys.c.principal == self.principal.label(),
                    idempotency_keys.c.key == self.key,
                )
                .values(
                    status_code=status_code,
                    response_body=content,
                    response_headers=stored_headers,
                )
            )
        return JsonBytesResponse(content, status_code=status_code, headers=stored_headers)


async def purge_idempotency_keys(session: AsyncSession, *, older_than: timedelta) -> int:
    """Forget keys older than `older_than` (the draft lets keys expire); run it periodically."""
    cutoff = datetime.now(UTC) - older_than
    result = await session.execute(
        delete(idempotency_keys).where(idempotency_keys.c.created_at < cutoff)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def read_idempotency_key(value: str) -> str:
    """The key from the header, or a 400 naming the rule. The draft sends it as a structured-field
    string (`"abc"`); plain tokens work too. Used by services and by the gateway's edge."""
    key = value.strip()
    if len(key) >= 2 and key[0] == key[-1] == '"':
        key = key[1:-1]
    if not key or len(key) > MAX_KEY_LENGTH:
        raise DomainError(
            f"{HEADER} must be 1 to {MAX_KEY_LENGTH} characters; a UUID is a good choice.",
            errors=[{"field": HEADER, "location": "header", "message": "bad length"}],
        )
    return key


async def idempotency(request: Request, principal: CurrentPrincipal) -> Idempotency:
    key = request.headers.get(HEADER)
    return Idempotency(request, principal, None if key is None else read_idempotency_key(key))


IdempotencyDep = Annotated[Idempotency, Depends(idempotency)]
