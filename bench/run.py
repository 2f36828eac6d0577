"""The benchmark run: database, seed, mesh, the limit and every row, interleaved, then the report.

Method (../shared/perf-notes.md): the system under test (Envoy, every replica, PostgreSQL, the trace sink and
this process, which pumps the children's logs) runs on every CPU but the last, the load generator on the last
one (`taskset`), so the two do not fight over a core and runs repeat within ~10 %. Each row is measured
`repetitions` times, interleaved (every row once, then every row again, ...), and reported as medians; the ratios
compare figures of the same run. Timings are reported, never asserted.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import platform
import queue
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import sqlalchemy as sa
from argon2 import PasswordHasher
from shopmesh.user.v1 import user_service_pb2, user_service_pb2_grpc

from bench import catalog, fixture, growth, procs, seed
from bench.catalog import Staleness
from bench.growth import GrowthPlan, Seeded
from bench.loadgen import (
    GhzCall,
    Sample,
    WrkCall,
    ghz_argv,
    install_wrk,
    parse_ghz,
    parse_wrk,
    run_pinned,
    wrk_argv,
    wrk_script,
)
from bench.report import GROWTH_ROWS, NO_BROKER, ROW_NAMES, Row, aggregate
from devkit.ports import free_block, free_offset
from devkit.postgres import PostgresServer
from meshctl import topology
from meshctl.launcher import SINK, Mesh
from meshctl.topology import DEFAULT_DESCRIPTOR, ROOT, Topology
from meshkit.db import normalize_url
from svc_user.passwords import Passwords

Echo = Callable[[str], None]
GHZ = ROOT / ".tools" / "bin" / "ghz"
RESULTS = ROOT / "bench" / "results" / "latest.json"
SERVICES = {s.name: s.env_prefix for s in topology.load().services}
OUTBOXES = ("users", "products", "orders", "payments")
FIXTURE = "bench"
"""The empty service's name in the topology (its replicas: bench-0, bench-1)."""
UNLIMITED = 1_000_000
"""Rate limits of the bench mesh: high enough never to trip, so no row measures the limiter (it still runs)."""
PAGE_SIZE = 50
STOCK = 10_000_000
SAMPLE_IDS = 1000
ROW_CONCURRENCY = {"login": 4}
"""Rows whose calls are CPU-bound by design: Login hashes with Argon2id (~0.1 s of CPU), so 4 calls in flight
keep both users replicas busy and more would only queue (a latency of concurrency x KDF, not a faster row)."""

PRODUCT = "shopmesh.product.v1.ProductService"
ORDER = "shopmesh.order.v1.OrderService"
USER = "shopmesh.user.v1.UserService"


@dataclass(frozen=True)
class Options:
    db: str = "postgresql"
    duration: float = 3.0
    warmup: float = 1.0
    repetitions: int = 3
    concurrency: int = 32
    connections: int = 4
    products: int = 100_000
    users: int = 100
    rows: tuple[str, ...] = ROW_NAMES
    pin: bool = True
    measure_up: bool = True
    out: Path = RESULTS
    keep: bool = False
    """Keep the run directory (logs, Envoy config) instead of deleting it."""
    tracing: bool = True
    """Requests traced into the local trace sink, as `make up` runs the mesh. False: OTEL_SDK_DISABLED=true, no
    tracer anywhere (the Helm chart's default, without an OTLP endpoint)."""
    trace_sampling: float = 1.0
    """Percent of requests traced when tracing is on: 1, as a production deployment would sample (`make up`
    traces every request, to be looked at; `make up --trace-sampling` is the same knob)."""
    growth: bool = False
    """After the rows, seed `growth_orders` orders over `growth_users` users and measure GROWTH_ROWS
    (bench/growth.py)."""
    growth_orders: int = 1_000_000
    growth_users: int = 100_000


@dataclass
class Plan:
    """What the rows need to know about the running mesh."""

    gateway: str
    replica: dict[str, str]
    """service -> the address of its replica 0 (the direct rows' target)."""
    protoset: Path
    product_ids: list[str]
    """A sample spread over the catalog (the hot set: cached after the first round)."""
    page_token: str
    emails: list[str]
    token: str
    card_year: int
    all_product_ids: list[str] = field(default_factory=list)
    """Every product: the all-miss row reads them in a new random order each run."""
    growth: GrowthPlan | None = None
    """The growth rows' buyers and page token, once seeded."""


