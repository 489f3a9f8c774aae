"""`python -m bench` (`make bench`): run every figure, print them with their baselines, clean up.

Options: `--only relay,latency,http`, `--client auto|wrk|python`, `--seconds N` (load and latency
phases), `--quick` (smaller runs, for trying the bench itself).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import signal
import sys
import time
from types import FrameType

from bench import crm, event_latency, finance, gateway, relay_throughput, reservations
from bench.events import install_schema
from bench.infra import BenchRun
from bench.load import describe, pick_client
from bench.report import Row, table
from marque_kit.db import Database

FIGURES = ("relay", "latency", "http", "gateway", "finance", "crm")


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--only", default=",".join(FIGURES), help="comma list of " + "/".join(FIGURES)
    )
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--quick", action="store_true")
    return parser.parse_args(argv)


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    # SIGTERM takes the same path as Ctrl-C, so `finally` still stops children and drops databases.
    raise KeyboardInterrupt(f"signal {signum}")


async def _events_database(run: BenchRun) -> str:
    url = await run.create_database("events")
    db = Database(url)
    try:
        await install_schema(db)
    finally:
        await db.dispose()
    return url


def _run(run: BenchRun, args: argparse.Namespace) -> list[Row]:
    only = {f.strip() for f in args.only.split(",") if f.strip()}
    unknown = only - set(FIGURES)
    if unknown:
        raise SystemExit(f"unknown figure(s): {', '.join(sorted(unknown))}")
    quick = args.quick
    rows: list[Row] = []
    if only & {"relay", "latency"}:
        events_url = asyncio.run(_events_database(run))
        if "relay" in only:
            rows += asyncio.run(
                relay_throughput.measure(
                    run,
                    events_url,
                    events=4_000 if quick else 20_000,
                    baseline_events=1_000 if quick else 4_000,
                    pipelined_events=2_000 if quick else 10_000,
                )
            )
        if "latency" in only:
            rows += asyncio.run(event_latency.measure(run, events_url, seconds=args.seconds))
    if "http" in only:
        client = pick_client(args.client)
        rows += reservations.measure(run, client, seconds=args.seconds)
    if "gateway" in only:
        rows += gateway.measure(run, pick_client(args.client), seconds=args.seconds)
    if "finance" in only:
        rows += finance.measure(run, events=1_000 if quick else 5_000)
    if "crm" in only:
        rows += crm.measure(run, seconds=args.seconds)
    return rows


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    if args.quick and args.seconds == 10.0:
        args.seconds = 3.0
    signal.signal(signal.SIGTERM, _interrupt)
    run = BenchRun()
    started = time.monotonic()
    print(
        f"Marque bench — run {run.run_id}, broker prefix {run.namespace!r}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}; "
        f"HTTP client: {describe(pick_client(args.client), 64)}",
        flush=True,
    )
    try:
        rows = _run(run, args)
    except KeyboardInterrupt:
        print("\ninterrupted; cleaning up", file=sys.stderr)
        return 130
    finally:
        run.close()
    print(
        f"\n== Summary ({time.monotonic() - started:.0f} s; figures only, nothing fails on time) =="
    )
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
