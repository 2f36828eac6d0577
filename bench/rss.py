"""`python -m bench.rss`: the idle resident memory of one replica of every service, and what each MB is.

It starts a NATS JetStream node (the venv's nats-server) and one replica of each service the way `make up` does
(SQLite under a throwaway directory, or with --db postgresql a throwaway PostgreSQL as `make bench` uses;
SHOPMESH_NATS_URL at that node; tracing on as meshctl.launcher configures it, OTLP/gRPC to an endpoint nobody
listens on, which is what an idle replica of `make up` costs), waits until each answers grpc.health SERVING,
lets them settle and reads /proc/PID/status VmRSS. Each replica's RSS is split by its mappings (/proc/PID/smaps):

* `code+data of .so`: file-backed pages (the interpreter, libgrpc, libprotobuf's upb, libcrypto, ...);
* `main heap`: the brk heap (glibc's main arena);
* `thread arenas`: glibc's per-thread malloc arenas (64 MB reservations; MALLOC_ARENA_MAX caps their number);
* `thread stacks`: the 8 MB stack reservations of threads (only touched pages count);
* `other anon`: everything else anonymous (pymalloc's 1 MB arenas, large objects, grpc's own mmaps).

Then the import ladder: in a fresh interpreter per step, RSS after importing each group of modules on top of the
previous ones, so each row is what that group adds (what an idle replica pays for having imported it).

Units are MB = 10^6 bytes, as bench/procs.py rss_mb.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.procs import rss_mb
from devkit.ports import free_port
from meshctl.topology import ROOT, load

SETTLE_SECONDS = 2.0
ARENA = 64 * 1024 * 1024
"""glibc's HEAP_MAX_SIZE on 64-bit: each thread arena is a 64 MB aligned reservation."""
STACK = 8 * 1024 * 1024
"""The default thread stack (ulimit -s 8192): an 8 MB mapping plus a guard page."""

LADDER: tuple[tuple[str, str], ...] = (
    ("interpreter (python -c pass)", ""),
    (
        "stdlib: asyncio, ssl, logging, json, concurrent",
        "import asyncio, ssl, logging, json, concurrent.futures",
    ),
    ("grpc", "import grpc"),
    ("protobuf + google.api/rpc pb2", "import google.protobuf.descriptor_pb2, google.api.annotations_pb2"),
    (
        "shopmesh pb2 (4 APIs + events)",
        "import shopmesh.user.v1.user_service_pb2_grpc, shopmesh.product.v1.product_service_pb2_grpc, "
        "shopmesh.order.v1.order_service_pb2_grpc, shopmesh.payment.v1.payment_service_pb2_grpc",
    ),
    ("grpc_health", "import grpc_health.v1.health"),
    ("grpc_reflection", "import grpc_reflection.v1alpha.reflection"),
    ("sqlalchemy (core)", "import sqlalchemy"),
    ("sqlalchemy sqlite dialect", "import sqlalchemy.dialects.sqlite"),
    ("psycopg + postgresql dialect", "import psycopg, sqlalchemy.dialects.postgresql.psycopg"),
    ("opentelemetry api", "import opentelemetry.trace, opentelemetry.propagate"),
    ("opentelemetry sdk", "import opentelemetry.sdk.trace, opentelemetry.sdk.trace.export"),
    (
        "otlp exporter (grpc): with the first spans",
        "import opentelemetry.exporter.otlp.proto.grpc.trace_exporter",
    ),
    ("instrumentation-grpc", "import opentelemetry.instrumentation.grpc"),
    ("prometheus_client", "import prometheus_client"),
    ("nats-py", "import nats, nats.js"),
    ("meshkit (server, calls, events)", "import meshkit.server, meshkit.cli"),
    ("svc_product", "import svc_product.server"),
    ("svc_order", "import svc_order.server"),
    ("svc_payment", "import svc_payment.server"),
    ("svc_notification", "import svc_notification.server"),
    ("svc_user (argon2, jwt, cryptography)", "import svc_user.server"),
)
"""(label, statement): each step imports everything of the steps before it, then this."""


@dataclass(frozen=True)
class Breakdown:
    """One process's resident memory by kind of mapping, in MB."""

    rss: float
    files: float
    heap: float
    arenas: float
    arena_count: int
    stacks: float
    stack_count: int
    other: float
    threads: int

    ROWS = (
        ("files", "code+data of .so and .py"),
        ("heap", "main heap (brk)"),
        ("arenas", "thread malloc arenas"),
        ("stacks", "thread stacks"),
        ("other", "other anon (pymalloc, mmaps)"),
    )


def _kb(line: str) -> int:
    return int(line.split()[1])


