"""Refuse NUL characters (U+0000) in a request's path, query string and JSON body with a 422.

PostgreSQL text cannot hold U+0000: a NUL that reaches a query fails inside the driver
("invalid byte sequence for encoding UTF8: 0x00") and would answer 500. No business text ever
contains one, so the HTTP edge refuses it before any handler runs, naming the field, in the same
problem+json shape as FastAPI's validation errors. One pure ASGI middleware covers every route of
every service, including fields added later.

Only JSON bodies are inspected (other uploads, e.g. CSV imports, check their own content). In JSON
a NUL can only be written as the escape `\\u0000` (a raw 0x00 byte is invalid JSON and already
answers 422), so a body without that escape is passed on untouched and costs one substring scan.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from marque_kit.http.problems import problem

NUL = "\x00"
_NUL_ESCAPE = b"\\u0000"
NUL_MESSAGE = (
    "contains a NUL character (U+0000), which no text may hold; remove it (it usually comes "
    "from a copy/paste or a binary file)"
)


def _is_json(content_type: str) -> bool:
    # FastAPI may read a body without a Content-Type as JSON too.
    media = content_type.split(";", 1)[0].strip().lower()
    return media in ("", "application/json") or media.endswith("+json")


def nul_fields(value: Any, path: tuple[str, ...] = ()) -> Iterator[str]:
    """Dotted paths (`lines.0.vin`) of every string, or object key, in `value` holding a NUL."""
    if isinstance(value, str):
        if NUL in value:
            yield ".".join(path) or "body"
    elif isinstance(value, dict):
        for key, item in value.items():
            if NUL in key:
                yield ".".join((*path, key.replace(NUL, "\\u0000")))
            yield from nul_fields(item, (*path, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from nul_fields(item, (*path, str(index)))


def _refusal(scope: Scope, errors: list[dict[str, str]]) -> Any:
    described = "; ".join(f"{e['field']} ({e['location']})" for e in errors)
    noun = "field" if len(errors) == 1 else f"{len(errors)} fields"
    return problem(
        status=422,
        title="Request is not valid",
        slug="validation-failed",
        detail=f"The {noun} {described} {NUL_MESSAGE}.",
        instance=scope["path"].replace(NUL, "\\u0000"),
        errors=errors,
    )


def _error(field: str, location: str) -> dict[str, str]:
    return {"field": field, "location": location, "message": NUL_MESSAGE, "type": "string_nul"}


class RefuseNulMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        errors: list[dict[str, str]] = []
        if NUL in scope["path"]:
            errors.append(_error("path", "path"))
        query: bytes = scope.get("query_string", b"")
        if b"%00" in query or b"\x00" in query:
            for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
                if NUL in name or NUL in value:
                    errors.append(_error(name.replace(NUL, "\\u0000") or "query", "query"))
        if errors:
            await _refusal(scope, errors)(scope, receive, send)
            return
        if not _is_json(Headers(scope=scope).get("content-type", "")):
            await self.app(scope, receive, send)
            return

        # Buffer the JSON body (the handler reads all of it anyway), look, then replay it.
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                await self.app(scope, _replay([message], receive), send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if _NUL_ESCAPE in body:
            try:  # parse as FastAPI will (the stdlib), so both see the same strings
                parsed = json.loads(body)
            except ValueError:
                parsed = None  # FastAPI answers the syntax error itself
            fields = list(nul_fields(parsed)) if parsed is not None else []
            if fields:
                await _refusal(scope, [_error(f, "body") for f in fields])(scope, receive, send)
                return
        replayed: Message = {"type": "http.request", "body": body, "more_body": False}
        await self.app(scope, _replay([replayed], receive), send)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay
