"""The fallback load generator when `wrk` is absent: one process of httpx/asyncio workers.

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
from pathlib import Path
from typing import Any

import httpx


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    base_url: str = spec["base_url"]
    connections: int = spec["connections"]
    seconds: float = spec["seconds"]
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    headers = {"X-Marque-Principal": spec.get("token", "")}
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30, headers=headers) as c:
        deadline = time.monotonic() + seconds

        async def worker(worker_id: int) -> None:
            nonlocal errors
            n = 0
            while time.monotonic() < deadline:
                n += 1
                started = time.perf_counter()
                try:
                    if spec["mode"] == "reserve":
                        vin = random.choice(spec["vins"])
                        tag = f"{spec['tag']}-{worker_id}-{n}"
                        response = await c.post(
                            f"/api/v1/inventory/vehicles/{vin}/reservation",
                            json={"order_ref": f"SO-{tag}", "request_id": tag},
                        )
                    else:
                        response = await c.get(spec["path"])
                except httpx.HTTPError:
                    errors += 1
                    continue
                latencies.append(time.perf_counter() - started)
                statuses[response.status_code] += 1

        started = time.monotonic()
        await asyncio.gather(*(worker(w) for w in range(connections)))
        elapsed = time.monotonic() - started
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, round(p * (len(latencies) - 1)))] if latencies else 0

    return {
        "requests": sum(statuses.values()),
        "seconds": elapsed,
        "statuses": {str(k): v for k, v in statuses.items()},
        "errors": errors,
        "p50": pct(0.50),
        "p99": pct(0.99),
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(run(json.loads(Path(sys.argv[1]).read_text())))))
