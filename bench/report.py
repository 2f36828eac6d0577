"""From samples to the result: medians per row, ratios to the limit, the targets, the table and the JSON file."""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.loadgen import Sample

ROW_NAMES = (
    "empty_direct",
    "empty_envoy",
    "get_product_direct",
    "get_product_envoy_grpc",
    "get_product_envoy_rest",
    "get_product_envoy_miss",
    "list_products_page1",
    "list_products_page1000",
    "create_order_rest",
    "create_order_grpc",
    "create_order_grpc_no_broker",
    "login",
)
GROWTH_ROWS = (
    "create_order_grpc_grown",
    "list_orders_10",
    "list_orders_1000_first",
    "list_orders_1000_last",
)
"""The growth phase's rows (`--growth`, after the others, with a million orders seeded): never in a default run."""
DIRECT_ROWS = ("empty_direct", "get_product_direct")
"""Rows that bypass Envoy: compared with the empty RPC direct; every other row with the empty RPC via Envoy."""
SERVICES = ("users", "products", "orders", "payments")
EVENTS = ("nats", "notifications")
"""The asynchronous half: the broker and the events' consumer (the relays run inside the services)."""
NO_BROKER = "create_order_grpc_no_broker"
"""CreateOrder with nats-server stopped: each change still writes its outbox row, nothing is relayed or consumed."""


@dataclass(frozen=True)
class Row:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_s_per_1k: dict[str, float]
    """CPU seconds per 1,000 successful requests, by process (numerically: CPU milliseconds per request)."""
    error_kinds: dict[str, int] = field(default_factory=dict)
    hit_ratio: float | None = None
    """Catalog rows: the cache's hit ratio (median over the repetitions)."""

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "rps": round(self.rps, 1),
            "p50_ms": round(self.p50_ms, 3),
            "p99_ms": round(self.p99_ms, 3),
            "errors": self.errors,
            "hit_ratio": None if self.hit_ratio is None else round(self.hit_ratio, 4),
            "cpu_s_per_1k": {k: round(v, 4) for k, v in self.cpu_s_per_1k.items()},
        }


def aggregate(name: str, samples: Sequence[Sample]) -> Row:
    """Medians over the repetitions (errors are summed: one is one too many)."""
    if not samples:
        raise ValueError(f"no samples for {name}")
    processes = sorted({p for s in samples for p in s.cpu})
    per_1k = {
        p: statistics.median(s.cpu.get(p, 0.0) / s.ok * 1000 if s.ok else 0.0 for s in samples)
        for p in processes
    }
    kinds: dict[str, int] = {}
    for sample in samples:
        for kind, count in sample.error_kinds.items():
            kinds[kind] = kinds.get(kind, 0) + count
    ratios = [s.hit_ratio for s in samples if s.hit_ratio is not None]
    return Row(
        name=name,
        hit_ratio=statistics.median(ratios) if ratios else None,
        rps=statistics.median(s.rps for s in samples),
        p50_ms=statistics.median(s.p50_ms for s in samples),
        p99_ms=statistics.median(s.p99_ms for s in samples),
        errors=sum(s.errors for s in samples),
        cpu_s_per_1k=per_1k,
        error_kinds=kinds,
    )


def limit_of(row: str) -> str:
    """The row's yardstick: the empty RPC over the same path (direct or via Envoy)."""
    return "empty_direct" if row in DIRECT_ROWS else "empty_envoy"


def ratio(value: float, of: float) -> float:
    return value / of if of else 0.0


def process_group(process: str) -> str:
    """Columns of the console table: envoy, svc (the service replicas), ev (the broker and the notifications
    replicas), pg, obs (trace sink, log pumping), load (the load generator)."""
    if process == "envoy":
        return "envoy"
    if process == "nats" or process.rpartition("-")[0] in EVENTS:
        return "ev"
    if process == "postgres":
        return "pg"
    if process == "loadgen":
        return "load"
    if process.rpartition("-")[0] in (*SERVICES, "bench"):
        return "svc"
    return "obs"


GROUPS = ("envoy", "svc", "ev", "pg", "obs", "load")


def grouped(cpu: Mapping[str, float]) -> dict[str, float]:
    totals = dict.fromkeys(GROUPS, 0.0)
    for process, seconds in cpu.items():
        totals[process_group(process)] += seconds
    return totals


