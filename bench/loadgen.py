"""The load generators: ghz for gRPC, wrk for REST. Builds their command lines, runs them, reads their reports.

Both run closed-loop: a fixed number of calls in flight (`concurrency`) for a fixed time, each starting when the
previous one of its slot finished. Their own CPU time is measured too (wait4's rusage), so a saturated load
generator shows in the figures instead of passing for a slow server.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.procs import cpu_list

GHZ_OK = "OK"
RESULT_MARKER = "BENCH_RESULT "


@dataclass(frozen=True)
class Sample:
    """One measured run of one load generator."""

    ok: int
    """Calls that succeeded."""
    errors: int
    """Calls that failed (any gRPC status but OK; HTTP status >= 400, socket errors and timeouts)."""
    seconds: float
    p50_ms: float
    p99_ms: float
    error_kinds: dict[str, int] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)
    """CPU seconds each process spent during the run."""
    hit_ratio: float | None = None
    """Catalog rows: the share of the products replicas' reads answered from their cache during the run."""

    @property
    def rps(self) -> float:
        return self.ok / self.seconds if self.seconds > 0 else 0.0


# -- ghz -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GhzCall:
    """One gRPC load: which method where, with what requests."""

    target: str
    call: str
    """`package.Service.Method` (ghz's spelling)."""
    data: list[dict[str, Any]]
    """Requests as proto3 JSON; ghz sends them round-robin. Go templates such as {{.UUID}} are expanded per call."""
    metadata: dict[str, str] = field(default_factory=dict)


def ghz_argv(
    ghz: str,
    call: GhzCall,
    *,
    protoset: Path,
    data_file: Path,
    concurrency: int,
    connections: int,
    seconds: float,
    cpus: int,
) -> list[str]:
    argv = [
        ghz,
        "--insecure",
        "--protoset", str(protoset),
        "--call", call.call,
        "--data-file", str(data_file),
        "--concurrency", str(concurrency),
        "--connections", str(max(1, min(connections, concurrency))),
        "--duration", f"{max(seconds, 0.1):g}s",
        "--timeout", "30s",
        # Calls in flight when the time is up finish and count (default: cut off, counted as errors).
        "--duration-stop", "wait",
        "--cpus", str(cpus),
        "--format", "json",
    ]  # fmt: skip
    if call.metadata:
        argv += ["--metadata", json.dumps(call.metadata)]
    return [*argv, call.target]


def parse_ghz(report: Mapping[str, Any]) -> Sample:
    """A Sample from ghz's JSON report (`--format json`); durations there are nanoseconds."""
    count = int(report.get("count") or 0)
    statuses: dict[str, int] = dict(report.get("statusCodeDistribution") or {})
    ok = int(statuses.get(GHZ_OK, 0))
    percentiles = {
        int(p["percentage"]): float(p["latency"]) / 1e6 for p in report.get("latencyDistribution") or []
    }
    kinds = {k: int(v) for k, v in (report.get("errorDistribution") or {}).items()}
    if not kinds:
        kinds = {k: v for k, v in statuses.items() if k != GHZ_OK}
    return Sample(
        ok=ok,
        errors=count - ok,
        seconds=float(report.get("total") or 0) / 1e9,
        p50_ms=percentiles.get(50, 0.0),
        p99_ms=percentiles.get(99, 0.0),
        error_kinds=kinds,
    )


# -- wrk -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WrkCall:
    """One REST load. `path` and `body` are templates: `{item}` is the next of `items` (round-robin) and
    `{uid}` a value unique to the request (for idempotency keys)."""

    base_url: str
    method: str
    path: str
    items: list[str] = field(default_factory=lambda: [""])
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)


def lua_string(text: str) -> str:
    """A Lua string literal."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def lua_template(template: str) -> str:
    """A Lua expression building `template` from the locals `item` and `uid`."""
    parts: list[str] = []
    rest = template
    while rest:
        cut = min((i for i in (rest.find("{item}"), rest.find("{uid}")) if i >= 0), default=-1)
        if cut < 0:
            parts.append(lua_string(rest))
            break
        if cut:
            parts.append(lua_string(rest[:cut]))
        token = "item" if rest.startswith("{item}", cut) else "uid"
        parts.append(token)
        rest = rest[cut + len(token) + 2 :]
    return " .. ".join(parts) or '""'


def wrk_script(call: WrkCall, run_id: str) -> str:
    """The Lua script wrk runs: round-robin items, unique ids, and a JSON summary line at the end."""
    headers = "\n".join(f"wrk.headers[{lua_string(k)}] = {lua_string(v)}" for k, v in call.headers.items())
    items = ",\n  ".join(lua_string(i) for i in call.items)
    body = lua_template(call.body) if call.body else "nil"
    return f"""-- generated by bench.loadgen
