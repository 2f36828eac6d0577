"""The catalog cache through the gateway: HTTP caching headers, an edit served by every replica within the
bound, and a stale cache that can neither misprice nor oversell."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import grpc
import pytest
import sqlalchemy as sa
from shopmesh.order.v1 import order_service_pb2 as order_pb
from shopmesh.product.v1 import product_service_pb2 as product_pb
from shopmesh.product.v1 import product_service_pb2_grpc as product_grpc

from tests.e2e.conftest import RunningMesh
from tests.e2e.flows import Stubs, rest_order_body, rest_product, rest_user
from tests.e2e.observe import sample, scrape

pytestmark = pytest.mark.e2e

BOUND = 1.0
"""Seconds within which every products replica must serve an edit."""


def _replicas(mesh: RunningMesh) -> list[product_grpc.ProductServiceStub]:
    """A stub on each products replica, straight (not through Envoy): what each one's cache answers."""
    return [
        product_grpc.ProductServiceStub(grpc.insecure_channel(address))
        for address in mesh.endpoints.replicas["products"]
    ]


def _read(stub: product_grpc.ProductServiceStub, name: str) -> product_pb.Product:
    return stub.GetProduct(product_pb.GetProductRequest(name=name), timeout=5)


def _cached_everywhere(mesh: RunningMesh, name: str) -> list[product_grpc.ProductServiceStub]:
    """A stub on each products replica, once each one answers `name` from its cache (a read counted as a hit).

    The first read after CreateProduct may go uncached: a replica keeps no answer it read before a change it has
    not heard yet, and the product's own CREATED event may still be on its way (a loaded machine, seen in CI).
    """
    stubs = _replicas(mesh)
    for stub, metrics in zip(stubs, mesh.endpoints.metrics["products"], strict=True):
        deadline = time.monotonic() + 10
        while True:
            hits = sample(scrape(metrics), "shopmesh_cache_hits_total", cache="product")
            _read(stub, name)
            if sample(scrape(metrics), "shopmesh_cache_hits_total", cache="product") > hits:
                break
            assert time.monotonic() < deadline, f"{metrics}: the product never stayed in the cache"
            time.sleep(0.05)
    return stubs


def test_catalog_reads_are_cacheable_by_browsers_and_reads_with_an_identity_are_not(
    mesh: RunningMesh,
) -> None:
    product = rest_product(mesh.admin)
    anonymous = mesh.rest.get(f"/v1/{product['name']}")
    assert anonymous.status == 200 and anonymous.headers["cache-control"] == "public, max-age=5"
    listed = mesh.rest.get("/v1/products?page_size=5")
    assert listed.status == 200 and listed.headers["cache-control"] == "public, max-age=5"
    user = rest_user(mesh.rest)
    as_user = mesh.rest.as_user(user["token"])
    personal = as_user.get(f"/v1/{product['name']}")
    assert personal.status == 200 and personal.headers["cache-control"] == "private, no-store"
    # Anything else read with an identity is private too (set by the gateway where a service says nothing).
    placed = as_user.post("/v1/orders", rest_order_body(user["name"], product["name"]))
    assert placed.status == 200, placed.text
    order = as_user.get(f"/v1/{placed.json['name']}")
    assert order.status == 200 and order.headers["cache-control"] == "private, no-store"
    me = as_user.get(f"/v1/{user['name']}")
    assert me.status == 200 and me.headers["cache-control"] == "private, no-store"
    # An error is never cached as if it were the catalog.
    missing = mesh.rest.get("/v1/products/does-not-exist")
    assert missing.status == 404 and "public" not in missing.headers.get("cache-control", "")


def test_an_edit_is_served_by_every_replica_within_the_bound(mesh: RunningMesh) -> None:
    product = rest_product(mesh.admin)
    name = product["name"]
    replicas = _replicas(mesh)
    lags = []
    for i in range(5):
        for stub in replicas:  # each replica's cache holds the current title
            _read(stub, name)
            _read(stub, name)
        edited = mesh.admin.patch(f"/v1/{name}?update_mask=title", {"title": f"Mug {i}"})
        assert edited.status == 200, edited.text
        committed = time.monotonic()
        for stub in replicas:
            while _read(stub, name).title != f"Mug {i}":
                assert time.monotonic() - committed < BOUND, (
                    f"a replica still serves the old title after {BOUND} s"
                )
                time.sleep(0.005)
        lags.append(time.monotonic() - committed)
        assert mesh.rest.get(f"/v1/{name}").json["title"] == f"Mug {i}"
    print(f"\nevery replica served the edit after at most {max(lags) * 1000:.0f} ms")


def test_a_stale_cache_neither_misprices_nor_oversells(mesh: RunningMesh) -> None:
    """The catalog shows price and stock from its cache, but an order is priced and its stock taken by
    ReserveStock on the row itself. Here the cache is made stale on purpose (the row is changed behind the
    service's back, so no event tells anyone), and a crowd buys the hot product at once."""
    product = rest_product(mesh.admin, stock=50, units="10", nanos=0)
    name, product_id = product["name"], product["name"].removeprefix("products/")
    replicas = _cached_everywhere(mesh, name)
    engine = sa.create_engine(mesh.db_urls["products"].replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE products SET stock = 3, price_units = 25, price_nanos = 0 WHERE id = :id"),
            {"id": product_id},
        )
    engine.dispose()
    for stub in replicas:
        stale = _read(stub, name)
        assert (stale.stock, stale.price.units) == (50, 10), "the cache was meant to be stale here"

    buyers = [Stubs(mesh.channel).signup() for _ in range(6)]
    results: list[Any] = []

    def buy(account: Any) -> None:
        try:
            results.append(account.api.order(name, quantity=1, request_id=str(uuid.uuid4())))
        except grpc.RpcError as exc:
            results.append(exc)

    threads = [threading.Thread(target=buy, args=(account,)) for account in buyers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    confirmed = [r for r in results if isinstance(r, order_pb.Order) and r.status == order_pb.Order.CONFIRMED]
    refused = [r for r in results if isinstance(r, grpc.RpcError)]
    assert len(confirmed) == 3, results  # the real stock, not the cached 50
    assert all(r.code() == grpc.StatusCode.FAILED_PRECONDITION for r in refused) and len(refused) == 3, (
        results
    )
    for order in confirmed:
        assert order.items[0].unit_price.units == 25 and order.total.units == 25  # the real price
    ((stock,),) = mesh.sql("products", "SELECT stock FROM products WHERE id = :id", id=product_id)
    assert stock == 0
