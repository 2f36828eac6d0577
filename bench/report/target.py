"""The issue's targets, from one run's figures: each a value, a bound and whether it was met."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bench.report.groups import SERVICES, grouped
from bench.report.rows import NO_BROKER, Row, ratio


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