wrk.method = {lua_string(call.method)}
{headers}
local items = {{
  {items}
}}
local count = #items
local n = 0
local prefix = {lua_string(run_id)}

request = function()
  n = n + 1
  local item = items[(n - 1) % count + 1]
  local uid = prefix .. "-" .. n
  return wrk.format(nil, {lua_template(call.path)}, nil, {body})
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{RESULT_MARKER}{{"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,' ..
    '"timeout":%d,"p50_us":%.1f,"p99_us":%.1f}}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def wrk_argv(
    wrk: str, call: WrkCall, *, script: Path, concurrency: int, seconds: float, threads: int
) -> list[str]:
    return [
        wrk,
        f"--threads={max(1, min(threads, concurrency))}",
        f"--connections={concurrency}",
        f"--duration={max(1, math.ceil(seconds))}s",  # wrk takes whole seconds
        "--timeout=30s",
        f"--script={script}",
        call.base_url,
    ]


def parse_wrk(output: str) -> Sample:
    """A Sample from the summary line our Lua script's done() prints."""
    for line in output.splitlines():
        if line.startswith(RESULT_MARKER):
            data = json.loads(line[len(RESULT_MARKER) :])
            break
    else:
        raise ValueError(f"no {RESULT_MARKER.strip()} line in wrk's output:\n{output}")
    kinds = {k: int(data[k]) for k in ("connect", "read", "write", "status", "timeout") if data[k]}
    # `requests` counts completed responses, including those with status >= 400 (`status` errors).
    return Sample(
        ok=int(data["requests"]) - int(data["status"]),
        errors=sum(kinds.values()),
        seconds=float(data["duration_us"]) / 1e6,
        p50_ms=float(data["p50_us"]) / 1000,
        p99_ms=float(data["p99_us"]) / 1000,
        error_kinds={f"http {k}": v for k, v in kinds.items()},
    )


# -- running -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finished:
    stdout: str
    stderr: str
    returncode: int
    cpu_seconds: float
    """User + system time of the load generator."""


def run_pinned(argv: Sequence[str], cpus: Sequence[int] | None, timeout: float) -> Finished:
    """Runs a load generator (on `cpus` via taskset, when given) and returns its output and CPU time."""
    if cpus:
        argv = ["taskset", "--cpu-list", cpu_list(cpus), *argv]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        try:
            _pid, status, usage = _wait4(process.pid, timeout)
        except TimeoutError:
            process.kill()
            process.wait()
            raise TimeoutError(f"{argv[0]} did not finish within {timeout:.0f} s: {' '.join(argv)}") from None
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Finished(
            out.read().decode(errors="replace"),
            err.read().decode(errors="replace"),
            process.returncode,
            usage.ru_utime + usage.ru_stime,
        )


def _wait4(pid: int, timeout: float) -> tuple[int, int, Any]:
    """os.wait4 with a deadline (polling: the load generators run for seconds, not milliseconds)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        found, status, usage = os.wait4(pid, os.WNOHANG)
        if found == pid:
            return found, status, usage
        if time.monotonic() > deadline:
            raise TimeoutError
        time.sleep(0.02)


def find_wrk() -> str | None:
    return shutil.which("wrk")


def install_wrk(echo: Any = print) -> str:
    """wrk from Debian's package, installed when missing (`make bench` runs as a user who may apt-get)."""
    if found := find_wrk():
        return found
    apt = ["apt-get", "install", "-y", "--no-install-recommends", "wrk"]
    if os.geteuid() != 0:
        if not shutil.which("sudo"):
            raise RuntimeError("wrk is missing: install Debian's wrk package (apt-get install wrk)")
        apt = ["sudo", "-n", *apt]
    echo("bench: installing wrk (Debian package) ...")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    result = subprocess.run(apt, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:  # a stale package list: refresh once and retry
        update = [*apt[: apt.index("install")], "update"]
        subprocess.run(update, capture_output=True, text=True, env=env, check=False)
        result = subprocess.run(apt, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0 or not (found := find_wrk()):
        raise RuntimeError(f"could not install wrk ({' '.join(apt)}):\n{result.stdout}{result.stderr}")
    return found
