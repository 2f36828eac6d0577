"""One idle replica of every service, the way `make up` starts them, and their memory once they settle.

A NATS JetStream node (the venv's nats-server) and one replica of each service (SQLite under a throwaway
directory, or with db="postgresql" a throwaway PostgreSQL as `make bench` uses; SHOPMESH_NATS_URL at that node;
tracing on as meshctl.launcher configures it, OTLP/gRPC to an endpoint nobody listens on, which is what an idle
replica of `make up` costs), each waited for until it answers grpc.health SERVING.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

from bench.rss.smaps import Breakdown, breakdown
from devkit.ports import free_port
from meshctl.topology import ROOT, load

SETTLE_SECONDS = 2.0


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