# -- targets -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    text: str
    value: float
    bound: float
    at_most: bool = False
    """True: the value must not exceed the bound; False: it must reach it."""

    @property
    def met(self) -> bool:
        return self.value <= self.bound if self.at_most else self.value >= self.bound


def targets(
    rows: Mapping[str, Row],
    rss: Mapping[str, float],
    up_to_healthy: float | None,
    staleness_p99_ms: float | None = None,
) -> list[Target]:
    """The issue's targets, from one run's figures."""
    found: list[Target] = []

    def rps(name: str) -> float:
        return rows[name].rps if name in rows else 0.0

    found.append(
        Target(
            "GetProduct via Envoy (gRPC) / direct, req/s",
            ratio(rps("get_product_envoy_grpc"), rps("get_product_direct")),
            0.85,
        )
    )
    found.append(
        Target(
            "GetProduct REST / gRPC via Envoy, req/s",
            ratio(rps("get_product_envoy_rest"), rps("get_product_envoy_grpc")),
            0.95,
        )
    )
    found.append(
        Target(
            "GetProduct via Envoy / empty RPC via Envoy, req/s",
            ratio(rps("get_product_envoy_grpc"), rps("empty_envoy")),
            0.5,
        )
    )
    found.append(
        Target(
            "GetProduct direct / empty RPC direct, req/s",
            ratio(rps("get_product_direct"), rps("empty_direct")),
            0.6,
        )
    )
    found.append(
        Target(
            "ListProducts page 1 via Envoy / empty RPC via Envoy, req/s",
            ratio(rps("list_products_page1"), rps("empty_envoy")),
            0.3,
        )
    )
    if "get_product_envoy_miss" in rows:
        # The catalog issue's figure for GetProduct before the cache: a miss must cost no more than that did.
        found.append(
            Target(
                "GetProduct, every read a cache miss, via Envoy / empty RPC via Envoy, req/s",
                ratio(rps("get_product_envoy_miss"), rps("empty_envoy")),
                0.18,
            )
        )
    if staleness_p99_ms is not None:
        found.append(
            Target(
                "cache staleness after UpdateProduct, every replica, p99 ms",
                staleness_p99_ms,
                1000.0,
                at_most=True,
            )
        )
    for name in ("create_order_rest", "create_order_grpc"):
        if name not in rows:
            continue
        row = rows[name]
        found.append(Target(f"{name} / empty RPC via Envoy, req/s", ratio(row.rps, rps("empty_envoy")), 0.12))
        found.append(Target(f"{name} p99 / p50", ratio(row.p99_ms, row.p50_ms), 5.0, at_most=True))
        found.append(Target(f"{name} errors", float(row.errors), 0.0, at_most=True))
    if "create_order_grpc" in rows and NO_BROKER in rows:
        with_events, without = (
            grouped(rows["create_order_grpc"].cpu_s_per_1k),
            grouped(rows[NO_BROKER].cpu_s_per_1k),
        )
        base = without["svc"]
        found.append(
            Target(
                "events' CPU per CreateOrder (relays, broker, notifications) / services' CPU without them",
                ratio(with_events["svc"] + with_events["ev"] - base, base),
                0.10,
                at_most=True,
            )
        )
    if "list_products_page1000" in rows and "list_products_page1" in rows:
        found.append(
            Target(
                "ListProducts page 1,000 / page 1, p50 latency",
                ratio(rows["list_products_page1000"].p50_ms, rows["list_products_page1"].p50_ms),
                1.2,
                at_most=True,
            )
        )
    if "create_order_grpc_grown" in rows and "create_order_grpc" in rows:
        found.append(
            Target(
                "CreateOrder (gRPC) with 1,000,000 orders seeded / on the empty table, req/s",
                ratio(rps("create_order_grpc_grown"), rps("create_order_grpc")),
                0.9,
            )
        )
    if "list_orders_10" in rows:
        for name, page in (("list_orders_1000_first", "first"), ("list_orders_1000_last", "last")):
            if name in rows:
                found.append(
                    Target(
                        f"ListOrders of a buyer with 1,000 orders, {page} page / a buyer with 10, p50 latency",
                        ratio(rows[name].p50_ms, rows["list_orders_10"].p50_ms),
                        1.2,
                        at_most=True,
                    )
                )
    for process, mb in sorted(rss.items()):
        if process.rpartition("-")[0] in (*SERVICES, "notifications"):
            found.append(Target(f"idle RSS of {process}, MB", mb, 60.0, at_most=True))
    if up_to_healthy is not None:
        found.append(Target("`make up` to all healthy, s", up_to_healthy, 5.0, at_most=True))
    return found


