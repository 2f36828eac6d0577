"""One test per resilience mechanism: what each one does, seen from a caller of the gateway."""

from __future__ import annotations

import json
import subprocess
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from shopmesh.payment.v1 import payment_service_pb2 as payment_pb
from shopmesh.payment.v1 import payment_service_pb2_grpc as payment_grpc
from shopmesh.product.v1 import product_service_pb2 as product_pb
from shopmesh.product.v1 import product_service_pb2_grpc as product_grpc
from shopmesh.user.v1 import user_service_pb2 as user_pb

from devkit.ports import free_block
from meshctl import envoy_config, topology
from tests.e2e.conftest import RunningMesh
from tests.e2e.flows import PASSWORD, Stubs, rest_order_body, rest_product, rest_user

PRODUCT_SERVICE = "shopmesh.product.v1.ProductService"


# -- a replica killed ----------------------------------------------------------------------------------


def test_a_killed_replica_loses_no_read_and_its_traffic_moves_at_once(mesh: RunningMesh) -> None:
    api = Stubs(mesh.channel)
    name = Stubs(mesh.channel, mesh.admin_token).product().name
    latencies: list[float] = []
    failures: list[str] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            started = time.monotonic()
            try:
                api.products.GetProduct(product_pb.GetProductRequest(name=name), timeout=10)
            except grpc.RpcError as error:
                failures.append(f"{error.code().name}: {error.details()}")
            latencies.append(time.monotonic() - started)

    readers = [threading.Thread(target=read) for _ in range(4)]
    for thread in readers:
        thread.start()
    time.sleep(0.5)
    before = len(latencies)
    mesh.launcher.kill("products-0")
    time.sleep(1.5)
    stop.set()
    for thread in readers:
        thread.join()
    try:
        assert failures == []
        after_kill = latencies[before:]
        assert len(after_kill) > 20  # reads kept flowing through the surviving replica
        assert max(after_kill) < 1.0, f"a read took {max(after_kill):.2f}s after the kill"
    finally:
        mesh.launcher.restart("products-0")


# -- payments down ---------------------------------------------------------------------------------------


def test_payments_down_fails_checkout_fast_and_clean_while_the_catalog_keeps_working(
    mesh: RunningMesh,
) -> None:
    user, product = rest_user(mesh.rest), rest_product(mesh.admin, stock=5)
    me = mesh.rest.as_user(user["token"])
    body = rest_order_body(user["name"], product["name"], quantity=2)
    for replica in ("payments-0", "payments-1"):
        mesh.launcher.kill(replica)
    try:
        started = time.monotonic()
        reply = me.post("/v1/orders", body)
        elapsed = time.monotonic() - started
        assert reply.status == 503, reply.text
        assert reply.json["code"] == 14 and "payments service" in reply.json["message"]
        assert elapsed < 5, f"CreateOrder took {elapsed:.1f}s to fail"
        assert mesh.rest.get(f"/v1/{product['name']}").json["stock"] == 5  # no stock stays reserved
        assert mesh.rest.get("/v1/products?page_size=2").status == 200
        login = mesh.rest.post("/v1/users:login", {"email": user["email"], "password": PASSWORD})
        assert login.status == 200
    finally:
        for replica in ("payments-0", "payments-1"):
            mesh.launcher.restart(replica)
    # Once payments answers again the stranded order is settled (nothing was charged: forgotten), so the same
    # request_id goes through.
    deadline = time.monotonic() + 30
    while True:
        retried = me.post("/v1/orders", body)
        if retried.status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert retried.status == 200 and retried.json["status"] == "CONFIRMED", retried.text
    assert mesh.rest.get(f"/v1/{product['name']}").json["stock"] == 3
    charges = mesh.sql(
        "payments", "SELECT count(*) FROM payments WHERE order_name = :o", o=retried.json["name"]
    )
    assert charges[0][0] == 1


# -- duplicated charge -------------------------------------------------------------------------------------


def test_a_duplicated_charge_captures_once(mesh: RunningMesh) -> None:
    payments = payment_grpc.PaymentServiceStub(mesh.internal_channel)
    order = f"orders/{uuid.uuid4().hex}"
    request = payment_pb.ChargeRequest(
        request_id=f"order:{uuid.uuid4().hex}:charge",
        order=order,
        card=payment_pb.PaymentCard(card_number="4242424242424242", exp_month=12, exp_year=2099, cvc="123"),
    )
    request.amount.currency_code, request.amount.units = "USD", 7
    with futures.ThreadPoolExecutor(4) as pool:
        replies = list(pool.map(lambda _: payments.Charge(request, timeout=10), range(4)))
    assert len({r.name for r in replies}) == 1
    assert mesh.sql("payments", "SELECT count(*) FROM payments WHERE order_name = :o", o=order)[0][0] == 1
    voided = payments.VoidCharge(payment_pb.VoidChargeRequest(request_id=request.request_id), timeout=10)
    assert voided.payment.name == replies[0].name  # a void cannot undo a charge that happened: it reports it


# -- Envoy alone in front of fake replicas: ejection and circuit breaking ---------------------------------


class FakeCatalog(product_grpc.ProductServiceServicer):
    def __init__(self, *, failing: bool = False, delay: float = 0.0) -> None:
        self.failing, self.delay, self.calls = failing, delay, 0

    def GetProduct(
        self, request: product_pb.GetProductRequest, context: grpc.ServicerContext
    ) -> product_pb.Product:
        self.calls += 1
        time.sleep(self.delay)
        if self.failing:
            context.abort(grpc.StatusCode.UNAVAILABLE, "the database is unavailable")
        return product_pb.Product(name=request.name, title="served")


