"""Exactly-once effects across a RabbitMQ restart in the middle of a steady flow of events.

The restart happens on a private RabbitMQ node the test starts for itself."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import pytest
from messaging_helpers import LEDGER_TYPE, emit, eventually, ledger_counts, post_entry, unique
from sqlalchemy import text

from marque_kit.broker import Broker
from marque_kit.consumer import Consumer
from marque_kit.db import Database
from marque_kit.relay import OutboxRelay
from marque_kit.testing.principals import free_port

pytestmark = [
    pytest.mark.broker_restart,
    pytest.mark.skipif(
        shutil.which("rabbitmq-server") is None or shutil.which("rabbitmqctl") is None,
        reason="needs a local RabbitMQ installation (rabbitmq-server, rabbitmqctl)",
    ),
]

EVENTS = 300


class PrivateNode:
    """A RabbitMQ node of this test's own (own name, port and data directory), so restarting it
    cannot disturb anything else using the machine's broker — another suite run, a bench, a
    `make up` stack."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.name = f"marque-restart-{os.getpid()}-{self.port}@localhost"
        self.url = f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def ctl(self, *args: str) -> None:
        subprocess.run(
            ["rabbitmqctl", "-n", self.name, *args], check=True, capture_output=True, timeout=180
        )

    def start(self) -> None:
        # rabbitmq-server drops to the rabbitmq user when started as root: it must write here.
        self.root.chmod(0o777)
        conf = self.root / "rabbitmq.conf"
        conf.write_text(f"listeners.tcp.local = 127.0.0.1:{self.port}\nloopback_users = none\n")
        conf.chmod(0o644)
        env = {
            **os.environ,
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_DIST_PORT": str(free_port()),
            "RABBITMQ_CONFIG_FILE": str(conf),
            "RABBITMQ_MNESIA_BASE": str(self.root / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.root / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.root / "enabled_plugins"),
            "RABBITMQ_PID_FILE": str(self.root / "pid"),
        }
        subprocess.run(["rabbitmq-server", "-detached"], env=env, check=True, timeout=60)
        deadline = time.monotonic() + 120
        while not self.answers():
            if time.monotonic() > deadline:
                raise RuntimeError(f"RabbitMQ node {self.name} did not start; see {self.root}")
            time.sleep(0.5)
        self.ctl("await_startup", "--timeout", "60")

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def restart(self) -> None:
        try:
            self.ctl("stop_app")
        finally:
            self.ctl("start_app")
            self.ctl("await_startup")

    def stop(self) -> None:
        with suppress(Exception):
            self.ctl("stop")


@pytest.fixture
def private_node() -> Iterator[PrivateNode]:
    # Not under pytest's tmp_path: its parent is private to this user, and the node runs as
    # the rabbitmq user.
    node = PrivateNode(Path(tempfile.mkdtemp(prefix="marque-rabbit-")))
    try:
        node.start()
        yield node
    finally:
        node.stop()
        shutil.rmtree(node.root, ignore_errors=True)


async def test_every_event_is_applied_exactly_once_across_a_broker_restart(
    db: Database, private_node: PrivateNode, amqp_namespace: str
) -> None:
    producer = unique("svc")
    broker = Broker(private_node.url, amqp_namespace, retry_delays=[0.2, 0.5])
    await broker.connect()
    reconnects: list[object] = []
    broker.connection.reconnect_callbacks.add(lambda *_: reconnects.append(_))
    relay = OutboxRelay(db, broker, service=producer, poll_seconds=0.5, publish_timeout=5)
    consumer = Consumer(
        db,
        broker,
        service="test",
        consumer=unique("ledger"),
        producer=producer,
        handlers={LEDGER_TYPE: post_entry},
        bindings=["ledger.#"],
    )
    await consumer.start()
    relay_task = asyncio.create_task(relay.run())
    try:
        produced = 0

        async def steady_flow() -> None:
            nonlocal produced
            for _ in range(EVENTS):
                await emit(db, producer, 1)
                produced += 1
                await asyncio.sleep(0.02)

        flow = asyncio.create_task(steady_flow())
        await eventually(lambda: _at_least(produced, EVENTS // 3))
        await asyncio.to_thread(private_node.restart)
        await flow

        await eventually(lambda: _ledger_has(db, EVENTS), within=180, every=0.5)
        assert reconnects, "the broker restart did not break the connection"
        assert await ledger_counts(db) == (EVENTS, EVENTS)
        async with db.engine.connect() as conn:
            unsent = await conn.scalar(text("SELECT count(*) FROM outbox WHERE sent_at IS NULL"))
        assert unsent == 0
    finally:
        relay_task.cancel()
        await asyncio.gather(relay_task, return_exceptions=True)
        await consumer.stop()
        await broker.close()


async def _ledger_has(db: Database, expected: int) -> bool:
    rows, _ = await ledger_counts(db)
    return rows >= expected


async def _at_least(value: int, floor: int) -> bool:
    return value >= floor
