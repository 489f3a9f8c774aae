"""`Idempotency-Key` on every POST through the gateway (its own routes and proxied ones), handled
once at the edge, keyed by the caller (`user:<id>` / `partner:<key id>`) and the key.

- The first request claims the key: a row in `gateway_idempotency` in state `in_flight`
  (INSERT ... ON CONFLICT, so two replicas can never both claim it).
- A duplicate while the first is in flight gets 409; after it, the same method + path + query +
  body gets the stored status, headers and body byte for byte plus `Idempotent-Replayed: true`;
  the same key with another request gets 422.
- Only 2xx-4xx answers are stored. On a 5xx (or a crash) the claim is released, so a retry runs.
- A claim left in flight longer than `idempotency_lock_seconds` (a replica died mid-request) is
  taken over by the next request with that key.

PostgreSQL is the only source of truth; no Redis lock is needed, as the claim is one statement.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, literal_column, select, update
from sqlalchemy.dialects.postgresql import insert
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from marque_gateway.edge.body import read_body, replaying
from marque_gateway.models import IdempotencyRecord
from marque_gateway.sealing import seal, unseal
from marque_kit.db import Database
from marque_kit.errors import Conflict, IdempotencyMismatch
from marque_kit.http.idempotency import read_idempotency_key

HEADER = "idempotency-key"
REPLAYED = (b"idempotent-replayed", b"true")

table: Any = IdempotencyRecord.__table__  # type: ignore[attr-defined]


def fingerprint(method: str, path: str, query: bytes, body: bytes) -> str:
    head = f"{method} {path}?".encode() + query + b"\n"
    return hashlib.sha256(head + body).hexdigest()


@dataclass(frozen=True)
class Stored:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


async def claim(
    db: Database,
    *,
    principal: str,
    key: str,
    method: str,
    path: str,
    request_hash: str,
    stale_after_seconds: int,
    at_rest_key: str,
) -> Stored | None:
    """None when this request now owns the key; the stored answer when it was answered already.
    409 while another request with the key is in flight, 422 when the key was used for another
    request."""
    stale = datetime.now(UTC) - timedelta(seconds=stale_after_seconds)
    stmt = (
        insert(table)
        .values(
            principal=principal,
            key=key,
            method=method,
            path=path[:2000],
            request_hash=request_hash,
            state="in_flight",
        )
        .on_conflict_do_update(
            index_elements=[table.c.principal, table.c.key],
            set_={
                "method": method,
                "path": path[:2000],
                "request_hash": request_hash,
                "created_at": literal_column("now()"),
            },
            where=(table.c.state == "in_flight") & (table.c.created_at < stale),
        )
        .returning(table.c.key)
    )
    async with db.session() as session, session.begin():
        if (await session.execute(stmt)).first() is not None:
            return None
        row = (
            await session.execute(
                select(table).where(table.c.principal == principal, table.c.key == key)
            )
        ).one()
    if row.request_hash != request_hash:
        raise IdempotencyMismatch(
            f"Idempotency-Key {key!r} was first used for {row.method} {row.path} with another "
            "body. Use a new key for a new request.",
            errors=[{"field": "Idempotency-Key", "location": "header", "message": "reused"}],
        )
    if row.state != "done" or row.status_code is None:
        raise Conflict(
            f"A request with Idempotency-Key {key!r} is still being processed; wait for its "
            "answer, then repeat the request to get it again.",
            errors=[{"field": "Idempotency-Key", "location": "header", "message": "in flight"}],
        )
    return Stored(
        status=int(row.status_code),
        headers=[(k.encode("latin-1"), v.encode("latin-1")) for k, v in row.response_headers or ()],
        body=unseal_body(bytes(row.response_body or b""), at_rest_key),
    )


SEALED = b"marque-sealed:v1:"
SEAL_PURPOSE = "marque-idempotent-answers"


def is_secret(answer: Stored) -> bool:
    """Answers marked `Cache-Control: no-store` carry a one-time secret (a new API key, a webhook
    secret, a temporary password): they are kept encrypted, never in plain text."""
    return any(
        k.lower() == b"cache-control" and b"no-store" in v.lower() for k, v in answer.headers
    )


def seal_body(answer: Stored, at_rest_key: str) -> bytes:
    if not is_secret(answer):
        return answer.body
    return SEALED + seal(answer.body, key=at_rest_key, purpose=SEAL_PURPOSE)


def unseal_body(stored: bytes, at_rest_key: str) -> bytes:
    if not stored.startswith(SEALED):
        return stored
    return unseal(stored[len(SEALED) :], key=at_rest_key, purpose=SEAL_PURPOSE)


async def complete(
    db: Database, *, principal: str, key: str, answer: Stored, at_rest_key: str
) -> None:
    async with db.session() as session, session.begin():
        await session.execute(
            update(table)
            .where(table.c.principal == principal, table.c.key == key)
            .values(
                state="done",
                status_code=answer.status,
                response_headers=[
                    [k.decode("latin-1"), v.decode("latin-1")] for k, v in answer.headers
                ],
                response_body=seal_body(answer, at_rest_key),
                completed_at=literal_column("now()"),
            )
        )


async def release(db: Database, *, principal: str, key: str) -> None:
    async with db.session() as session, session.begin():
        await session.execute(
            delete(table).where(
                table.c.principal == principal, table.c.key == key, table.c.state == "in_flight"
            )
        )


def storable(status: int) -> bool:
    return 200 <= status < 500


async def send_stored(answer: Stored, send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": answer.status,
            "headers": [*answer.headers, REPLAYED],
        }
    )
    await send({"type": "http.response.body", "body": answer.body, "more_body": False})


async def run_idempotent(
    app: ASGIApp,
    scope: Scope,
    receive: Receive,
    send: Send,
    *,
    db: Database,
    principal: str,
    raw_key: str,
    stale_after_seconds: int,
    max_answer_bytes: int,
    at_rest_key: str,
) -> None:
    """Run one POST under its Idempotency-Key (see the module docstring). `receive` must already
    be limited to max_body_bytes. DomainErrors (400/409/422) are raised before anything is sent."""
    key = read_idempotency_key(raw_key)
    body = await read_body(receive)
    request_hash = fingerprint(scope["method"], scope["path"], scope.get("query_string", b""), body)
    stored = await claim(
        db,
        principal=principal,
        key=key,
        method=scope["method"],
        path=scope["path"],
        request_hash=request_hash,
        stale_after_seconds=stale_after_seconds,
        at_rest_key=at_rest_key,
    )
    if stored is not None:
        await send_stored(stored, send)
        return

    # Hold the answer until it is stored, so that a repeat right after it never finds it in flight.
    start: Message | None = None
    chunks: list[bytes] = []
    size = 0
    passing_through = False  # the answer outgrew max_answer_bytes: stream it, do not store it
    settled = False  # the claim was completed or released

    async def capture(message: Message) -> None:
        nonlocal start, size, passing_through, settled
        if passing_through:
            await send(message)
            return
        if message["type"] == "http.response.start":
            start = message
            return
        if message["type"] != "http.response.body":
            await send(message)
            return
        chunk = message.get("body", b"")
        size += len(chunk)
        chunks.append(chunk)
        if size > max_answer_bytes:
            passing_through = True
            assert start is not None
            await send(start)
            await send({"type": "http.response.body", "body": b"".join(chunks), "more_body": True})
            if not message.get("more_body", False):
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        if not message.get("more_body", False):
            assert start is not None
            answer = Stored(
                status=int(start["status"]),
                headers=[(bytes(k), bytes(v)) for k, v in start.get("headers", ())],
                body=b"".join(chunks),
            )
            if storable(answer.status):
                await complete(
                    db, principal=principal, key=key, answer=answer, at_rest_key=at_rest_key
                )
            else:
                await release(db, principal=principal, key=key)
            settled = True
            await send(start)
            await send({"type": "http.response.body", "body": answer.body, "more_body": False})

    try:
        await app(scope, replaying(body, receive), capture)
    finally:
        if not settled:
            # A crash, a cancellation or an answer too large to keep: let a retry run as new.
            await asyncio.shield(release(db, principal=principal, key=key))


async def purge(db: Database, *, older_than: timedelta) -> int:
    """Forget answers (and abandoned claims) older than `older_than`; run it periodically."""
    cutoff = datetime.now(UTC) - older_than
    async with db.session() as session, session.begin():
        result = await session.execute(delete(table).where(table.c.created_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