@dataclass
class Result:
    rows: list[Row]
    machine: dict[str, Any]
    rss_mb: dict[str, float]
    up_to_healthy_s: float | None
    samples: dict[str, list[Sample]] = field(default_factory=dict)
    staleness: Staleness | None = None
    growth: Seeded | None = None


# -- the mesh ------------------------------------------------------------------------------------------------------


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


# -- pieces --------------------------------------------------------------------------------------------------------


def machine_info(options: Options) -> dict[str, Any]:
    """The machine and what ran on it (the JSON's `machine`)."""
    return {
        "cores": os.cpu_count() or 0,
        "cpu_model": procs.cpu_model(),
        "memory_mb": procs.memory_mb(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "grpcio": grpc.__version__,
        "database": options.db,
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "method": {
            "duration_s": options.duration,
            "warmup_s": options.warmup,
            "repetitions": options.repetitions,
            "concurrency": options.concurrency,
            "row_concurrency": ROW_CONCURRENCY,
            "grpc_connections": options.connections,
            "products": options.products,
            "pinned": options.pin,
            "tracing": options.tracing,
            "trace_sampling_percent": options.trace_sampling if options.tracing else 0,
        },
    }


def split_cpus(cpus: Sequence[int]) -> tuple[list[int], list[int]]:
    """(system under test, load generator): the last CPU for the load generator, the rest for the rest."""
    ordered = sorted(cpus)
    if len(ordered) < 2:
        return ordered, ordered
    return ordered[:-1], ordered[-1:]


def kdf_cost(repeats: int = 7) -> dict[str, Any]:
    """What one password verification (Argon2id, the users service's parameters) costs here, in ms."""
    passwords = Passwords()
    password_hash = passwords.hash(seed.PASSWORD)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        passwords.verify(password_hash, seed.PASSWORD)
        times.append((time.perf_counter() - start) * 1000)
    params = PasswordHasher()
    return {
        "algorithm": "argon2id",
        "time_cost": params.time_cost,
        "memory_kib": params.memory_cost,
        "parallelism": params.parallelism,
        "verify_ms": round(statistics.median(times), 2),
    }


def time_make_up(echo: Echo, timeout: float = 120.0) -> float:
    """Seconds from `make up` to its "shopmesh is up" line (every replica and Envoy healthy, JWKS fetched), on
    shifted ports and a fresh run directory, beside whatever else runs."""
    offset = free_offset(topology.load().ports())
    run_dir = Path(tempfile.mkdtemp(prefix="bench-up-"))
    argv = ["make", "--no-print-directory", "up", f"UP_ARGS=--port-offset {offset} --run-dir {run_dir}"]
    lines: queue.Queue[str | None] = queue.Queue()
    start = time.monotonic()
    process = subprocess.Popen(
        argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True, text=True,
    )  # fmt: skip

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    tail: list[str] = []
    try:
        while True:
            try:
                line = lines.get(timeout=max(0.0, start + timeout - time.monotonic()))
            except queue.Empty:
                raise RuntimeError(f"`make up` was not healthy within {timeout:.0f} s") from None
            if line is None:
                raise RuntimeError("`make up` exited before it was up:\n" + "".join(tail[-30:]))
            tail.append(line)
            if "shopmesh is up" in line:
                return time.monotonic() - start
    finally:
        _stop_group(process)
        shutil.rmtree(run_dir, ignore_errors=True)
        echo(f"bench: `make up` stopped ({' '.join(argv)})")


def _stop_group(process: subprocess.Popen[str]) -> None:
    """Ctrl-C to the process group we started (make and the launcher), as a user would; then kill."""
    for signum, wait in ((signal.SIGINT, 30.0), (signal.SIGKILL, 10.0)):
        if process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signum)
        except ProcessLookupError:
            return
        try:
            process.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


@contextmanager
def _pinned(cpus: Sequence[int] | None) -> Iterator[None]:
    """Runs the block (and every process started in it) on `cpus`."""
    saved = os.sched_getaffinity(0)
    if cpus:
        procs.move_process(os.getpid(), cpus)
    try:
        yield
    finally:
        procs.move_process(os.getpid(), saved)


def _login(gateway: str, email: str) -> str:
    with grpc.insecure_channel(gateway) as channel:
        stub: Any = user_service_pb2_grpc.UserServiceStub(channel)
        reply = stub.Login(user_service_pb2.LoginRequest(email=email, password=seed.PASSWORD), timeout=30)
    return str(reply.access_token)


# -- rows ----------------------------------------------------------------------------------------------------------


