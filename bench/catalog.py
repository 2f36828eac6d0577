"""The catalog cache's figures in the bench: its hit ratio during a row, and how stale it can be.

Both read the products replicas as they run: the hit ratio from their `/metrics` (shopmesh_cache_hits_total and
_misses_total, summed over replicas, before and after the row), the staleness bound by editing a product on one
replica and asking every replica directly until each answers with the edit.
"""

from __future__ import annotations

import statistics
import threading
import time
import urllib.request
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import grpc
from shopmesh.product.v1 import product_service_pb2 as pb
from shopmesh.product.v1 import product_service_pb2_grpc as pb_grpc

CATALOG_ROWS = ("get_product", "list_products")
"""Rows (by prefix) whose hit ratio is reported."""
_INTERNAL = (("x-shopmesh-internal", "bench"),)
"""Calls straight to a replica carry the internal mark, which also stands for an admin (UpdateProduct)."""


def is_catalog_row(name: str) -> bool:
    return name.startswith(CATALOG_ROWS)


def cache_counts(metrics: Sequence[str]) -> tuple[float, float]:
    """Hits and misses so far, summed over the replicas whose /metrics are at `metrics` (host:port)."""
    hits = misses = 0.0
    for address in metrics:
        try:
            with urllib.request.urlopen(f"http://{address}/metrics", timeout=5) as reply:
                text = reply.read().decode()
        except OSError:
            continue  # a replica being replaced: its counts are lost either way
        for line in text.splitlines():
            if line.startswith("shopmesh_cache_hits_total{"):
                hits += float(line.rsplit(" ", 1)[1])
            elif line.startswith("shopmesh_cache_misses_total{"):
                misses += float(line.rsplit(" ", 1)[1])
    return hits, misses


def hit_ratio(before: tuple[float, float], after: tuple[float, float]) -> float | None:
    hits, misses = after[0] - before[0], after[1] - before[1]
    return hits / (hits + misses) if hits + misses > 0 else None


@dataclass(frozen=True)
class Staleness:
    updates: int
    p50_ms: float
    p99_ms: float
    max_ms: float

    def as_json(self) -> dict[str, float]:
        return {
            "updates": self.updates,
            "p50_ms": round(self.p50_ms, 1),
            "p99_ms": round(self.p99_ms, 1),
            "max_ms": round(self.max_ms, 1),
        }


def staleness(
    replicas: Sequence[str], product_id: str, updates: int = 30, patience: float = 15.0
) -> Staleness:
    """Edits `product_id`'s title `updates` times through the first replica; each time, measures how long after
    the edit's commit (its reply) every replica answers GetProduct with the new title. Each replica is read
    before the edit so its cache holds the old answer: the figure is the invalidation's, not a cold read's."""
    channels = [grpc.insecure_channel(address) for address in replicas]
    stubs = [pb_grpc.ProductServiceStub(channel) for channel in channels]
    name = f"products/{product_id}"
    lags: list[float] = []
    try:
        for _ in range(updates):
            for stub in stubs:
                stub.GetProduct(pb.GetProductRequest(name=name), metadata=_INTERNAL, timeout=5)
            title = f"bench staleness {uuid.uuid4().hex[:8]}"
            edit = pb.UpdateProductRequest(product=pb.Product(name=name, title=title))
            edit.update_mask.paths.append("title")
            stubs[0].UpdateProduct(edit, metadata=_INTERNAL, timeout=5)
            committed = time.perf_counter()
            seen = [0.0] * len(stubs)
            watchers = [
                threading.Thread(target=_watch, args=(stub, name, title, committed, patience, seen, i))
                for i, stub in enumerate(stubs)
            ]
            for watcher in watchers:
                watcher.start()
            for watcher in watchers:
                watcher.join()
            lags.append(max(seen) * 1000)
    finally:
        for channel in channels:
            channel.close()
    ordered = sorted(lags)
    return Staleness(
        updates=len(lags),
        p50_ms=statistics.median(ordered),
        p99_ms=ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))],
        max_ms=ordered[-1],
    )


def _watch(
    stub: pb_grpc.ProductServiceStub,
    name: str,
    title: str,
    committed: float,
    patience: float,
    seen: list[float],
    i: int,
) -> None:
    """Reads `name` from one replica until it shows `title`; puts the seconds since `committed` in seen[i]."""
    deadline = committed + patience
    while time.perf_counter() < deadline:
        if stub.GetProduct(pb.GetProductRequest(name=name), timeout=5).title == title:
            seen[i] = time.perf_counter() - committed
            return
        time.sleep(0.001)
    seen[i] = patience
