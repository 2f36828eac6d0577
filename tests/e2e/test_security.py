"""Security at the gateway: who gets in (tokens), who sees what (ownership), what is refused (abuse)."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from grpc_health.v1 import health_pb2, health_pb2_grpc
from shopmesh.order.v1 import order_service_pb2 as order_pb
from shopmesh.order.v1 import order_service_pb2_grpc as order_grpc
from shopmesh.payment.v1 import payment_service_pb2 as payment_pb
from shopmesh.product.v1 import product_service_pb2 as product_pb
from shopmesh.product.v1 import product_service_pb2_grpc as product_grpc
from shopmesh.user.v1 import user_service_pb2 as user_pb
from shopmesh.user.v1 import user_service_pb2_grpc as user_grpc

from svc_user.tokens import SigningKey, TokenIssuer
from tests.e2e.conftest import RunningMesh
from tests.e2e.flows import PASSWORD, Account, Stubs, rest_order_body, rest_product, rest_user, unique
from tests.support.grpc_testing import assert_error, call_error, with_metadata, with_token

ISSUER, AUDIENCE = "shopmesh-users", "shopmesh"  # envoy/topology.toml [gateway]


def _mesh_key(mesh: RunningMesh) -> SigningKey:
    return SigningKey.load_or_create(mesh.run_dir / "data" / "keys" / "jwt-es256.pem", create=False)


def _token(key: SigningKey, subject: str, *, age: dt.timedelta = dt.timedelta(0), **claims: Any) -> str:
    issuer = TokenIssuer(
        key, issuer=claims.pop("iss", ISSUER), audience=claims.pop("aud", AUDIENCE), ttl_seconds=3600
    )
    return issuer.issue(subject, dt.datetime.now(dt.UTC) - age, claims).token


def _forged_payload(user_name: str, *roles: str) -> str:
    payload = json.dumps({"sub": user_name, "roles": list(roles)}).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


@pytest.fixture(scope="module")
def victim(mesh: RunningMesh) -> tuple[Account, order_pb.Order]:
    """A user with a paid order (and so a payment) that other callers try to reach."""
    product = Stubs(mesh.channel, mesh.admin_token).product(stock=20)
    account = Stubs(mesh.channel).signup()
    order = account.api.order(product.name)
    assert order.status == order_pb.Order.CONFIRMED and order.payment
    return account, order


# -- authentication --


def test_protected_calls_without_a_token_are_unauthenticated(mesh: RunningMesh, victim: Any) -> None:
    _, order = victim
    reply = mesh.rest.get(f"/v1/{order.name}")
    assert reply.status == 401 and reply.json["code"] == 16, reply.text
    assert "www-authenticate" in {k.lower() for k in reply.headers}
    error = call_error(
        order_grpc.OrderServiceStub(mesh.channel).GetOrder, order_pb.GetOrderRequest(name=order.name)
    )
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert mesh.rest.get("/v1/orders").status == 401
    assert mesh.rest.post("/v1/orders", rest_order_body("", "products/x")).status == 401


def test_open_calls_need_no_token(mesh: RunningMesh) -> None:
    product = rest_product(mesh.admin)
    assert mesh.rest.get(f"/v1/{product['name']}").status == 200
    assert mesh.rest.get("/v1/products?page_size=1").status == 200
    assert rest_user(mesh.rest)["token"]  # CreateUser and Login
    health = health_pb2_grpc.HealthStub(mesh.channel)
    reply = health.Check(health_pb2.HealthCheckRequest(), timeout=10)  # type: ignore[attr-defined]
    assert reply.status == health_pb2.HealthCheckResponse.SERVING  # type: ignore[attr-defined]


BAD_TOKENS: dict[str, Callable[[RunningMesh, str], str]] = {
    "expired": lambda mesh, sub: _token(_mesh_key(mesh), sub, age=dt.timedelta(hours=2)),
    "another key": lambda mesh, sub: _token(SigningKey(ec.generate_private_key(ec.SECP256R1())), sub),
    # Another key claiming the mesh key's id: the signature still decides.
    "another key, same kid": lambda mesh, sub: _resign_with_kid(_mesh_key(mesh).kid, sub),
    "wrong audience": lambda mesh, sub: _token(_mesh_key(mesh), sub, aud="someone-else"),
    "wrong issuer": lambda mesh, sub: _token(_mesh_key(mesh), sub, iss="someone-else"),
    "unsigned": lambda mesh, sub: _unsigned(sub),
    "garbage": lambda mesh, sub: "not.a.token",
}


def _resign_with_kid(kid: str, subject: str) -> str:
    key = SigningKey(ec.generate_private_key(ec.SECP256R1()))
    key.public_jwk = dataclasses.replace(key.public_jwk, kid=kid)
    return _token(key, subject)


def _unsigned(subject: str) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": subject,
        "iat": now,
        "exp": now + 600,
        "roles": ["admin"],
    }
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


@pytest.mark.parametrize("kind", sorted(BAD_TOKENS))
def test_bad_tokens_are_refused(mesh: RunningMesh, victim: Any, kind: str) -> None:
    account, order = victim
    token = BAD_TOKENS[kind](mesh, account.user.name)
    reply = mesh.rest.as_user(token).get(f"/v1/{order.name}")
    assert reply.status == 401 and reply.json["code"] == 16, reply.text
    stub = order_grpc.OrderServiceStub(with_token(mesh.channel, token))
    error = call_error(stub.GetOrder, order_pb.GetOrderRequest(name=order.name))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED


def test_a_token_signed_by_the_mesh_key_is_accepted(mesh: RunningMesh, victim: Any) -> None:
    # The control for the cases above: same construction, right key, fresh.
    account, order = victim
    token = _token(_mesh_key(mesh), account.user.name)
    assert mesh.rest.as_user(token).get(f"/v1/{order.name}").json["name"] == order.name


# -- authorization --


def test_another_users_order_and_payment_are_not_found(mesh: RunningMesh, victim: Any) -> None:
    owner, order = victim
    intruder = Stubs(mesh.channel).signup()
    for stub_call, request in [
        (intruder.api.orders.GetOrder, order_pb.GetOrderRequest(name=order.name)),
        (intruder.api.orders.CancelOrder, order_pb.CancelOrderRequest(name=order.name)),
        (intruder.api.payments.GetPayment, payment_pb.GetPaymentRequest(name=order.payment)),
        (intruder.api.users.GetUser, user_pb.GetUserRequest(name=owner.user.name)),
    ]:
        assert_error(call_error(stub_call, request), grpc.StatusCode.NOT_FOUND)
    rest = mesh.rest.as_user(intruder.token)
    for path in (f"/v1/{order.name}", f"/v1/{order.payment}", f"/v1/{owner.user.name}"):
        reply = rest.get(path)
        assert reply.status == 404 and reply.json["code"] == 5, (path, reply.text)
    # Same answer as for a name that never existed: existence does not leak.
    missing = rest.get("/v1/orders/does-not-exist")
    assert missing.status == 404
    assert rest.post(f"/v1/{order.name}:cancel", {}).status == 404
    # Listing someone else's orders is refused; the owner's own list has the order.
    listed = rest.get(f"/v1/orders?user={owner.user.name}")
    assert listed.status in (403, 404) and listed.json["code"] in (5, 7), listed.text
    assert [o.name for o in owner.api.orders.ListOrders(order_pb.ListOrdersRequest(), timeout=10).orders] == [
        order.name
    ]
    assert intruder.api.orders.ListOrders(order_pb.ListOrdersRequest(), timeout=10).orders == []
    # The order is untouched by the refused cancel.
    assert (
        owner.api.orders.GetOrder(order_pb.GetOrderRequest(name=order.name), timeout=10).status
        == order.status
    )


def test_create_order_takes_the_buyer_from_the_token(mesh: RunningMesh, victim: Any) -> None:
    owner, _ = victim
    product = rest_product(mesh.admin)
    buyer = rest_user(mesh.rest)
    me = mesh.rest.as_user(buyer["token"])
    placed = me.post("/v1/orders", rest_order_body("", product["name"]))
    assert placed.status == 200 and placed.json["user"] == buyer["name"], placed.text
    before = mesh.counts()
    spoofed = me.post("/v1/orders", rest_order_body(owner.user.name, product["name"]))
    assert spoofed.status == 403 and spoofed.json["code"] == 7, spoofed.text
    assert mesh.counts() == before


def test_product_writes_need_the_admin_role(mesh: RunningMesh) -> None:
    user = rest_user(mesh.rest)
    before = mesh.count("products", "products")
    body = {"sku": unique("HAT"), "title": "Hat", "price": {"currency_code": "USD", "units": "3"}, "stock": 1}
    reply = mesh.rest.as_user(user["token"]).post("/v1/products", body)
    assert reply.status == 403 and reply.json["code"] == 7, reply.text
    assert mesh.rest.post("/v1/products", body).status == 401
    product = rest_product(mesh.admin)
    patch = mesh.rest.as_user(user["token"]).patch(f"/v1/{product['name']}?update_mask=title", {"title": "x"})
    assert patch.status == 403, patch.text
    assert mesh.count("products", "products") == before + 1  # only the admin's


# -- spoofing: identity headers are Envoy's alone --


def test_forged_identity_headers_are_ignored(mesh: RunningMesh, victim: Any) -> None:
    owner, order = victim
    intruder = rest_user(mesh.rest)
    forged = {
        "x-shopmesh-jwt-payload": _forged_payload(owner.user.name, "admin"),
        "x-shopmesh-internal": "true",
    }
    # With the intruder's own valid token: Envoy replaces the forged payload with the token's.
    reply = mesh.rest.as_user(intruder["token"]).request("GET", f"/v1/{order.name}", headers=forged)
    assert reply.status == 404, reply.text
    body = {"sku": unique("HAT"), "title": "Hat", "price": {"currency_code": "USD", "units": "3"}, "stock": 1}
    created = mesh.rest.as_user(intruder["token"]).request("POST", "/v1/products", body, headers=forged)
    assert created.status == 403, created.text
    # Without a token the forged header does not stand in for one.
    assert mesh.rest.request("GET", f"/v1/{order.name}", headers=forged).status == 401

    metadata = tuple(forged.items())
    anonymous = order_grpc.OrderServiceStub(with_metadata(mesh.channel, metadata))
    error = call_error(anonymous.GetOrder, order_pb.GetOrderRequest(name=order.name))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    authed = with_metadata(with_token(mesh.channel, intruder["token"]), metadata)
    error = call_error(
        order_grpc.OrderServiceStub(authed).GetOrder, order_pb.GetOrderRequest(name=order.name)
    )
    assert error.code() == grpc.StatusCode.NOT_FOUND
    product = product_pb.Product(sku=unique("HAT"), title="Hat", stock=1)
    product.price.currency_code, product.price.units = "USD", 3
    error = call_error(
        product_grpc.ProductServiceStub(authed).CreateProduct,
        product_pb.CreateProductRequest(product=product),
    )
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED


# Legal in HTTP, refused by the services' gRPC servers ("Illegal header key", "illegal base64 encoding"), which
# failed the call with INTERNAL before the gateway dropped them (found by the fuzzer on the OpenAPI 3.1 document).
UNFORWARDABLE = {"+": "", "a+b": "x", "x-note-bin": "not base64!", "-bin": "x"}


def test_headers_grpc_metadata_cannot_carry_are_dropped_not_failed(mesh: RunningMesh) -> None:
    product = rest_product(mesh.admin)
    reply = mesh.rest.request("GET", f"/v1/{product['name']}", headers=UNFORWARDABLE)
    assert reply.status == 200 and reply.json["name"] == product["name"], reply.text
    # Native gRPC over h2c with the same headers (gRPC's own clients refuse to send them: curl does).
    message = product_pb.GetProductRequest(name=product["name"]).SerializeToString()
    frame = b"\0" + len(message).to_bytes(4, "big") + message
    headers = [arg for key, value in UNFORWARDABLE.items() for arg in ("-H", f"{key}: {value}")]
    curl = subprocess.run(
        ["curl", "-sS", "--http2-prior-knowledge", "-H", "content-type: application/grpc", "-H", "te: trailers",
         *headers, "--data-binary", "@-", "-D", "-", "-o", "/dev/null",
         f"http://{mesh.endpoints.gateway}/shopmesh.product.v1.ProductService/GetProduct"],
        input=frame, capture_output=True, timeout=30, check=True,
    )  # fmt: skip
    assert b"grpc-status: 0" in curl.stdout, curl.stdout.decode()


# -- abuse --


def test_logins_are_rate_limited_per_client(mesh: RunningMesh) -> None:
    time.sleep(1.1)  # a full bucket
    body = {"email": "nobody@example.com", "password": "wrong password"}
    # All at once: one by one, each waits for a password check and the bucket refills meanwhile.
    with ThreadPoolExecutor(max_workers=20) as pool:
        replies = list(pool.map(lambda _: mesh.rest.post("/v1/users:login", body), range(40)))
    statuses = [r.status for r in replies]
    assert 5 <= statuses.count(401) <= 20, statuses  # the bucket's worth (10, and a refill) reach the service
    assert statuses.count(429) >= 20, statuses
    limited = next(r for r in replies if r.status == 429)
    assert limited.json["code"] == 8, limited.text
    # Other routes are not affected by the Login bucket.
    assert mesh.rest.get("/v1/products?page_size=1").status == 200

    time.sleep(1.1)
    stub = user_grpc.UserServiceStub(mesh.channel)
    request = user_pb.LoginRequest(email="nobody@example.com", password="wrong password")
    calls = [stub.Login.future(request, timeout=30) for _ in range(40)]
    codes = [call.exception().code() for call in calls]  # every login fails: wrong password or limited
    assert codes.count(grpc.StatusCode.RESOURCE_EXHAUSTED) >= 20, codes
    assert set(codes) == {grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.UNAUTHENTICATED}

    time.sleep(1.1)  # the bucket refills for the tests that follow
    assert mesh.rest.post("/v1/users:login", body).status == 401


def test_oversized_bodies_are_refused(mesh: RunningMesh) -> None:
    before = mesh.count("users", "users")
    huge = "x" * (2 * 1024 * 1024)
    body = {"user": {"email": f"{unique('big')}@example.com", "display_name": huge}, "password": PASSWORD}
    reply = mesh.rest.post("/v1/users", body)
    assert reply.status == 413 and reply.json["code"] == 3, reply.text[:200]
    stub = user_grpc.UserServiceStub(mesh.channel)
    request = user_pb.CreateUserRequest(
        user=user_pb.User(email=f"{unique('big')}@example.com", display_name=huge), password=PASSWORD
    )
    assert call_error(stub.CreateUser, request).code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert mesh.count("users", "users") == before
    # Just under the cap the request reaches the service, whose own rules refuse the long name.
    body["user"]["display_name"] = "x" * (512 * 1024)
    reply = mesh.rest.post("/v1/users", body)
    assert reply.status == 400 and "user.display_name" in reply.text, reply.text[:300]


def test_admin_interface_and_services_stay_on_loopback(mesh: RunningMesh) -> None:
    assert mesh.endpoints.gateway.startswith("127.0.0.1:")
    for addresses in mesh.endpoints.replicas.values():
        assert all(a.startswith("127.0.0.1:") for a in addresses), addresses
    config = json.loads((mesh.run_dir / "envoy" / "envoy.json").read_text())
    assert config["admin"]["address"]["socketAddress"]["address"] == "127.0.0.1"
