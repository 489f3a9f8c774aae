"""What the end-to-end journeys need: a real service process, a broker tap, principals, VINs.

The service runs as `<repo>/.venv/bin/marque serve inventory`, exactly as `marque up` runs it;
the tap is a plain AMQP consumer bound to the service's exchange, as any consumer would be.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import signal
import socket
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import orjson
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection

from marque_kit.auth import HEADER, METADATA_KEY, Principal, sign_principal
from marque_kit.cli import wait_http_ok
from marque_kit.envelope import Envelope
from marque_kit.testing.vins import with_check_digit

REPO = Path(__file__).resolve().parents[2]
MARQUE = REPO / ".venv" / "bin" / "marque"
FIXTURES = REPO / "tests" / "contract" / "fixtures"
# Present only when the request that caused the event carried a trace context.
OPTIONAL_ENVELOPE_KEYS = {"traceparent"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- VINs (ISO 3779), computed independently of the service's own check --------------------

_serial = itertools.count(1)


def new_vin(wmi: str = "LGX") -> str:
    """A fresh valid VIN (model year T = 2026); `E2E` keeps them apart from other tests' cars."""
    return with_check_digit(f"{wmi}E2E0A0T9{next(_serial):06d}")


# --- principals ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    """Someone calling Marque: over HTTP through the gateway with the access token they got by
    signing in (`bearer`), and over gRPC, as a service would, with the internal principal."""

    token: str
    bearer: str = ""

    @property
    def headers(self) -> dict[str, str]:
        if self.bearer:
            return {"Authorization": f"Bearer {self.bearer}"}
        return {HEADER: self.token}

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        return ((METADATA_KEY, self.token),)


def caller(
    secret: str, *, stores: tuple[str, ...], roles: tuple[str, ...], sub: str = "e2e"
) -> Caller:
    principal = Principal(subject=sub, name=sub, roles=roles, stores=stores)
    return Caller(sign_principal(principal, secret, ttl_seconds=3600))


# --- the service process -------------------------------------------------------------------


@dataclass
class ServiceProcess:
    """`marque serve <service>` in its own session; restartable on the same ports."""

    env: dict[str, str]
    http_port: int
    grpc_port: int
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    service: str = "inventory"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def grpc_target(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    def start(self, role: str = "all", timeout: float = 30.0) -> None:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"\n--- start {self.starts} (role {role}) ---\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                [str(MARQUE), "serve", self.service, "--role", role],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> None:
        assert self.proc is not None
        if not wait_http_ok(f"{self.base_url}/readyz", self.proc, timeout):
            raise RuntimeError(f"{self.service} was not ready within {timeout} s:\n{self.log()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no draining; whatever was in memory is lost."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()

    def log(self, tail: int = 60) -> str:
        lines = self.log_path.read_text("utf-8", errors="replace").splitlines()
        return "\n".join(lines[-tail:])


# --- the broker tap ------------------------------------------------------------------------


@dataclass
class Observed:
    routing_key: str
    body: dict[str, Any]
    envelope: Envelope

    @property
    def name(self) -> str:
        return self.envelope.type.rsplit(".", 1)[-1]


@dataclass
class EventTap:
    """Every message published on the exchange, kept in arrival order."""

    connection: AbstractRobustConnection
    seen: list[Observed] = field(default_factory=list)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    @classmethod
    async def start(cls, amqp_url: str, exchange_name: str) -> EventTap:
        connection = await aio_pika.connect_robust(amqp_url)
        tap = cls(connection)
        channel = await connection.channel()
        exchange = await channel.declare_exchange(
            exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(exchange, routing_key="#")
        await queue.consume(tap._on_message)
        return tap

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        async with message.process():
            body = orjson.loads(message.body)
            self.seen.append(Observed(message.routing_key or "", body, Envelope.from_dict(body)))
            self._arrived.set()

    def about(self, subject: str) -> list[Observed]:
        return [o for o in self.seen if o.envelope.subject == subject]

    async def wait_for(
        self, predicate: Callable[[list[Observed]], bool], subject: str, within: float = 20.0
    ) -> list[Observed]:
        """The events about `subject` once `predicate` holds for them (or fail after `within` s)."""
        deadline = asyncio.get_running_loop().time() + within
        while not predicate(self.about(subject)):
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                names = [o.name for o in self.about(subject)]
                raise AssertionError(f"events about {subject} never satisfied the wait: {names}")
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), timeout=min(remaining, 0.5))
        return self.about(subject)

    async def wait_for_names(
        self, subject: str, *names: str, within: float = 20.0
    ) -> list[Observed]:
        """Wait until each of `names` has been seen about `subject` at least once."""

        def has_all(events: list[Observed]) -> bool:
            return set(names) <= {o.name for o in events}

        return await self.wait_for(has_all, subject, within)

    async def close(self) -> None:
        await self.connection.close()


async def receive_in_stock(
    http: httpx.AsyncClient, who: Caller, vin: str, *, store_id: str = "SH01"
) -> dict[str, Any]:
    """A vehicle that is already at the store and free to sell, received over HTTP."""
    response = await http.post(
        "/api/v1/inventory/vehicles",
        headers=who.headers,
        json={
            "vin": vin,
            "store_id": store_id,
            "trim_code": "BYD-HAN-EV-610",
            "colour_code": "WHT",
            "model_year": 2026,
            "status": "in_stock",
            "arrived_on": date.today().isoformat(),
        },
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def fixture_for(envelope_type: str) -> dict[str, Any]:
    body: dict[str, Any] = orjson.loads((FIXTURES / f"{envelope_type}.json").read_bytes())
    return body


def envelope_keys(body: dict[str, Any]) -> set[str]:
    return set(body) - OPTIONAL_ENVELOPE_KEYS


# --- signing in through the gateway ----------------------------------------------------------


async def sign_in(gateway: httpx.AsyncClient, username: str, password: str) -> str:
    """The access token from the OAuth2 password flow, as the console gets it."""
    response = await gateway.post(
        "/auth/token",
        data={"grant_type": "password", "username": username, "password": password},
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


# --- a partner's webhook endpoint --------------------------------------------------------------


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> dict[str, Any]:
        value: dict[str, Any] = orjson.loads(self.body)
        return value


@dataclass
class WebhookReceiver:
    """A partner's HTTPS endpoint stand-in: a real local HTTP server that records every POST."""

    port: int
    received: list[Received] = field(default_factory=list)
    server: Any = None
    task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/marque"

    async def start(self) -> None:
        import uvicorn
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import Response
        from starlette.routing import Route

        async def hook(request: Request) -> Response:
            self.received.append(Received(dict(request.headers), await request.body()))
            return Response(status_code=204)

        app = Starlette(routes=[Route("/hooks/marque", hook, methods=["POST"])])
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_config=None)
        self.server = uvicorn.Server(config)
        self.task = asyncio.create_task(self.server.serve())
        while not self.server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
        if self.task is not None:
            await self.task

    async def wait_for_types(self, *types: str, within: float = 30.0) -> list[Received]:
        deadline = asyncio.get_running_loop().time() + within
        while not set(types) <= {r.event.get("type", "").rsplit(".", 1)[-1] for r in self.received}:
            if asyncio.get_running_loop().time() > deadline:
                got = [r.event.get("type") for r in self.received]
                raise AssertionError(f"the partner never received {types}; got {got}")
            await asyncio.sleep(0.1)
        return self.received
