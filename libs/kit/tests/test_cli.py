"""The `marque` command against a real PostgreSQL and RabbitMQ, with the inventory service."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import asyncpg
import pytest

from marque_kit.auth import verify_principal
from marque_kit.cli import main
from marque_kit.errors import Unauthenticated
from marque_kit.service import discover
from marque_kit.settings import DEV_INTERNAL_SECRET

SECRET = "cli-test-internal-secret-" + "c" * 32
MARQUE = Path(sys.executable).parent / "marque"
PR_SET_CHILD_SUBREAPER = 36


def run_marque(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    main(list(argv))
    return capsys.readouterr().out


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def table_names(database_url: str) -> set[str]:
    async def query() -> set[str]:
        conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        finally:
            await conn.close()
        return {r["tablename"] for r in rows}

    return asyncio.run(query())


@pytest.fixture
def secret(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("MARQUE_INTERNAL_SECRET", SECRET)
    return SECRET


def test_token_mints_a_principal_for_the_given_role_and_store(
    capsys: pytest.CaptureFixture[str], secret: str
) -> None:
    token = run_marque(
        capsys, "token", "--role", "store_manager", "--store", "SH01", "--sub", "u-zhang"
    ).strip()

    principal = verify_principal(token, secret)

    assert principal.subject == "u-zhang"
    assert principal.kind == "user"
    assert principal.roles == ("store_manager",)
    assert principal.stores == ("SH01",)
    assert principal.is_manager_of("SH01")
    assert not principal.sees_store("BJ01")


def test_token_without_a_store_is_for_every_store(
    capsys: pytest.CaptureFixture[str], secret: str
) -> None:
    token = run_marque(capsys, "token", "--role", "hq_admin").strip()

    principal = verify_principal(token, secret)

    assert principal.stores == ("*",)
    assert principal.sees_store("GZ09")


def test_token_for_a_partner_carries_its_scopes_and_ttl(
    capsys: pytest.CaptureFixture[str], secret: str
) -> None:
    token = run_marque(
        capsys,
        "token",
        "--partner",
        "--sub",
        "p-autohome",
        "--scope",
        "crm.leads:create",
        "--store",
        "SH01",
        "--store",
        "SH02",
        "--ttl",
        "60",
    ).strip()

    principal = verify_principal(token, secret)

    assert principal.kind == "partner"
    assert principal.scopes == ("crm.leads:create",)
    assert principal.stores == ("SH01", "SH02")
    assert principal.expires_at - int(principal.claims["iat"]) == 60
    assert principal.can("crm.leads:create")
    assert not principal.can("crm.leads:read")


def test_token_is_signed_with_the_configured_secret(
    capsys: pytest.CaptureFixture[str], secret: str
) -> None:
    token = run_marque(capsys, "token").strip()

    with pytest.raises(Unauthenticated, match="not valid"):
        verify_principal(token, DEV_INTERNAL_SECRET)


def test_discover_finds_the_inventory_service_through_its_entry_point() -> None:
    specs = discover()

    inventory = specs["inventory"]
    assert inventory.name == "inventory"
    assert (inventory.service_dir / "alembic.ini").is_file()
    assert inventory.seed is not None
    assert inventory.settings().service == "inventory"
    assert inventory.settings(role="worker").role == "worker"
    assert list(specs) == sorted(specs, key=lambda n: (specs[n].order, n))


@pytest.mark.parametrize("command", ["migrate", "seed", "serve", "replay-parked"])
def test_an_unknown_service_exits_listing_the_known_ones(command: str) -> None:
    argv = [command, "warehouse"] + (["inventory"] if command == "replay-parked" else [])

    with pytest.raises(SystemExit) as exited:
        main(argv)

    message = str(exited.value.code)
    assert "unknown service(s): warehouse" in message
    assert "known:" in message
    assert "inventory" in message


def test_migrate_then_seed_builds_the_inventory_database_once(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    make_database: Callable[[str], str],
) -> None:
    url = make_database("cli_inventory")
    monkeypatch.setenv("MARQUE_INVENTORY_DATABASE_URL", url)

    assert run_marque(capsys, "migrate", "inventory") == "inventory: database migrated to head\n"
    tables = table_names(url)
    assert {"alembic_version", "outbox", "inbox", "idempotency_keys", "vehicles"} <= tables

    first = run_marque(capsys, "seed", "inventory")
    assert first.startswith("inventory: ")
    assert "300 vehicles" in first
    assert first.rstrip().endswith("(loaded)")

    second = run_marque(capsys, "seed", "inventory")
    assert second.rstrip().endswith("(already loaded)")
    assert run_marque(capsys, "migrate", "inventory") == "inventory: database migrated to head\n"


def test_migrate_creates_a_missing_database(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    make_database: Callable[[str], str],
) -> None:
    # make_database registers the name for cleanup; dropping it lets migrate create it again.
    url = make_database("cli_created")
    drop_database(url)
    monkeypatch.setenv("MARQUE_INVENTORY_DATABASE_URL", url)

    out = run_marque(capsys, "migrate", "inventory")

    assert out == "inventory: database created and migrated to head\n"
    assert "vehicles" in table_names(url)


def drop_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0].replace("postgresql+asyncpg://", "postgresql://") + "/postgres"

    async def drop() -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop())


@contextlib.contextmanager
def adopting_orphans() -> Iterator[Callable[[int], None]]:
    """Make this process the subreaper of what `marque up` leaves running, and reap it on exit.

    Containers often run without an init that reaps orphans; a zombie would look alive to
    `marque down`, which would then wait out its whole grace period.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)

    def reap(pid: int) -> None:
        def wait() -> None:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)

        threading.Thread(target=wait, daemon=True).start()

    try:
        yield reap
    finally:
        libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


