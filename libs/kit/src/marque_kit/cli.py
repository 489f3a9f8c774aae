"""The `marque` command: serve, migrate, seed, up, down, token, replay-parked."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from marque_kit.auth import Principal, sign_principal
from marque_kit.service import ROLES, Companion, ServiceSpec, discover

RUN_DIR = Path(os.environ.get("MARQUE_RUN_DIR", ".run"))


def _specs(names: list[str] | None) -> list[ServiceSpec]:
    specs = discover()
    if not names:
        return list(specs.values())
    unknown = [n for n in names if n not in specs]
    if unknown:
        sys.exit(f"unknown service(s): {', '.join(unknown)}; known: {', '.join(specs)}")
    return [specs[n] for n in names]


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn

    from marque_kit.logging import configure_logging

    spec = _specs([args.service])[0]
    settings = spec.settings(role=args.role)
    configure_logging(spec.name, settings.log_level)
    app = spec.create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        lifespan="on",
    )
    uvicorn.Server(config).run()


def migrate(spec: ServiceSpec) -> None:
    from marque_kit.migrations import ensure_database, upgrade

    settings = spec.settings()
    created = asyncio.run(ensure_database(settings.database_url))
    upgrade(spec.service_dir, settings.database_url)
    print(f"{spec.name}: database {'created and ' if created else ''}migrated to head")


def cmd_migrate(args: argparse.Namespace) -> None:
    for spec in _specs(args.services):
        migrate(spec)


def cmd_seed(args: argparse.Namespace) -> None:
    for spec in _specs(args.services):
        if spec.seed is not None:
            print(f"{spec.name}: {asyncio.run(spec.seed(spec.settings()))}")


def cmd_token(args: argparse.Namespace) -> None:
    from marque_kit.settings import ServiceSettings

    principal = Principal(
        subject=args.sub,
        kind="partner" if args.partner else "user",
        name=args.name or args.sub,
        roles=tuple(args.role),
        stores=tuple(args.store) or ("*",),
        scopes=tuple(args.scope),
    )
    print(sign_principal(principal, ServiceSettings().internal_secret, ttl_seconds=args.ttl))


def cmd_replay_parked(args: argparse.Namespace) -> None:
    from marque_kit.consumer import replay_parked_cli

    spec = _specs([args.consumer])[0]
    settings = spec.settings()
    queue = f"{args.consumer}.from.{args.producer}"
    moved = asyncio.run(
        replay_parked_cli(settings.amqp_url, settings.amqp_namespace, queue, limit=args.limit)
    )
    print(f"replayed {moved} message(s) from {args.consumer}.from.{args.producer}.parked")


def wait_http_ok(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> bool:
    """Poll `url` until it answers 200, the process dies, or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as resp:
            if resp.status == 200:
                return True
        time.sleep(0.3)
    return False


