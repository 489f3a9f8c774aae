"""HTTP load generation: `wrk` when it is installed, else processes of Python asyncio workers.

Both clients run as child processes (so the server under test gets a core of its own as far as
the box allows), keep `connections` keep-alive connections busy for `seconds`, and report the
same figures. The same client is used for a figure and its baseline.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from string import Template

from bench.infra import BenchRun

WRK_SCRIPT = Template(
    r"""
local vins = {$vins}
local token = "$token"
local tag = "$tag"
local mode = "$mode"
local path = "$path"
local threads = {}
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("tid", next_id)
  table.insert(threads, thread)
end

function init(args)
  n = 0
  statuses = {}
  math.randomseed(tid * 7919 + os.time())
  if token ~= "" then wrk.headers["$auth_header"] = token end
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  if mode == "reserve" then
    n = n + 1
    local id = string.format("%s-%d-%d", tag, tid, n)
    local body = string.format('{"order_ref":"SO-%s","request_id":"%s"}', id, id)
    local vin = vins[math.random(#vins)]
    return wrk.format("POST", "/api/v1/inventory/vehicles/" .. vin .. "/reservation", nil, body)
  end
  return wrk.format("GET", path)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("statuses")) do total[k] = (total[k] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(total) do table.insert(parts, string.format('"%d":%d', k, v)) end
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"seconds":%f,"statuses":{%s},"errors":%d,"p50":%f,"p99":%f}\n',
    summary.requests, summary.duration / 1e6, table.concat(parts, ","),
    e.connect + e.read + e.write + e.timeout,
    latency:percentile(50) / 1e6, latency:percentile(99) / 1e6))
end
"""
)

PYTHON_PROCESSES = 2


@dataclass(frozen=True)
class LoadSpec:
    base_url: str
    mode: str  # "reserve" (POST a reservation on a random hot VIN) or "get" (GET `path`)
    seconds: float
    connections: int = 64
    path: str = "/ping"
    vins: tuple[str, ...] = ()
    token: str = ""
    tag: str = "bench"
    # The header that carries `token`: the internal principal for a service, the access token
    # (`Authorization: Bearer ...`) for the gateway.
    auth_header: str = "X-Marque-Principal"


@dataclass(frozen=True)
class Report:
    """What one load generator process printed."""

    requests: int
    seconds: float
    statuses: dict[int, int]
    errors: int
    p50: float
    p99: float


@dataclass
class LoadResult:
    client: str
    requests: int = 0
    seconds: float = 0.0
    errors: int = 0
    p50: float = 0.0
    p99: float = 0.0
    statuses: Counter[int] = field(default_factory=Counter)

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def add(self, report: Report) -> None:
        """Add up side-by-side generators: requests and statuses sum, the time is the longest."""
        self.requests += report.requests
        self.errors += report.errors
        self.statuses.update(report.statuses)
        self.seconds = max(self.seconds, report.seconds)


def pick_client(requested: str) -> str:
    """'wrk' when asked for or found on PATH (and 'auto'), else 'python'."""
    if requested == "python":
        return "python"
    if shutil.which("wrk"):
        return "wrk"
    if requested == "wrk":
        raise SystemExit("--client wrk was asked for, but wrk is not on PATH")
    return "python"


def describe(client: str, connections: int) -> str:
    if client == "wrk":
        return f"wrk -t2 -c{connections} (Lua script, unique request ids)"
    per = connections // PYTHON_PROCESSES
    why = "" if shutil.which("wrk") else " (wrk not found)"
    return f"Python asyncio, {PYTHON_PROCESSES} processes x {per} keep-alive connections{why}"


def generate(run: BenchRun, name: str, client: str, spec: LoadSpec) -> LoadResult:
    if client == "wrk":
        return _wrk(run, name, spec)
    return _python(run, name, spec)


def _wrk(run: BenchRun, name: str, spec: LoadSpec) -> LoadResult:
    script = run.workdir / f"{name}.lua"
    script.write_text(
        WRK_SCRIPT.substitute(
            vins=",".join(f'"{v}"' for v in spec.vins),
            token=spec.token,
            tag=spec.tag,
            mode=spec.mode,
            path=spec.path,
            auth_header=spec.auth_header,
        )
    )
    argv = [
        "wrk",
        "-t2",
        f"-c{spec.connections}",
        f"-d{spec.seconds:.0f}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        spec.base_url,
    ]
    _finish(run, run.spawn(name, argv, {}), spec.seconds)
    report = _last_report(run, name, prefix="BENCH ")
    result = LoadResult(client=describe("wrk", spec.connections))
    result.add(report)
    result.p50, result.p99 = report.p50, report.p99
    return result


def _python(run: BenchRun, name: str, spec: LoadSpec) -> LoadResult:
    per = spec.connections // PYTHON_PROCESSES
    procs = []
    for k in range(PYTHON_PROCESSES):
        spec_file = run.workdir / f"{name}-{k}.json"
        spec_file.write_text(
            json.dumps(
                {
                    "base_url": spec.base_url,
                    "mode": spec.mode,
                    "seconds": spec.seconds,
                    "connections": per,
                    "path": spec.path,
                    "vins": list(spec.vins),
                    "token": spec.token,
                    "auth_header": spec.auth_header,
                    "tag": f"{spec.tag}-p{k}",
                }
            )
        )
        argv = [sys.executable, "-m", "bench.http_client", str(spec_file)]
        procs.append((f"{name}-{k}", run.spawn(f"{name}-{k}", argv, {})))
    result = LoadResult(client=describe("python", spec.connections))
    reports = []
    for proc_name, proc in procs:
        _finish(run, proc, spec.seconds)
        reports.append(_last_report(run, proc_name, prefix=""))
    for report in reports:
        result.add(report)
    # The processes ran side by side: the worst one's percentiles are the honest ones to show.
    result.p50 = max(r.p50 for r in reports)
    result.p99 = max(r.p99 for r in reports)
    return result


def _finish(run: BenchRun, proc: subprocess.Popen[bytes], seconds: float) -> None:
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(seconds + 60)
    run.stop(proc)


def _last_report(run: BenchRun, name: str, prefix: str) -> Report:
    for text in reversed((run.workdir / f"{name}.log").read_text().splitlines()):
        body = text[len(prefix) :] if text.startswith(prefix) else ""
        if body.lstrip().startswith("{"):
            raw = json.loads(body)
            return Report(
                requests=int(raw["requests"]),
                seconds=float(raw["seconds"]),
                statuses={int(k): int(v) for k, v in raw["statuses"].items()},
                errors=int(raw["errors"]),
                p50=float(raw["p50"]),
                p99=float(raw["p99"]),
            )
    raise RuntimeError(f"the load generator {name} printed no report:\n{run.log_tail(name)}")