# -- output ------------------------------------------------------------------------------------------------------


def document(
    machine: Mapping[str, Any],
    rows: Sequence[Row],
    rss: Mapping[str, float],
    up_to_healthy: float | None,
    staleness: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """bench/results/latest.json: exactly machine, rows, rss_mb, up_to_healthy_s, cache_staleness (null when
    not measured)."""
    return {
        "machine": dict(machine),
        "rows": [r.as_json() for r in rows],
        "rss_mb": {k: round(v, 1) for k, v in sorted(rss.items())},
        "up_to_healthy_s": None if up_to_healthy is None else round(up_to_healthy, 2),
        "cache_staleness": None if staleness is None else dict(staleness),
    }


def write_json(doc: Mapping[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n")


def _fmt(value: float, digits: int = 2) -> str:
    return f"{value:.{digits}f}"


def table(rows: Sequence[Row]) -> str:
    """The main table: throughput, latency, errors, ratios to the limit, CPU per request by process group."""
    by_name = {r.name: r for r in rows}
    head = (
        f"{'row':<28}{'req/s':>9}{'x limit':>9}{'p50 ms':>9}{'p99 ms':>9}{'x p50':>7}{'errors':>8}"
        f"   CPU ms/req: {'envoy':>6}{'svc':>7}{'ev':>7}{'pg':>7}{'obs':>7}{'load':>7}"
    )
    lines = [head, "-" * len(head)]
    for row in rows:
        limit = by_name.get(limit_of(row.name))
        is_limit = row.name in ("empty_direct", "empty_envoy")
        x_rps = "limit" if is_limit or limit is None else _fmt(ratio(row.rps, limit.rps))
        x_p50 = "" if is_limit or limit is None else _fmt(ratio(row.p50_ms, limit.p50_ms), 1)
        cpu = grouped(row.cpu_s_per_1k)
        lines.append(
            f"{row.name:<28}{row.rps:>9.0f}{x_rps:>9}{row.p50_ms:>9.2f}{row.p99_ms:>9.2f}{x_p50:>7}"
            f"{row.errors:>8}   {'':>12}{cpu['envoy']:>6.3f}{cpu['svc']:>7.3f}{cpu['ev']:>7.3f}{cpu['pg']:>7.3f}"
            f"{cpu['obs']:>7.3f}{cpu['load']:>7.3f}"
        )
    lines.append(
        "x limit: req/s as a ratio of the empty RPC on the same path (direct rows: empty_direct; others: "
        "empty_envoy); x p50: p50 as a ratio of the limit's."
    )
    lines.append(
        "CPU ms/req = CPU seconds per 1,000 requests: envoy; svc = every service replica (and the empty "
        "service); ev = the broker and the notifications replicas; pg = PostgreSQL; obs = trace sink and the launcher's log pumping; load = ghz/wrk."
    )
    return "\n".join(lines)


def cpu_table(rows: Sequence[Row]) -> str:
    """CPU ms per request of every process that spent any, one column per row (numbered)."""
    processes = sorted(
        {p for r in rows for p, v in r.cpu_s_per_1k.items() if v >= 0.0005},
        key=lambda p: (GROUPS.index(process_group(p)), p),
    )
    head = f"{'process':<14}" + "".join(f"{i + 1:>8}" for i in range(len(rows)))
    lines = [head, "-" * len(head)]
    for process in processes:
        lines.append(f"{process:<14}" + "".join(f"{r.cpu_s_per_1k.get(process, 0.0):>8.3f}" for r in rows))
    lines.append("columns: " + ", ".join(f"{i + 1} {r.name}" for i, r in enumerate(rows)))
    return "\n".join(lines)


def rss_table(rss: Mapping[str, float]) -> str:
    items = sorted(rss.items(), key=lambda kv: (GROUPS.index(process_group(kv[0])), kv[0]))
    return "  ".join(f"{name} {mb:.0f}" for name, mb in items)


def targets_table(found: Sequence[Target]) -> str:
    lines = []
    for target in found:
        sign = "<=" if target.at_most else ">="
        lines.append(
            f"  {'met   ' if target.met else 'MISSED'} {target.text}: {target.value:.3g} (target {sign} {target.bound:g})"
        )
    return "\n".join(lines)