def _stop_pids(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for pid in pids:
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.1)
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    """Running, and not a zombie (containers without an init leave stopped orphans unreaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def _running_pids() -> list[int]:
    pids = []
    for pidfile in RUN_DIR.glob("*.pid"):
        with contextlib.suppress(ValueError):
            pids.append(int(pidfile.read_text().strip()))
        pidfile.unlink()
    return pids


def cmd_down(_: argparse.Namespace) -> None:
    pids = _running_pids()
    _stop_pids(pids)
    print(f"stopped {len(pids)} process(es)")


def cmd_up(args: argparse.Namespace) -> None:
    specs = _specs(args.services)
    RUN_DIR.mkdir(exist_ok=True)
    _stop_pids(_running_pids())
    for spec in specs:
        migrate(spec)
    procs: dict[str, subprocess.Popen[bytes]] = {}
    urls: list[str] = []
    try:
        for spec in specs:
            for companion in spec.companions:
                procs[companion.name] = _start_companion(companion)
                if companion.note:
                    urls.append(f"  {companion.name:<11} {companion.note}")
            settings = spec.settings()
            log = open(RUN_DIR / f"{spec.name}.log", "ab")  # noqa: SIM115 - the child owns it
            proc = subprocess.Popen(
                [sys.executable, "-m", "marque_kit.cli", "serve", spec.name],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            procs[spec.name] = proc
            (RUN_DIR / f"{spec.name}.pid").write_text(str(proc.pid))
            base = f"http://{settings.http_host}:{settings.http_port}"
            if not wait_http_ok(f"{base}/readyz", proc):
                raise SystemExit(f"{spec.name} did not become ready; see {RUN_DIR}/{spec.name}.log")
            grpc = f"   gRPC {settings.http_host}:{settings.grpc_port}"
            grpc = grpc if settings.grpc_port else ""
            urls.append(f"  {spec.name:<11} {base}/docs{grpc}")
        for spec in specs:
            if spec.seed is not None and not args.no_seed:
                print(f"{spec.name}: {asyncio.run(spec.seed(spec.settings()))}")
        print("\nMarque is up:")
        print("\n".join(urls))
        print(f"  logs        {RUN_DIR}/<service>.log   stop with Ctrl-C or `make down`")
        for spec in specs:
            if spec.welcome is not None:
                print(spec.welcome(spec.settings()), flush=True)
        if args.detach:
            return
        _wait_forever(procs)
    except BaseException:
        _stop_pids([p.pid for p in procs.values()])
        for pidfile in RUN_DIR.glob("*.pid"):
            pidfile.unlink()
        raise


def _start_companion(companion: Companion) -> subprocess.Popen[bytes]:
    """Start a local stand-in (recorded in .run like a service, so `make down` stops it too)."""
    log = open(RUN_DIR / f"{companion.name}.log", "ab")  # noqa: SIM115 - the child owns it
    proc = subprocess.Popen(
        list(companion.argv), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    (RUN_DIR / f"{companion.name}.pid").write_text(str(proc.pid))
    if not wait_http_ok(companion.ready_url, proc):
        raise SystemExit(f"{companion.name} did not start; see {RUN_DIR}/{companion.name}.log")
    return proc


def _wait_forever(procs: dict[str, subprocess.Popen[bytes]]) -> None:
    stop = False

    def on_signal(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    while not stop:
        for name, proc in procs.items():
            if proc.poll() is not None:
                print(f"{name} exited with {proc.returncode}; see {RUN_DIR}/{name}.log")
                stop = True
        time.sleep(0.5)
    print("\nstopping ...")
    _stop_pids([p.pid for p in procs.values()])
    for pidfile in RUN_DIR.glob("*.pid"):
        pidfile.unlink()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="marque", description="Marque dealer management system")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="run one service process (HTTP + gRPC + relay + consumers)")
    p.add_argument("service")
    p.add_argument("--role", choices=ROLES, default="all")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("migrate", help="create databases and run migrations")
    p.add_argument("services", nargs="*")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("seed", help="load demo data (idempotent)")
    p.add_argument("services", nargs="*")
    p.set_defaults(func=cmd_seed)

    p = sub.add_parser("up", help="migrate, start every service, load demo data")
    p.add_argument("services", nargs="*")
    p.add_argument("--detach", action="store_true", help="return once everything is up")
    p.add_argument("--no-seed", action="store_true")
    p.set_defaults(func=cmd_up)

    p = sub.add_parser("down", help="stop what `marque up` started")
    p.set_defaults(func=cmd_down)

    p = sub.add_parser("token", help="mint a development principal")
    p.add_argument("--role", action="append", default=[], help="e.g. hq_admin, store_manager")
    p.add_argument("--store", action="append", default=[], help="store id; omit for all (HQ)")
    p.add_argument("--scope", action="append", default=[], help="partner scope")
    p.add_argument("--sub", default="dev-user")
    p.add_argument("--name", default="")
    p.add_argument("--partner", action="store_true")
    p.add_argument("--ttl", type=int, default=12 * 3600)
    p.set_defaults(func=cmd_token)

    p = sub.add_parser("replay-parked", help="send parked messages back to their queue")
    p.add_argument("consumer", help="consuming service, e.g. reporting")
    p.add_argument("producer", help="producing service, e.g. inventory")
    p.add_argument("--limit", type=int, default=None)
    p.set_defaults(func=cmd_replay_parked)

    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
