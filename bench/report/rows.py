"""The rows: their names, one row's medians over the repetitions, and the yardstick each is compared with."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
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
