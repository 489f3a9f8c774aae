"""Throwaway resources of one bench run: databases, broker names and child processes.

Everything is named after the run id (`marque_bench_<hex>_<name>` databases, `bench<hex>.` broker
prefix) and removed by `close()`, which `__main__` calls in a `finally` (Ctrl-C included).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path
from typing import IO

import asyncpg
from sqlalchemy.engine import make_url

from marque_kit.broker import delete_broker_names, list_broker_names

REPO = Path(__file__).resolve().parents[1]
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
DEFAULT_AMQP = "amqp://guest:guest@127.0.0.1:5672/"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def asyncpg_dsn(url: str) -> str:
    """An asyncpg DSN from a SQLAlchemy URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class BenchRun:
    """The run id and everything created under it; `close()` removes it all."""

    def __init__(self, pg_url: str | None = None, amqp_url: str | None = None) -> None:
        self.run_id = uuid.uuid4().hex[:10]
        self.pg_url = pg_url or os.environ.get("MARQUE_BENCH_DATABASE_URL", DEFAULT_PG)
        self.amqp_url = amqp_url or os.environ.get("MARQUE_BENCH_AMQP_URL", DEFAULT_AMQP)
        self.namespace = f"bench{self.run_id}."
        self.workdir = Path(f"/tmp/marque-bench-{self.run_id}")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.databases: list[str] = []
        self.queues: set[str] = set()
        self.exchanges: set[str] = set()
        self.children: list[subprocess.Popen[bytes]] = []
        self._logs: list[IO[bytes]] = []

    # --- databases -----------------------------------------------------------------------

    async def create_database(self, name: str) -> str:
        """A fresh empty database; returns its SQLAlchemy (asyncpg) URL."""
        db_name = f"marque_bench_{self.run_id}_{name}"
        conn = await asyncpg.connect(asyncpg_dsn(self.pg_url))
        try:
            await conn.execute(f'CREATE DATABASE "{db_name}"')
        finally:
            await conn.close()
        self.databases.append(db_name)
        return make_url(self.pg_url).set(database=db_name).render_as_string(hide_password=False)

    async def drop_databases(self) -> None:
        if not self.databases:
            return
        conn = await asyncpg.connect(asyncpg_dsn(self.pg_url))
        try:
            for name in self.databases:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()
        self.databases.clear()

    # --- broker names ----------------------------------------------------------------------

    def track(self, *, queues: tuple[str, ...] = (), exchanges: tuple[str, ...] = ()) -> None:
        """Remember names this run declared, so that `close()` deletes them."""
        self.queues.update(queues)
        self.exchanges.update(exchanges)

    async def delete_broker_names(self) -> None:
        """Delete tracked names, then anything else under the prefix that rabbitmqctl lists."""
        await delete_broker_names(
            self.amqp_url,
            queues=[*self.queues, *list_broker_names("queues", self.namespace)],
            exchanges=[*self.exchanges, *list_broker_names("exchanges", self.namespace)],
        )
        self.queues.clear()
        self.exchanges.clear()

    # --- child processes ---------------------------------------------------------------------

    def spawn(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        """Start a child in its own session (Ctrl-C reaches only us; we stop it in order)."""
        log = (self.workdir / f"{name}.log").open("wb")
        self._logs.append(log)
        proc = subprocess.Popen(
            argv,
            cwd=REPO,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.children.append(proc)
        return proc

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self.workdir / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL after `timeout`; only this process, by its id."""
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                proc.wait(5)
        if proc in self.children:
            self.children.remove(proc)

    def stop_children(self) -> None:
        for proc in list(self.children):
            self.stop(proc)

    # --- the end -----------------------------------------------------------------------------

    def close(self) -> None:
        """Kill children, drop databases, delete broker names, remove the work dir."""
        self.stop_children()
        for log in self._logs:
            with contextlib.suppress(Exception):
                log.close()
        for step in (self.drop_databases, self.delete_broker_names):
            try:
                asyncio.run(step())
            except Exception as exc:
                print(f"bench cleanup: {step.__name__} failed: {exc}", file=sys.stderr)
        if not os.environ.get("MARQUE_BENCH_KEEP_LOGS"):
            shutil.rmtree(self.workdir, ignore_errors=True)
