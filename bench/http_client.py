"""The fallback load generator when `wrk` is absent: one process of asyncio keep-alive workers.

`python -m bench.http_client SPEC.json` runs `connections` keep-alive workers for `seconds` and
prints one JSON line: requests, seconds, statuses, errors, latency percentiles. `bench.http_load`
starts several such processes and adds their figures up.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


class Connection:
    """One keep-alive HTTP/1.1 connection on raw asyncio streams (httpx costs too much CPU here)."""

    def __init__(self, host: str, port: int, headers: dict[str, str]) -> None:
        self.host, self.port = host, port
        self.fixed = "".join(f"{k}: {v}\r\n" for k, v in headers.items() if v)
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes = b"") -> int:
        if self.reader is None or self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{self.fixed}"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("the server closed the connection")
        length, chunked = 0, False
        while (header := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = header.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
        if chunked:
            while size := int((await self.reader.readline()).strip() or b"0", 16):
                await self.reader.readexactly(size + 2)
            await self.reader.readline()
        else:
            await self.reader.readexactly(length)
        return int(status_line.split()[1])

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


Step = Callable[[Connection], Awaitable[int]]


async def drive(
    base_url: str,
    *,
    connections: int,
    seconds: float,
    headers: dict[str, str],
    steps: Callable[[int], Step],
) -> dict[str, Any]:
    """`connections` keep-alive workers for `seconds`; worker `w` sends what `steps(w)` sends, one
    request per call, and the figures come back as the one JSON report both generators print."""
    url = urlsplit(base_url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds

    async def worker(worker_id: int) -> None:
        nonlocal errors
        conn = Connection(host, port, headers)
        step = steps(worker_id)
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                status = await step(conn)
            except (OSError, ValueError, IndexError, asyncio.IncompleteReadError):
                errors += 1
                conn.close()
                continue
            latencies.append(time.perf_counter() - started)
            statuses[status] += 1
        conn.close()

    started = time.monotonic()
    await asyncio.gather(*(worker(w) for w in range(connections)))
    elapsed = time.monotonic() - started
    latencies.sort()

    def pct(p: float) -> float:
        return (
            latencies[min(len(latencies) - 1, round(p * (len(latencies) - 1)))] if latencies else 0
        )

    return {
        "requests": sum(statuses.values()),
        "seconds": elapsed,
        "statuses": {str(k): v for k, v in statuses.items()},
        "errors": errors,
        "p50": pct(0.50),
        "p99": pct(0.99),
    }


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    def steps(worker_id: int) -> Step:
        n = 0

        async def step(conn: Connection) -> int:
            nonlocal n
            n += 1
            if spec["mode"] != "reserve":
                return await conn.request("GET", spec["path"])
            vin = random.choice(spec["vins"])
            tag = f"{spec['tag']}-{worker_id}-{n}"
            body = json.dumps({"order_ref": f"SO-{tag}", "request_id": tag}).encode()
            return await conn.request("POST", f"/api/v1/inventory/vehicles/{vin}/reservation", body)

        return step

    return await drive(
        spec["base_url"],
        connections=spec["connections"],
        seconds=spec["seconds"],
        headers={spec.get("auth_header", "X-Marque-Principal"): spec.get("token", "")},
        steps=steps,
    )


if __name__ == "__main__":
    print(json.dumps(asyncio.run(run(json.loads(Path(sys.argv[1]).read_text())))))
