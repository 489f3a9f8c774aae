"""A real, local SMS / WeChat provider that records what it receives (dev and tests).

    python -m marque_crm.notify.sink --port 8199        # then MARQUE_CRM_NOTIFY_URL=http://127.0.0.1:8199

- `POST /sms`, `POST /wechat`: a message as `HttpSmsProvider` / `HttpWeChatProvider` send it
  (JSON with at least `to` and `text`, else 422); answers 200 `{"id": "sink-<n>"}` and keeps it.
- `GET /messages` (`?channel=&ref=&to=` filters): `{"items": [...]}`, oldest first, each the body
  received plus `id`, `channel` and `received_at`. `DELETE /messages` forgets them all.
- `GET /attempts`: every request received, including refused ones, with the status answered.
- `POST /fail {"count": 2, "status": 500, "match": "task:42"}`: the next `count` requests whose
  `ref` or `to` contains `match` (every request when empty) are answered with `status` (500 by
  default: the provider is down; a 4xx: the provider refuses the message) and not kept.
- `GET /healthz`.

Everything lives in memory; a restart forgets it.
"""

from __future__ import annotations

import argparse
import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field


class FailRule(BaseModel):
    count: int = Field(1, ge=1, le=1000)
    status: int = Field(500, ge=400, le=599)
    match: str = ""


@dataclass
class _Rule:
    remaining: int
    status: int
    match: str


@dataclass
class SinkState:
    messages: list[dict[str, Any]] = field(default_factory=list)
    attempts: list[dict[str, Any]] = field(default_factory=list)
    rules: list[_Rule] = field(default_factory=list)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def failure_for(self, body: dict[str, Any]) -> int | None:
        haystack = f"{body.get('ref', '')}\n{body.get('to', '')}"
        for rule in self.rules:
            if rule.remaining > 0 and rule.match in haystack:
                rule.remaining -= 1
                return rule.status
        return None


def create_app() -> FastAPI:
    app = FastAPI(title="Marque notify sink (dev/test SMS and WeChat provider)")
    state = SinkState()
    app.state.sink = state

    async def receive(channel: str, request: Request) -> JSONResponse:
        try:
            body = await request.json()
        except ValueError:
            body = None
        now = datetime.now(UTC).isoformat()
        if not isinstance(body, dict) or not body.get("to") or not body.get("text"):
            state.attempts.append({"channel": channel, "status": 422, "at": now, "body": body})
            return JSONResponse({"error": "a message needs 'to' and 'text'"}, status_code=422)
        failure = state.failure_for(body)
        if failure is not None:
            state.attempts.append({"channel": channel, "status": failure, "at": now, "body": body})
            return JSONResponse({"error": f"sink told to fail ({failure})"}, status_code=failure)
        message_id = f"sink-{next(state.ids)}"
        state.attempts.append({"channel": channel, "status": 200, "at": now, "body": body})
        state.messages.append({**body, "id": message_id, "channel": channel, "received_at": now})
        return JSONResponse({"id": message_id})

    @app.post("/sms")
    async def sms(request: Request) -> JSONResponse:
        return await receive("sms", request)

    @app.post("/wechat")
    async def wechat(request: Request) -> JSONResponse:
        return await receive("wechat", request)

    @app.get("/messages")
    async def messages(
        channel: str | None = None, ref: str | None = None, to: str | None = None
    ) -> dict[str, Any]:
        items = [
            m
            for m in state.messages
            if (channel is None or m["channel"] == channel)
            and (ref is None or m.get("ref") == ref)
            and (to is None or m.get("to") == to)
        ]
        return {"items": items}

    @app.delete("/messages")
    async def forget() -> dict[str, Any]:
        state.messages.clear()
        state.attempts.clear()
        state.rules.clear()
        return {"items": []}

    @app.get("/attempts")
    async def attempts(ref: str | None = None) -> dict[str, Any]:
        items = [
            a
            for a in state.attempts
            if ref is None or (isinstance(a["body"], dict) and a["body"].get("ref") == ref)
        ]
        return {"items": items}

    @app.post("/fail")
    async def fail(rule: FailRule) -> dict[str, Any]:
        state.rules.append(_Rule(rule.count, rule.status, rule.match))
        return {"failing": rule.count, "status": rule.status, "match": rule.match}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8199)
    args = parser.parse_args(argv)
    uvicorn.run(create_app(), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