@contextmanager
def fake_replica(servicer: FakeCatalog) -> Iterator[int]:
    """A replica that passes grpc.health.v1 checks whatever its RPCs answer."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    product_grpc.add_ProductServiceServicer_to_server(servicer, server)
    checks = health.HealthServicer()
    checks.set(PRODUCT_SERVICE, health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(checks, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield port
    finally:
        server.stop(0)


@contextmanager
def envoy_before(products: list[int], tmp_path: Path, **product_settings: Any) -> Iterator[tuple[str, str]]:
    """Envoy with the mesh's rendered config, its products cluster pointing at `products`."""
    base = free_block(3)
    topo = topology.load().with_gateway(public_port=base, internal_port=base + 1, admin_port=base + 2)
    topo = topo.with_service("products", **product_settings)
    endpoints = {s.name: [("127.0.0.1", 9)] for s in topo.services}  # port 9: nobody home
    endpoints["products"] = [("127.0.0.1", p) for p in products]
    config = tmp_path / "envoy.json"
    envoy_config.write(
        envoy_config.render(topo, descriptor_path=topology.DEFAULT_DESCRIPTOR, endpoints=endpoints), config
    )
    process = subprocess.Popen(
        [envoy_config.default_envoy(), "-c", str(config), "--disable-hot-restart", "--log-level", "error"]
    )
    admin = f"127.0.0.1:{base + 2}"
    try:
        deadline = time.monotonic() + 20
        while "products::" not in _clusters(admin) or "/failed_active_hc" in _products_flags(admin):
            assert time.monotonic() < deadline, "Envoy did not become ready"
            time.sleep(0.1)
        yield f"127.0.0.1:{base}", admin
    finally:
        process.terminate()
        process.wait(10)


def _clusters(admin: str) -> str:
    try:
        with urllib.request.urlopen(f"http://{admin}/clusters", timeout=2) as reply:
            return str(reply.read().decode())
    except OSError:
        return ""


def _products_flags(admin: str) -> str:
    return "\n".join(
        line for line in _clusters(admin).splitlines() if "products::" in line and "health_flags" in line
    )


def test_a_replica_answering_unavailable_is_ejected_and_no_caller_sees_it(tmp_path: Path) -> None:
    bad, good = FakeCatalog(failing=True), FakeCatalog()
    with fake_replica(bad) as bad_port, fake_replica(good) as good_port:
        with envoy_before([bad_port, good_port], tmp_path) as (gateway, admin):
            with grpc.insecure_channel(gateway) as channel:
                stub = product_grpc.ProductServiceStub(channel)
                replies = [
                    stub.GetProduct(product_pb.GetProductRequest(name=f"products/p{i}"), timeout=10)
                    for i in range(40)
                ]
            assert {r.title for r in replies} == {"served"}  # retried on the good replica every time
            flags = _products_flags(admin)
            assert f"127.0.0.1:{bad_port}::health_flags::/failed_outlier_check" in flags, flags
            stats = urllib.request.urlopen(
                f"http://{admin}/stats?filter=products.outlier_detection.ejections_enforced_total"
            ).read()
            assert b"ejections_enforced_total: 0" not in stats
            calls_when_ejected = bad.calls
            with grpc.insecure_channel(gateway) as channel:
                stub = product_grpc.ProductServiceStub(channel)
                for i in range(20):
                    stub.GetProduct(product_pb.GetProductRequest(name=f"products/q{i}"), timeout=10)
            assert bad.calls == calls_when_ejected  # ejected: no more traffic


def test_an_open_circuit_breaker_fails_fast_with_a_readable_message(tmp_path: Path) -> None:
    slow = FakeCatalog(delay=1.0)
    with (
        fake_replica(slow) as port,
        envoy_before([port], tmp_path, max_requests=1, max_pending_requests=1) as (gateway, _),
    ):
        outcomes: list[tuple[str, str, float]] = []

        def call(i: int) -> None:
            started = time.monotonic()
            with grpc.insecure_channel(gateway) as channel:
                try:
                    product_grpc.ProductServiceStub(channel).GetProduct(
                        product_pb.GetProductRequest(name=f"products/b{i}"), timeout=10
                    )
                    outcomes.append(("OK", "", time.monotonic() - started))
                except grpc.RpcError as error:
                    outcomes.append((error.code().name, error.details() or "", time.monotonic() - started))

        threads = [threading.Thread(target=call, args=(i,)) for i in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        rejected = [o for o in outcomes if o[0] != "OK"]
        assert rejected, outcomes
        for code, message, seconds in rejected:
            assert code == "UNAVAILABLE"
            assert (
                message
                == "the products service is at its concurrency limit (circuit breaker open); retry later"
            )
            assert seconds < 0.5
        rest = urllib.request.Request(f"http://{gateway}/v1/products/b9")
        with futures.ThreadPoolExecutor(4) as pool:
            bodies = list(pool.map(lambda _: _status_and_body(rest), range(4)))
        assert any(
            status == 503 and body.get("code") == 14 and "circuit breaker open" in body["message"]
            for status, body in bodies
        ), bodies


def _status_and_body(request: urllib.request.Request) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_logins_work_while_orders_is_down(mesh: RunningMesh) -> None:
    api = Stubs(mesh.channel)
    user = api.signup().user
    for replica in ("orders-0", "orders-1"):
        mesh.launcher.kill(replica)
    try:
        login = api.users.Login(user_pb.LoginRequest(email=user.email, password=PASSWORD), timeout=10)
        assert login.access_token
        assert api.products.ListProducts(product_pb.ListProductsRequest(page_size=1), timeout=10).products
    finally:
        for replica in ("orders-0", "orders-1"):
            mesh.launcher.restart(replica)