def breakdown(pid: int, proc: Path = Path("/proc")) -> Breakdown:
    """Splits VmRSS by mapping: see the module's docstring."""
    mappings: list[tuple[int, int, str, str, int]] = []  # (start, end, perms, path, rss kB)
    for line in (proc / str(pid) / "smaps").read_text().splitlines():
        head = line.split(maxsplit=5)
        if "-" in head[0] and not head[0].endswith(":"):
            lo, hi = (int(x, 16) for x in head[0].split("-"))
            mappings.append((lo, hi, head[1], head[5] if len(head) > 5 else "", 0))
        elif head[0] == "Rss:" and mappings:
            mappings[-1] = (*mappings[-1][:4], _kb(line))
    kb = dict.fromkeys(("files", "heap", "arenas", "stacks", "other"), 0)
    arena_count = stack_count = 0
    previous: tuple[int, int, str, str, int] | None = None
    for i, (start, end, perms, path, rss) in enumerate(mappings):
        following = mappings[i + 1] if i + 1 < len(mappings) else None
        if path == "[heap]":
            kb["heap"] += rss
        elif path == "[stack]":
            kb["stacks"] += rss
            stack_count += 1
        elif path and not path.startswith("["):
            kb["files"] += rss
        elif start % ARENA == 0 and (
            end - start == ARENA
            or (
                following is not None
                and following[0] == end
                and following[1] == start + ARENA
                and following[2].startswith("---")
            )
        ):
            # A thread arena: its used part at a 64 MB boundary, the rest of the reservation PROT_NONE after it.
            kb["arenas"] += rss
            arena_count += 1
        elif (
            end - start == STACK
            and previous is not None
            and previous[1] == start
            and previous[2].startswith("---")
            and previous[1] - previous[0] == 4096
        ):
            kb["stacks"] += rss  # a thread's stack, right after its guard page
            stack_count += 1
        else:
            kb["other"] += rss
        previous = (start, end, perms, path, rss)
    threads = 0
    for line in (proc / str(pid) / "status").read_text().splitlines():
        if line.startswith("Threads:"):
            threads = _kb(line)
    mb = 1024 / 1e6
    return Breakdown(
        rss=rss_mb(pid, proc),
        files=kb["files"] * mb,
        heap=kb["heap"] * mb,
        arenas=kb["arenas"] * mb,
        arena_count=arena_count,
        stacks=kb["stacks"] * mb,
        stack_count=stack_count,
        other=kb["other"] * mb,
        threads=threads,
    )


def _serving(address: str) -> bool:
    from meshctl.supervisor import grpc_serving

    return grpc_serving(address)


