"""The gateway itself: what the public listener exposes, reflection with the real grpcurl, REST edges."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from shopmesh.product.v1 import product_service_pb2 as product_pb
from shopmesh.product.v1 import product_service_pb2_grpc as product_grpc

from meshctl import envoy_config
from tests.e2e.conftest import RunningMesh
from tests.e2e.flows import rest_order_body, rest_product, rest_user
from tests.support.grpc_testing import with_token

INTERNAL_RPCS = [
    "/shopmesh.product.v1.ProductService/ReserveStock",
    "/shopmesh.product.v1.ProductService/ReleaseStock",
    "/shopmesh.payment.v1.PaymentService/Charge",
    "/shopmesh.payment.v1.PaymentService/Refund",
    "/shopmesh.payment.v1.PaymentService/VoidCharge",
]


def _raw_call(channel: grpc.Channel, method: str) -> grpc.StatusCode:
    call = channel.unary_unary(method, request_serializer=lambda b: b, response_deserializer=lambda b: b)
    try:
        call(b"", timeout=10)
    except grpc.RpcError as exc:
        return exc.code()
    return grpc.StatusCode.OK


@pytest.mark.parametrize("method", INTERNAL_RPCS)
def test_internal_rpcs_are_not_reachable_on_the_public_listener(mesh: RunningMesh, method: str) -> None:
    # Even an admin's token gets no route to them, over gRPC or REST; without a token Envoy stops earlier.
    assert _raw_call(with_token(mesh.channel, mesh.admin_token), method) == grpc.StatusCode.UNIMPLEMENTED
    assert _raw_call(mesh.channel, method) == grpc.StatusCode.UNAUTHENTICATED
    reply = mesh.admin.post(method, {})
    assert reply.status == 404, reply.text


def test_internal_listener_serves_internal_rpcs(mesh: RunningMesh) -> None:
    stub = product_grpc.ProductServiceStub(mesh.internal_channel)
    released = stub.ReleaseStock(
        product_pb.ReleaseStockRequest(reservation_id=f"probe-{uuid.uuid4().hex}"), timeout=10
    )
    assert released.state == product_pb.Reservation.RELEASED


def test_every_replica_reports_serving(mesh: RunningMesh) -> None:
    for addresses in mesh.endpoints.replicas.values():
        for address in addresses:
            with grpc.insecure_channel(address) as channel:
                stub = health_pb2_grpc.HealthStub(channel)
                reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=5)  # type: ignore[attr-defined]
                assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_the_running_envoy_config_validates(mesh: RunningMesh) -> None:
    envoy_config.validate(mesh.run_dir / "envoy" / "envoy.json")


def test_unknown_rest_path_is_a_json_404(mesh: RunningMesh) -> None:
    reply = mesh.rest.get("/v1/nothing-here")
    assert reply.status == 404
    assert reply.json["code"] == 5


def test_unknown_query_parameter_is_a_json_400(mesh: RunningMesh) -> None:
    reply = mesh.rest.get("/v1/products?pagesize=3")
    assert reply.status == 400
    assert reply.json["code"] == 3 and "pagesize" in reply.json["message"]


def test_jwks_is_served_as_a_plain_jwk_set(mesh: RunningMesh) -> None:
    reply = mesh.rest.get("/.well-known/jwks.json")
    assert reply.status == 200
    (key,) = reply.json["keys"]
    assert {key["kty"], key["crv"], key["alg"], key["use"]} == {"EC", "P-256", "ES256", "sig"}
    assert key["kid"] and key["x"] and key["y"]


def test_update_product_over_rest_patch(mesh: RunningMesh) -> None:
    product = rest_product(mesh.admin, stock=3)
    reply = mesh.admin.patch(
        f"/v1/{product['name']}?update_mask=title,stock", {"title": "Teapot", "stock": 9, "sku": "ignored"}
    )
    assert reply.status == 200, reply.text
    assert (reply.json["title"], reply.json["stock"], reply.json["sku"]) == ("Teapot", 9, product["sku"])


# -- the real grpcurl, against Envoy --


def test_grpcurl_lists_the_four_services(mesh: RunningMesh, grpcurl: Path) -> None:
    result = subprocess.run(
        [str(grpcurl), "-plaintext", mesh.endpoints.gateway, "list"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    services = set(result.stdout.split())
    assert {
        "shopmesh.user.v1.UserService",
        "shopmesh.product.v1.ProductService",
        "shopmesh.order.v1.OrderService",
        "shopmesh.payment.v1.PaymentService",
    } <= services


def test_grpcurl_describes_a_message(mesh: RunningMesh, grpcurl: Path) -> None:
    result = subprocess.run(
        [str(grpcurl), "-plaintext", mesh.endpoints.gateway, "describe", "shopmesh.order.v1.CreateOrderRequest"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "request_id" in result.stdout and ".shopmesh.payment.v1.PaymentCard payment" in result.stdout


def test_grpcurl_places_and_reads_an_order(mesh: RunningMesh, grpcurl: Path) -> None:
    user, product = rest_user(mesh.rest), rest_product(mesh.admin, stock=2)

    def call(method: str, body: dict[str, object]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(grpcurl), "-plaintext", "-H", f"authorization: Bearer {user['token']}", "-d", json.dumps(body),
             mesh.endpoints.gateway, method],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    placed = call(
        "shopmesh.order.v1.OrderService/CreateOrder", rest_order_body(user["name"], product["name"], 2)
    )
    assert placed.returncode == 0, placed.stderr
    order = json.loads(placed.stdout)
    assert order["status"] == "CONFIRMED"
    fetched = call("shopmesh.order.v1.OrderService/GetOrder", {"name": order["name"]})
    assert json.loads(fetched.stdout)["name"] == order["name"]
    short = call(
        "shopmesh.order.v1.OrderService/CreateOrder", rest_order_body(user["name"], product["name"], 1)
    )
    assert short.returncode != 0
    assert "FailedPrecondition" in short.stderr and "0 in stock" in short.stderr


def test_grpcurl_cannot_call_internal_rpcs(mesh: RunningMesh, grpcurl: Path) -> None:
    result = subprocess.run(
        [str(grpcurl), "-plaintext", "-H", f"authorization: Bearer {mesh.admin_token}",
         "-d", '{"reservation_id": "x"}', mesh.endpoints.gateway, "shopmesh.product.v1.ProductService/ReleaseStock"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    assert "Unimplemented" in result.stderr