def row_call(name: str, plan: Plan) -> GhzCall | WrkCall:
    """What each row sends where."""
    gw, ids = plan.gateway, plan.product_ids
    by_id = [{"name": f"products/{i}"} for i in ids]
    card = {"card_number": "4242424242424242", "exp_month": 12, "exp_year": plan.card_year, "cvc": "123"}
    auth = {"authorization": f"Bearer {plan.token}"}
    if name == "empty_direct":
        return GhzCall(plan.replica[FIXTURE], fixture.GHZ_CALL, [{}])
    if name == "empty_envoy":
        return GhzCall(gw, fixture.GHZ_CALL, [{}])
    if name == "get_product_direct":
        return GhzCall(plan.replica["products"], f"{PRODUCT}.GetProduct", by_id)
    if name == "get_product_envoy_grpc":
        return GhzCall(gw, f"{PRODUCT}.GetProduct", by_id)
    if name == "get_product_envoy_rest":
        return WrkCall(f"http://{gw}", "GET", "/v1/products/{item}", items=ids)
    if name == "get_product_envoy_miss":
        # Every product once, in a fresh order: more ids than a run reads, and far more than the cache holds.
        everyone = random.sample(plan.all_product_ids or ids, len(plan.all_product_ids or ids))
        return GhzCall(gw, f"{PRODUCT}.GetProduct", [{"name": f"products/{i}"} for i in everyone])
    if name == "list_products_page1":
        return GhzCall(gw, f"{PRODUCT}.ListProducts", [{"page_size": PAGE_SIZE}])
    if name == "list_products_page1000":
        return GhzCall(
            gw, f"{PRODUCT}.ListProducts", [{"page_size": PAGE_SIZE, "page_token": plan.page_token}]
        )
    if name == "create_order_rest":
        body = json.dumps(
            {
                "request_id": "{uid}",
                "order": {"items": [{"product": "products/{item}", "quantity": 1}]},
                "payment": card,
            },
            separators=(",", ":"),
        )
        headers = {**auth, "content-type": "application/json"}
        return WrkCall(f"http://{gw}", "POST", "/v1/orders", items=ids, body=body, headers=headers)
    if name in ("create_order_grpc", NO_BROKER):
        orders = [
            {
                "request_id": "{{.UUID}}",
                "order": {"items": [{"product": f"products/{i}", "quantity": 1}]},
                "payment": card,
            }
            for i in ids
        ]
        return GhzCall(gw, f"{ORDER}.CreateOrder", orders, metadata=auth)
    if name == "login":
        return GhzCall(gw, f"{USER}.Login", [{"email": e, "password": seed.PASSWORD} for e in plan.emails])
    if name == "create_order_grpc_grown":  # the same load, a million orders later
        return row_call("create_order_grpc", plan)
    if name in growth.LIST_ROWS:
        if plan.growth is None:
            raise ValueError(f"{name} needs the growth phase's plan (seeded buyers)")
        return growth.list_call(name, gw, plan.growth)
    raise ValueError(f"unknown row {name!r}; rows: {', '.join(ROW_NAMES)}")


