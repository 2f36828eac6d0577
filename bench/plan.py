"""The plan of the rows: what the running mesh offers them (`Plan`) and what each row sends where
(`row_call`): a ghz call (gRPC) or a wrk call (REST), with its target, method and request data."""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bench import fixture, growth, seed
from bench.growth import GrowthPlan
from bench.loadgen import GhzCall, WrkCall
from bench.report import NO_BROKER, ROW_NAMES
from bench.sut import FIXTURE

PAGE_SIZE = 50

PRODUCT = "shopmesh.product.v1.ProductService"
ORDER = "shopmesh.order.v1.OrderService"
USER = "shopmesh.user.v1.UserService"


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


_SHAPE_PLAN = Plan("", {FIXTURE: "", "products": ""}, Path(), ["x"], "", ["x"], "", 2000)
"""A plan with no mesh behind it, enough to tell a row's kind of call."""


def uses_wrk(rows: Iterable[str]) -> bool:
    """Whether any of `rows` is a REST row (driven by wrk, which the run then installs)."""
    return any(isinstance(row_call(r, _SHAPE_PLAN), WrkCall) for r in rows)
