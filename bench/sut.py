"""The system under test: the services' databases (a throwaway PostgreSQL or SQLite files), the mesh on them
(Envoy, every replica, the empty service, the trace sink), its broker for the row without it, and what its
processes cost (/proc)."""

from __future__ import annotations

import dataclasses
import os
import signal
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import sqlalchemy as sa

from bench import fixture, procs
from bench.options import Options
from devkit.ports import free_block
from devkit.postgres import PostgresServer
from meshctl import topology
from meshctl.launcher import SINK, Mesh
from meshctl.topology import DEFAULT_DESCRIPTOR, Topology
from meshkit.db import normalize_url

SERVICES = {s.name: s.env_prefix for s in topology.load().services}
OUTBOXES = ("users", "products", "orders", "payments")
FIXTURE = "bench"
"""The empty service's name in the topology (its replicas: bench-0, bench-1)."""
UNLIMITED = 1_000_000
"""Rate limits of the bench mesh: high enough never to trip, so no row measures the limiter (it still runs)."""


def bench_topology(base: int, replicas: int | None = None) -> Topology:
    """The default topology on ports [base, base + 10 * (services + 2)), rate limits out of the way, plus the
    empty service after the others."""
    topo = topology.load().packed(base)
    topo = topo.with_gateway(
        open_rpcs=(*topo.gateway.open_rpcs, fixture.FULL_METHOD),
        login_rate_per_client=UNLIMITED,
        route_rate_limit=UNLIMITED,
    )
    products = topo.service("products")
    empty = dataclasses.replace(
        products,
        name=FIXTURE,
        module="bench.fixture",
        env_prefix=fixture.ENV_PREFIX,
        grpc_services=(fixture.SERVICE,),
        port=base + 10 * (len(topo.services) + 1),
        replicas=replicas or products.replicas,
    )
    return dataclasses.replace(topo, services=(*topo.services, empty))


class SystemUnderTest:
    """The databases and the mesh of one run, in `run_dir`; `stop()` ends what it started. A PostgreSQL server
    passed in (`postgres`) is used and left running."""

    def __init__(
        self,
        options: Options,
        run_dir: Path,
        *,
        postgres: PostgresServer | None,
        echo: Callable[[str], None],
        load_cpus: Sequence[int],
    ) -> None:
        self.options = options
        self.run_dir = run_dir
        self.echo = echo
        self.load_cpus = load_cpus
        self._postgres = postgres
        self._own_postgres: PostgresServer | None = None
        self.mesh: Mesh | None = None
        self.urls: dict[str, str] = {}

    # -- set-up and tear-down ---------------------------------------------------------------------------------------

    def databases(self) -> dict[str, str]:
        """A database per service; their URLs (also kept in `urls`)."""
        if self.options.db == "sqlite":
            data = self.run_dir / "data"
            data.mkdir(parents=True, exist_ok=True)
            self.urls = {name: f"sqlite:///{data / f'{name}.sqlite3'}" for name in SERVICES}
            return self.urls
        if self._postgres is None:
            self.echo("bench: starting a throwaway PostgreSQL ...")
            self._own_postgres = PostgresServer()
            self._own_postgres.start()
            self._postgres = self._own_postgres
        self.urls = {name: self._postgres.create_database(f"bench_{name}") for name in SERVICES}
        return self.urls

    def start_mesh(self, urls: dict[str, str]) -> Mesh:
        env = dict(os.environ)
        if not self.options.tracing:
            env["OTEL_SDK_DISABLED"] = "true"
        if self.options.db == "postgresql":
            for name, prefix in SERVICES.items():
                env[f"{prefix}_DATABASE_URL"] = urls[name]
        # Envoy also loads the empty service's descriptor: its route is rendered like every public RPC's.
        mesh = Mesh(
            bench_topology(free_block(70)),
            self.run_dir,
            env=env,
            raw_console=True,
            trace_sampling=self.options.trace_sampling,
            descriptor=fixture.write_descriptor_set(DEFAULT_DESCRIPTOR, self.run_dir / "bench.binpb"),
        )
        self.echo(
            "bench: starting the mesh (Envoy, 2 replicas of every service and of the empty service) ..."
        )
        started = time.monotonic()
        self.mesh = mesh
        mesh.start(timeout=120)
        self.echo(f"bench: mesh healthy after {time.monotonic() - started:.1f} s at {mesh.endpoints.gateway}")
        if self.load_cpus:
            # The local stand-ins for a trace collector and a log collector are not the mesh: the trace sink and
            # this process (it pumps every child's output into files) run beside the load generator.
            outside = [c.process.pid for c in mesh.children if c.name == SINK]
            procs.move_process(os.getpid(), self.load_cpus)
            for pid in outside:
                procs.move_process(pid, self.load_cpus)
        return mesh

    def stop(self) -> None:
        if self.mesh is not None:
            self.mesh.stop()
        if self._own_postgres is not None:
            self._own_postgres.stop()

    # -- the broker, for the row without it -----------------------------------------------------------------------

    def stop_broker(self) -> None:
        assert self.mesh is not None
        self.mesh.kill("nats", signal.SIGTERM)

    def restart_broker(self, patience: float = 120.0) -> None:
        """Brings the broker back and waits until every outbox drained, so the next row does not pay for this
        one's backlog."""
        assert self.mesh is not None
        self.mesh.restart("nats")
        engines = {name: sa.create_engine(normalize_url(self.urls[name])) for name in OUTBOXES}
        deadline = time.monotonic() + patience
        try:
            while True:
                left = 0
                for engine in engines.values():
                    with engine.connect() as conn:
                        left += int(conn.execute(sa.text("SELECT count(*) FROM outbox")).scalar_one())
                if not left:
                    return
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"{left} events still in the outboxes {patience:.0f} s after the broker came back"
                    )
                time.sleep(0.5)
        finally:
            for engine in engines.values():
                engine.dispose()

    # -- /proc --------------------------------------------------------------------------------------------------------

    def _postmaster(self) -> int | None:
        if self._postgres is None or self.options.db != "postgresql":
            return None
        try:
            return int((self._postgres.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def _processes(self) -> dict[str, int]:
        assert self.mesh is not None
        return {child.name: child.process.pid for child in self.mesh.children if child.alive()}

    def cpu_snapshot(self) -> dict[str, float]:
        """CPU seconds so far of every process of the system under test."""
        snapshot = {name: procs.cpu_seconds(pid) for name, pid in self._processes().items()}
        if (postmaster := self._postmaster()) is not None:
            snapshot["postgres"] = procs.tree_cpu_seconds(postmaster)
        snapshot["launcher"] = procs.cpu_seconds(os.getpid())
        return snapshot

    def rss(self) -> dict[str, float]:
        rss = {name: procs.rss_mb(pid) for name, pid in self._processes().items()}
        if (postmaster := self._postmaster()) is not None:
            rss["postgres"] = procs.tree_pss_mb(postmaster)
        return rss