class Bench:
    """One benchmark run; `run()` does everything and returns the result."""

    def __init__(
        self, options: Options, *, postgres: PostgresServer | None = None, echo: Echo = print
    ) -> None:
        unknown = set(options.rows) - set(ROW_NAMES) - set(GROWTH_ROWS)
        if unknown:
            raise ValueError(f"unknown rows: {', '.join(sorted(unknown))}; rows: {', '.join(ROW_NAMES)}")
        if options.db not in ("postgresql", "sqlite"):
            raise ValueError(f"--db must be postgresql or sqlite, not {options.db!r}")
        self.options = options
        self.echo = echo
        self._postgres = postgres
        self._own_postgres: PostgresServer | None = None
        self.sut_cpus, self.load_cpus = split_cpus(procs.affinity()) if options.pin else ([], [])
        self.run_dir = Path(tempfile.mkdtemp(prefix="shopmesh-bench-"))
        self.mesh: Mesh | None = None
        self.urls: dict[str, str] = {}
        self.wrk = ""

    # -- the whole run ----------------------------------------------------------------------------------------------

    def run(self) -> Result:
        options, echo = self.options, self.echo
        if not GHZ.is_file():
            raise RuntimeError(f"{GHZ} is missing: `make install` builds it (tools/go-tools.txt)")
        if any(isinstance(row_call(r, _DUMMY_PLAN), WrkCall) for r in options.rows):
            self.wrk = install_wrk(echo)
        machine = machine_info(options)
        up = None
        if options.measure_up:
            echo("bench: timing `make up` to healthy ...")
            up = time_make_up(echo)
            echo(f"bench: `make up` was healthy after {up:.2f} s")
        if self.sut_cpus:
            echo(
                f"bench: system under test on CPU {procs.cpu_list(self.sut_cpus)}, "
                f"load generator on CPU {procs.cpu_list(self.load_cpus)}"
            )
        try:
            with _pinned(self.sut_cpus):
                return self._run_pinned(machine, up)
        finally:
            self._teardown()

    def _run_pinned(self, machine: dict[str, Any], up: float | None) -> Result:
        options, echo = self.options, self.echo
        urls = self.urls = self._databases()
        started = time.monotonic()
        emails = seed.seed_users(urls["users"], options.users)
        seed.seed_products(urls["products"], options.products, stock=STOCK)
        echo(
            f"bench: seeded {options.products:,} products and {options.users} users "
            f"in {time.monotonic() - started:.1f} s ({options.db})"
        )
        machine["kdf"] = kdf_cost()
        ids = seed.sample_product_ids(urls["products"], SAMPLE_IDS)
        everyone = seed.sample_product_ids(urls["products"], options.products)
        pages = options.products // PAGE_SIZE
        token = seed.page_token(urls["products"], min(1000, pages), PAGE_SIZE) if pages >= 2 else ""

        mesh = self._start_mesh(urls)
        time.sleep(2.0)  # settle: first health checks, JWKS fetch, lazy imports
        rss = self._rss()
        plan = Plan(
            gateway=mesh.endpoints.gateway,
            replica={name: addrs[0] for name, addrs in mesh.endpoints.replicas.items()},
            protoset=self.run_dir / "bench.binpb",
            product_ids=ids,
            page_token=token,
            emails=emails,
            token=_login(mesh.endpoints.gateway, emails[0]),
            card_year=dt.date.today().year + 3,
            all_product_ids=everyone,
        )
        samples = self._measure_rows(options.rows, plan)
        stale = None
        if any(catalog.is_catalog_row(name) for name in options.rows):
            stale = catalog.staleness(mesh.endpoints.replicas["products"], ids[0])
            echo(
                f"bench: cache staleness after UpdateProduct ({stale.updates} edits, every replica): "
                f"p50 {stale.p50_ms:.1f} ms, p99 {stale.p99_ms:.1f} ms"
            )
        seeded = None
        if options.growth:
            seeded, plan = self._grow(plan)
            machine["growth"] = seeded.as_json()
            samples.update(self._measure_rows(GROWTH_ROWS, plan))
        rows = [aggregate(name, batch) for name, batch in samples.items()]
        return Result(rows, machine, rss, up, samples, staleness=stale, growth=seeded)

    def _measure_rows(self, names: Sequence[str], plan: Plan) -> dict[str, list[Sample]]:
        """Every row `repetitions` times, interleaved (a warm-up before each row's first)."""
        options, echo = self.options, self.echo
        samples: dict[str, list[Sample]] = {name: [] for name in names}
        for repetition in range(options.repetitions):
            for name in names:
                if repetition == 0 and options.warmup > 0:
                    self._measure(name, plan, options.warmup)
                sample = self._measure(name, plan, options.duration)
                samples[name].append(sample)
                echo(
                    f"bench: [{repetition + 1}/{options.repetitions}] {name:<24} {sample.rps:8.0f} req/s  "
                    f"p50 {sample.p50_ms:7.2f} ms  p99 {sample.p99_ms:7.2f} ms  errors {sample.errors}"
                    + (f" {sample.error_kinds}" if sample.errors else "")
                )
        return samples

    def _grow(self, plan: Plan) -> tuple[Seeded, Plan]:
        """The growth phase's seeding (the mesh keeps running) and the plan of its rows."""
        options, echo = self.options, self.echo
        echo(
            f"bench: growth: seeding {options.growth_orders:,} orders over {options.growth_users:,} users "
            f"({options.db}) ..."
        )
        seeded = growth.seed_growth(
            self.urls["users"], self.urls["orders"], self.urls["products"],
            orders=options.growth_orders, users=options.growth_users,
        )  # fmt: skip
        echo(
            f"bench: growth: seeded {seeded.users:,} users in {seeded.users_s:.1f} s, {seeded.orders:,} orders "
            f"and {seeded.items:,} items in {seeded.orders_s:.1f} s"
        )
        heavy = _login(plan.gateway, growth.HEAVY_EMAIL)
        last, pages = growth.last_page_token(plan.gateway, heavy)
        echo(f"bench: growth: the heavy buyer's orders span {pages} pages of {growth.PAGE_SIZE}")
        grown = GrowthPlan(heavy, _login(plan.gateway, growth.LIGHT_EMAIL), last)
        return seeded, dataclasses.replace(plan, growth=grown)

    # -- set-up and tear-down ---------------------------------------------------------------------------------------

    def _databases(self) -> dict[str, str]:
        if self.options.db == "sqlite":
            data = self.run_dir / "data"
            data.mkdir(parents=True, exist_ok=True)
            return {name: f"sqlite:///{data / f'{name}.sqlite3'}" for name in SERVICES}
        if self._postgres is None:
            self.echo("bench: starting a throwaway PostgreSQL ...")
            self._own_postgres = PostgresServer()
            self._own_postgres.start()
            self._postgres = self._own_postgres
        return {name: self._postgres.create_database(f"bench_{name}") for name in SERVICES}

    def _start_mesh(self, urls: dict[str, str]) -> Mesh:
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

    def _teardown(self) -> None:
        if self.mesh is not None:
            self.mesh.stop()
        if self._own_postgres is not None:
            self._own_postgres.stop()
        if self.options.keep:
            self.echo(f"bench: run directory kept: {self.run_dir}")
        else:
            shutil.rmtree(self.run_dir, ignore_errors=True)

    # -- the broker, for the row without it -----------------------------------------------------------------------

    def _stop_broker(self) -> None:
        assert self.mesh is not None
        self.mesh.kill("nats", signal.SIGTERM)

    def _restart_broker(self, patience: float = 120.0) -> None:
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

    def _rss(self) -> dict[str, float]:
        rss = {name: procs.rss_mb(pid) for name, pid in self._processes().items()}
        if (postmaster := self._postmaster()) is not None:
            rss["postgres"] = procs.tree_pss_mb(postmaster)
        return rss

    # -- one measurement ----------------------------------------------------------------------------------------------

    def _measure(self, name: str, plan: Plan, seconds: float) -> Sample:
        call = row_call(name, plan)
        options = self.options
        work = self.run_dir / "load"
        work.mkdir(exist_ok=True)
        threads = max(1, len(self.load_cpus) or (os.cpu_count() or 1))
        concurrency = min(options.concurrency, ROW_CONCURRENCY.get(name, options.concurrency))
        if isinstance(call, GhzCall):
            data_file = work / f"{name}.json"
            data_file.write_text(json.dumps(call.data))
            argv = ghz_argv(
                str(GHZ), call, protoset=plan.protoset, data_file=data_file, concurrency=concurrency,
                connections=options.connections, seconds=seconds, cpus=threads,
            )  # fmt: skip
        else:
            script = work / f"{name}.lua"
            script.write_text(wrk_script(call, uuid.uuid4().hex[:12]))
            argv = wrk_argv(
                self.wrk,
                call,
                script=script,
                concurrency=concurrency,
                seconds=seconds,
                threads=threads,
            )
        if name == NO_BROKER:
            self._stop_broker()
        cache_metrics = self.mesh.endpoints.metrics.get("products", []) if self.mesh else []
        counted = catalog.cache_counts(cache_metrics) if catalog.is_catalog_row(name) else None
        before = self.cpu_snapshot()
        finished = run_pinned(argv, self.load_cpus or None, timeout=seconds + 120)
        after = self.cpu_snapshot()
        hits = None if counted is None else catalog.hit_ratio(counted, catalog.cache_counts(cache_metrics))
        if name == NO_BROKER:
            self._restart_broker()
        if isinstance(call, GhzCall):
            try:
                sample = parse_ghz(json.loads(finished.stdout))
            except ValueError:
                raise RuntimeError(
                    f"ghz failed (exit {finished.returncode}) for {name}:\n{finished.stdout}{finished.stderr}"
                ) from None
        else:
            sample = parse_wrk(finished.stdout + finished.stderr)
        cpu = procs.cpu_deltas(before, after)
        cpu["loadgen"] = finished.cpu_seconds
        return dataclasses.replace(sample, cpu=cpu, hit_ratio=hits)


_DUMMY_PLAN = Plan("", {FIXTURE: "", "products": ""}, Path(), ["x"], "", ["x"], "", 2000)


def run(options: Options, *, postgres: PostgresServer | None = None, echo: Echo = print) -> Result:
    return Bench(options, postgres=postgres, echo=echo).run()


def echo_stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
