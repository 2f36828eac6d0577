"""`python -m bench`: options, the run, the console report and bench/results/latest.json."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from bench import report
from bench.options import RESULTS, Options
from bench.report import GROWTH_ROWS, ROW_NAMES
from bench.run import Result, echo_stderr, run
from meshctl.cli import percent


def _rows(text: str) -> tuple[str, ...]:
    rows = tuple(r.strip() for r in text.split(",") if r.strip())
    if unknown := [r for r in rows if r not in ROW_NAMES]:
        raise argparse.ArgumentTypeError(
            f"unknown rows {', '.join(unknown)}; choose from {', '.join(ROW_NAMES)}"
        )
    return rows


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark shopmesh on this machine: start the mesh on a throwaway PostgreSQL (or SQLite), "
        "seed a catalog, drive every row with ghz (gRPC) or wrk (REST), and compare each figure with the limit "
        "measured in the same run: an empty RPC on a bare grpcio server, direct and through the same Envoy. "
        "Prints the table and writes it as JSON. Reports timings; never asserts them.",
        epilog="rows: " + ", ".join(ROW_NAMES) + "\n"
        "growth rows (--growth): " + ", ".join(GROWTH_ROWS) + "\n\n"
        "The system under test runs on every CPU but the last, the load generator on the last (taskset); each "
        "row is measured --repetitions times, interleaved, and reported as medians. With the defaults the "
        "whole run takes about 2.5 minutes.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--db",
        choices=("postgresql", "sqlite"),
        default=os.environ.get("BENCH_DB") or "postgresql",
        help="the services' databases (default: $BENCH_DB, else postgresql: a throwaway server)",
    )
    p.add_argument("--duration", type=float, default=3.0, help="seconds each measurement runs (default 3)")
    p.add_argument(
        "--warmup",
        type=float,
        default=1.0,
        help="seconds of unrecorded load before a row's first run (default 1)",
    )
    p.add_argument(
        "--repetitions",
        type=int,
        default=3,
        help="measurements of each row, interleaved; medians (default 3)",
    )
    p.add_argument("--concurrency", type=int, default=32, help="calls in flight (default 32)")
    p.add_argument(
        "--connections", type=int, default=4, help="HTTP/2 connections ghz spreads the calls over (default 4)"
    )
    p.add_argument("--products", type=int, default=100_000, help="products in the catalog (default 100000)")
    p.add_argument("--users", type=int, default=100, help="users (Login cycles through them; default 100)")
    p.add_argument(
        "--rows", type=_rows, default=ROW_NAMES, help="comma-separated subset of the rows (default: all)"
    )
    p.add_argument(
        "--no-pin",
        dest="pin",
        action="store_false",
        help="do not pin the load generator and the mesh to CPUs",
    )
    p.add_argument(
        "--no-up-timing",
        dest="measure_up",
        action="store_false",
        help="skip timing `make up` to healthy (up_to_healthy_s is null)",
    )
    p.add_argument(
        "--tracing",
        choices=("on", "off"),
        default="on",
        help="on (default): requests traced into the local sink (see --trace-sampling), as `make up` runs the mesh; off: "
        "OTEL_SDK_DISABLED=true, no tracer in Envoy or the services (the Helm chart without an OTLP endpoint)",
    )
    p.add_argument(
        "--trace-sampling",
        type=percent,
        default=1.0,
        metavar="PERCENT",
        help="with tracing on, the percent of new requests traced (default 1, production-like; `make up` traces "
        "100, every request, which costs the services a fifth to a third of their CPU per request)",
    )
    p.add_argument(
        "--growth",
        action="store_true",
        help="after the rows, bulk-seed 1,000,000 orders over 100,000 users into the running mesh's databases "
        "and measure the growth rows: CreateOrder again, ListOrders of a buyer with 10 orders and of one with "
        "1,000 (first and last page); adds a few minutes",
    )
    p.add_argument(
        "--growth-orders", type=int, default=1_000_000, help="orders the growth phase seeds (default 1000000)"
    )
    p.add_argument(
        "--growth-users", type=int, default=100_000, help="users the growth phase seeds (default 100000)"
    )
    p.add_argument("--out", type=Path, default=RESULTS, help=f"the JSON result (default {RESULTS})")
    p.add_argument(
        "--keep", action="store_true", help="keep the run directory (logs, Envoy config) afterwards"
    )
    return p


def render(result: Result) -> str:
    """The console report."""
    rows = {r.name: r for r in result.rows}
    kdf = result.machine.get("kdf", {})
    parts = [
        f"shopmesh bench: {result.machine['cores']} cores, {result.machine['cpu_model']}, "
        f"{result.machine['database']}",
        "",
        report.table(result.rows),
        "",
        "CPU ms per request by process:",
        report.cpu_table(result.rows),
        "",
        "Idle RSS, MB (postgres: PSS of all its processes): " + report.rss_table(result.rss_mb),
    ]
    if result.up_to_healthy_s is not None:
        parts.append(f"`make up` to all healthy: {result.up_to_healthy_s:.2f} s")
    if kdf:
        parts.append(
            f"Login's KDF: {kdf['algorithm']} t={kdf['time_cost']} m={kdf['memory_kib']} KiB "
            f"p={kdf['parallelism']}: {kdf['verify_ms']} ms per verification (one core, in-process)"
        )
    cached = [f"{r.name} {r.hit_ratio:.1%}" for r in result.rows if r.hit_ratio is not None]
    if cached:
        parts.append("Cache hit ratio (products replicas, during the row): " + "  ".join(cached))
    if result.staleness is not None:
        s = result.staleness
        parts.append(
            f"Cache staleness after UpdateProduct, until every replica serves the edit ({s.updates} edits): "
            f"p50 {s.p50_ms:.1f} ms, p99 {s.p99_ms:.1f} ms, max {s.max_ms:.1f} ms"
        )
    if result.growth is not None:
        g = result.growth
        parts.append(
            f"Growth seeding: {g.users:,} users in {g.users_s:.1f} s, {g.orders:,} orders and {g.items:,} items "
            f"in {g.orders_s:.1f} s ({g.seconds:.1f} s in all)"
        )
    errors = {r.name: r.error_kinds for r in result.rows if r.errors}
    if errors:
        parts.append("Errors: " + "; ".join(f"{name}: {kinds}" for name, kinds in errors.items()))
    parts += [
        "",
        "Targets (ratios from this run):",
        report.targets_table(
            report.targets(
                rows,
                result.rss_mb,
                result.up_to_healthy_s,
                result.staleness.p99_ms if result.staleness else None,
            )
        ),
    ]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.growth and (args.growth_users < 3 or args.growth_orders < 20):
        print(
            "python -m bench: --growth needs --growth-users >= 3 and --growth-orders >= 20", file=sys.stderr
        )
        return 2
    if args.duration <= 0 or args.repetitions < 1 or args.concurrency < 1:
        print(
            "python -m bench: --duration, --repetitions and --concurrency must be positive", file=sys.stderr
        )
        return 2
    options = Options(
        db=args.db,
        duration=args.duration,
        warmup=args.warmup,
        repetitions=args.repetitions,
        concurrency=args.concurrency,
        connections=args.connections,
        products=args.products,
        users=max(1, args.users),
        rows=args.rows,
        pin=args.pin,
        measure_up=args.measure_up,
        out=args.out,
        keep=args.keep,
        tracing=args.tracing == "on",
        trace_sampling=args.trace_sampling,
        growth=args.growth,
        growth_orders=args.growth_orders,
        growth_users=args.growth_users,
    )
    result = run(options, echo=echo_stderr)
    doc = report.document(
        result.machine,
        result.rows,
        result.rss_mb,
        result.up_to_healthy_s,
        result.staleness.as_json() if result.staleness else None,
    )
    report.write_json(doc, options.out)
    print(render(result))
    print(f"\nwritten: {options.out}")
    return 0
