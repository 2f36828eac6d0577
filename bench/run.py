"""The benchmark run: database, seed, mesh, the limit and every row, interleaved, then the report.

Method (../shared/perf-notes.md): the system under test (Envoy, every replica, PostgreSQL, the trace sink and
this process, which pumps the children's logs) runs on every CPU but the last, the load generator on the last
one (`taskset`), so the two do not fight over a core and runs repeat within ~10 %. Each row is measured
`repetitions` times, interleaved (every row once, then every row again, ...), and reported as medians; the ratios
compare figures of the same run. Timings are reported, never asserted.

This module orchestrates; the pieces live beside it: the options (bench/options.py), the machine and its CPUs
(bench/machine.py), the system under test (bench/sut.py), what each row sends (bench/plan.py), timing `make up`
(bench/make_up.py), the load generators (bench/loadgen.py) and the rows' figures (bench/report/).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from shopmesh.user.v1 import user_service_pb2, user_service_pb2_grpc

from bench import catalog, growth, procs, seed
from bench.catalog import Staleness
from bench.growth import GrowthPlan, Seeded
from bench.loadgen import (
    GhzCall,
    Sample,
    ghz_argv,
    install_wrk,
    parse_ghz,
    parse_wrk,
    run_pinned,
    wrk_argv,
    wrk_script,
)
from bench.machine import kdf_cost, machine_info, pinned, split_cpus
from bench.make_up import time_make_up
from bench.options import ROW_CONCURRENCY, Options
from bench.plan import PAGE_SIZE, Plan, row_call, uses_wrk
from bench.report import GROWTH_ROWS, NO_BROKER, ROW_NAMES, Row, aggregate
from bench.sut import SystemUnderTest
from devkit.postgres import PostgresServer
from meshctl.topology import ROOT

Echo = Callable[[str], None]
GHZ = ROOT / ".tools" / "bin" / "ghz"
STOCK = 10_000_000
SAMPLE_IDS = 1000


@dataclass
class Result:
    rows: list[Row]
    machine: dict[str, Any]
    rss_mb: dict[str, float]
    up_to_healthy_s: float | None
    samples: dict[str, list[Sample]] = field(default_factory=dict)
    staleness: Staleness | None = None
    growth: Seeded | None = None


def _login(gateway: str, email: str) -> str:
    with grpc.insecure_channel(gateway) as channel:
        stub: Any = user_service_pb2_grpc.UserServiceStub(channel)
        reply = stub.Login(user_service_pb2.LoginRequest(email=email, password=seed.PASSWORD), timeout=30)
    return str(reply.access_token)


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
        self.sut_cpus, self.load_cpus = split_cpus(procs.affinity()) if options.pin else ([], [])
        self.run_dir = Path(tempfile.mkdtemp(prefix="shopmesh-bench-"))
        self.sut = SystemUnderTest(
            options, self.run_dir, postgres=postgres, echo=echo, load_cpus=self.load_cpus
        )
        self.wrk = ""

    # -- the whole run ----------------------------------------------------------------------------------------------

    def run(self) -> Result:
        options, echo = self.options, self.echo
        if not GHZ.is_file():
            raise RuntimeError(f"{GHZ} is missing: `make install` builds it (tools/go-tools.txt)")
        if uses_wrk(options.rows):
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
            with pinned(self.sut_cpus):
                return self._run_pinned(machine, up)
        finally:
            self._teardown()

    def _run_pinned(self, machine: dict[str, Any], up: float | None) -> Result:
        options, echo = self.options, self.echo
        urls = self.sut.databases()
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

        mesh = self.sut.start_mesh(urls)
        time.sleep(2.0)  # settle: first health checks, JWKS fetch, lazy imports
        rss = self.sut.rss()
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
        options, echo, urls = self.options, self.echo, self.sut.urls
        echo(
            f"bench: growth: seeding {options.growth_orders:,} orders over {options.growth_users:,} users "
            f"({options.db}) ..."
        )
        seeded = growth.seed_growth(
            urls["users"], urls["orders"], urls["products"],
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

    def _teardown(self) -> None:
        self.sut.stop()
        if self.options.keep:
            self.echo(f"bench: run directory kept: {self.run_dir}")
        else:
            shutil.rmtree(self.run_dir, ignore_errors=True)

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
            self.sut.stop_broker()
        mesh = self.sut.mesh
        cache_metrics = mesh.endpoints.metrics.get("products", []) if mesh else []
        counted = catalog.cache_counts(cache_metrics) if catalog.is_catalog_row(name) else None
        before = self.sut.cpu_snapshot()
        finished = run_pinned(argv, self.load_cpus or None, timeout=seconds + 120)
        after = self.sut.cpu_snapshot()
        hits = None if counted is None else catalog.hit_ratio(counted, catalog.cache_counts(cache_metrics))
        if name == NO_BROKER:
            self.sut.restart_broker()
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


def run(options: Options, *, postgres: PostgresServer | None = None, echo: Echo = print) -> Result:
    return Bench(options, postgres=postgres, echo=echo).run()


def echo_stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