@contextlib.contextmanager
def replicas(
    env: Mapping[str, str], *, db: str = "sqlite", timeout: float = 60.0
) -> Iterator[dict[str, int]]:
    """One replica of every service of the topology, serving; yields {service: pid}. Everything stops after.
    `db`: sqlite (a file each under the throwaway directory) or postgresql (a throwaway server, a database
    each, as `make bench` runs them)."""
    topology = load()
    nats_server = shutil.which("nats-server", path=str(Path(sys.executable).parent)) or shutil.which(
        "nats-server"
    )
    if nats_server is None:
        raise SystemExit("bench.rss: no nats-server (`make install` puts one in .venv)")
    with tempfile.TemporaryDirectory(prefix="shopmesh-rss-") as tmp:
        work = Path(tmp)
        nats_port = free_port()
        children: list[subprocess.Popen[bytes]] = []
        postgres = None
        try:
            databases: dict[str, str] = {}
            if db == "postgresql":
                from devkit.postgres import PostgresServer

                postgres = PostgresServer()
                postgres.start()
                for service in topology.services:
                    url = postgres.create_database(f"rss_{service.name}")
                    databases[f"{service.env_prefix}_DATABASE_URL"] = url
            children.append(
                subprocess.Popen(
                    [nats_server, "-a", "127.0.0.1", "-p", str(nats_port), "-js", "-sd", str(work / "nats")],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            deadline = time.monotonic() + timeout
            while not _accepts(nats_port):
                if time.monotonic() > deadline:
                    raise SystemExit("bench.rss: nats-server did not start")
                time.sleep(0.05)
            addresses: dict[str, str] = {}
            pids: dict[str, int] = {}
            base = {
                **{k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SVC_", "SHOPMESH_"))},
                "SHOPMESH_NATS_URL": f"nats://127.0.0.1:{nats_port}",
                "SHOPMESH_DATA_DIR": str(work / "data"),
                "SHOPMESH_MAIL_DIR": str(work / "mail"),
                "MESH_INTERNAL_ADDR": f"127.0.0.1:{free_port()}",
                "PYTHONUNBUFFERED": "1",
                # As `make up` with its local sink (meshctl.launcher._TracingPlan.service_env), the sink absent.
                "OTEL_TRACES_EXPORTER": "otlp",
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"http://127.0.0.1:{free_port()}",
                "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc",
                "OTEL_BSP_SCHEDULE_DELAY": "500",
                **env,
            }
            for service in topology.services:
                port, metrics = free_port(), free_port()
                prefix = service.env_prefix
                child_env = {
                    **base,
                    f"{prefix}_HOST": "127.0.0.1",
                    f"{prefix}_PORT": str(port),
                    f"{prefix}_METRICS_PORT": str(metrics),
                    "SHOPMESH_REPLICA": f"{service.name}-0",
                    **{k: v for k, v in databases.items() if k.startswith(f"{prefix}_")},
                }
                log = (work / f"{service.name}.log").open("wb")
                child = subprocess.Popen(
                    [sys.executable, "-m", service.module],
                    env=child_env,
                    cwd=ROOT,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
                children.append(child)
                addresses[service.name] = f"127.0.0.1:{port}"
                pids[service.name] = child.pid
            for name, address in addresses.items():
                while not _serving(address):
                    child = next(c for c in children if c.pid == pids[name])
                    if child.poll() is not None or time.monotonic() > deadline:
                        tail = (work / f"{name}.log").read_text(errors="replace")[-2000:]
                        raise SystemExit(f"bench.rss: {name} did not serve:\n{tail}")
                    time.sleep(0.1)
            yield pids
        finally:
            for child in reversed(children):
                child.terminate()
            for child in reversed(children):
                try:
                    child.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
            if postgres is not None:
                postgres.stop()


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def measure(
    env: Mapping[str, str], settle: float = SETTLE_SECONDS, db: str = "sqlite"
) -> dict[str, Breakdown]:
    """Each service's idle breakdown, `settle` seconds after all serve."""
    with replicas(env, db=db) as pids:
        time.sleep(settle)
        return {name: breakdown(pid) for name, pid in pids.items()}


_PROBE = (
    "import sys\n"
    "{imports}\n"
    "for line in open('/proc/self/status'):\n"
    "    if line.startswith('VmRSS:'):\n"
    "        print(int(line.split()[1]) * 1024 / 1e6)\n"
)


def ladder(
    env: Mapping[str, str], steps: Sequence[tuple[str, str]] = LADDER, db: str = "sqlite"
) -> list[tuple[str, float]]:
    """(label, MB that step adds), each step measured in a fresh interpreter with every previous import done
    (the median of three). Only the dialect of `db` is imported, as in the replicas."""
    rows: list[tuple[str, float]] = []
    done: list[str] = []
    previous = 0.0
    child_env = {**os.environ, **env}
    for label, statement in steps:
        if ("psycopg" in statement) != (db == "postgresql") and "dialects" in statement:
            continue  # each database loads its own dialect only
        if statement:
            done.append(statement)
        samples = []
        for _ in range(3):
            out = subprocess.run(
                [sys.executable, "-c", _PROBE.format(imports="\n".join(done))],
                env=child_env,
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            )
            samples.append(float(out.stdout.split()[-1]))
        total = sorted(samples)[1]
        rows.append((label, total - previous))
        previous = total
    rows.append(("total", previous))
    return rows


def _table(readings: Mapping[str, Breakdown]) -> list[str]:
    names = list(readings)
    width = max(len(label) for _, label in Breakdown.ROWS) + 2
    lines = ["MB (10^6 B)".ljust(width) + "".join(f"{n:>15}" for n in names)]
    for attr, label in Breakdown.ROWS:
        cells = []
        for n in names:
            r = readings[n]
            value = getattr(r, attr)
            count = {"arenas": r.arena_count, "stacks": r.stack_count}.get(attr)
            cells.append(f"{value:>10.1f}" + (f" ({count:>2})" if count is not None else "     "))
        lines.append(label.ljust(width) + "".join(cells))
    lines.append("VmRSS".ljust(width) + "".join(f"{readings[n].rss:>10.1f}     " for n in names))
    lines.append("threads".ljust(width) + "".join(f"{readings[n].threads:>10d}     " for n in names))
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m bench.rss",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog="Runs one replica of each service on SQLite with a local nats-server; takes about 20 s "
        "(the ladder: about 30 s more).",
    )
    p.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a variable in every replica's environment (and the ladder's), e.g. MALLOC_ARENA_MAX=2",
    )
    p.add_argument(
        "--db",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="the replicas' databases: SQLite files, or a throwaway PostgreSQL as `make bench` uses (default sqlite)",
    )
    p.add_argument("--no-ladder", action="store_true", help="skip the import ladder")
    p.add_argument("--settle", type=float, default=SETTLE_SECONDS, help="seconds idle before reading")
    args = p.parse_args(argv)
    extra: dict[str, str] = {}
    for item in args.env:
        name, sep, value = item.partition("=")
        if not sep:
            p.error(f"--env {item!r}: NAME=VALUE")
        extra[name] = value
    env = {k: v for k, v in extra.items() if v != ""}
    readings = measure(env, args.settle, args.db)
    print(f"Idle replicas (one per service, {args.db}, NATS, tracing on), " + _env_note(env))
    print("\n".join(_table(readings)))
    if not args.no_ladder:
        print("\nImport ladder (fresh interpreter per step; MB each group adds to the ones above it)")
        for label, mb in ladder(env, db=args.db):
            print(f"  {label:<40}{mb:>7.1f}")
    return 0


def _env_note(env: Mapping[str, str]) -> str:
    shown = {k: v for k, v in env.items() if k.startswith(("MALLOC_", "PYTHON"))}
    return ", ".join(f"{k}={v}" for k, v in sorted(shown.items())) or "no malloc settings"


if __name__ == "__main__":
    raise SystemExit(main())