def is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def get_status(url: str) -> int:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return int(resp.status)


def test_up_detached_then_down_starts_and_stops_the_service(
    tmp_path: Path,
    make_database: Callable[[str], str],
    marque_amqp_url: str,
    amqp_namespace: str,
) -> None:
    http_port, grpc_port = free_port(), free_port()
    env = {
        **os.environ,
        "MARQUE_RUN_DIR": str(tmp_path),
        "MARQUE_ENV": "test",
        "MARQUE_INTERNAL_SECRET": SECRET,
        "MARQUE_AMQP_URL": marque_amqp_url,
        "MARQUE_AMQP_NAMESPACE": amqp_namespace,
        "MARQUE_INVENTORY_DATABASE_URL": make_database("cli_up"),
        "MARQUE_INVENTORY_HTTP_PORT": str(http_port),
        "MARQUE_INVENTORY_GRPC_PORT": str(grpc_port),
    }
    pidfile = tmp_path / "inventory.pid"
    with adopting_orphans() as reap:
        try:
            up = subprocess.run(
                [str(MARQUE), "up", "--detach", "--no-seed", "inventory"],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert up.returncode == 0, up.stderr + (tmp_path / "inventory.log").read_text()
            pid = int(pidfile.read_text())
            reap(pid)

            assert "Marque is up" in up.stdout
            assert f"http://127.0.0.1:{http_port}/docs" in up.stdout
            assert f"gRPC 127.0.0.1:{grpc_port}" in up.stdout
            assert "migrated to head" in up.stdout
            assert "MARQUE_TOKEN" not in up.stdout, "no development principal: sign in instead"
            assert get_status(f"http://127.0.0.1:{http_port}/readyz") == 200

            down = subprocess.run(
                [str(MARQUE), "down"], env=env, capture_output=True, text=True, timeout=30
            )
        finally:
            if pidfile.exists():
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pidfile.read_text()), signal.SIGKILL)

    assert down.returncode == 0, down.stderr
    assert down.stdout == "stopped 1 process(es)\n"
    assert not pidfile.exists()
    assert not is_alive(pid)
    with pytest.raises(urllib.error.URLError):
        get_status(f"http://127.0.0.1:{http_port}/readyz")


def test_down_with_nothing_running_stops_nothing(tmp_path: Path) -> None:
    down = subprocess.run(
        [str(MARQUE), "down"],
        env={**os.environ, "MARQUE_RUN_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert down.returncode == 0, down.stderr
    assert down.stdout == "stopped 0 process(es)\n"
