"""Bad input through the gateway: a precise error naming the field, and nothing written anywhere."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from shopmesh.order.v1 import order_service_pb2 as order_pb
from shopmesh.payment.v1 import payment_service_pb2 as payment_pb

from tests.e2e.conftest import RunningMesh
from tests.e2e.flows import card_json, rest_order_body, rest_product, rest_user
from tests.support.grpc_testing import assert_error, call_error, with_token
from tests.support.rest import Response


@pytest.fixture
def buyer(mesh: RunningMesh) -> dict[str, str]:
    user = rest_user(mesh.rest)
    return {
        "user": user["name"],
        "token": user["token"],
        "product": rest_product(mesh.admin, stock=5)["name"],
    }


@pytest.fixture
def nothing_written(mesh: RunningMesh, buyer: dict[str, str]) -> Iterator[None]:
    before = mesh.counts()
    yield
    assert mesh.counts() == before
    assert mesh.rest.get(f"/v1/{buyer['product']}").json["stock"] == 5


def bad_fields(reply: Response) -> set[str]:
    for detail in reply.json.get("details", []):
        if detail["@type"].endswith("google.rpc.BadRequest"):
            return {v["field"] for v in detail["field_violations"]}
    return set()


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A change to an order body: set (or, with None, delete) the dotted `path`."""

    def change(body: dict[str, Any]) -> None:
        *parents, leaf = path.split(".")
        for key in parents:
            body = body[key]
        if value is None:
            del body[leaf]
        else:
            body[leaf] = value

    return change


def _items(quantity: int) -> Callable[[dict[str, Any]], None]:
    def change(body: dict[str, Any]) -> None:
        body["order"]["items"][0]["quantity"] = quantity

    return change


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        pytest.param(_items(-1), {"order.items[0].quantity"}, id="negative-quantity"),
        pytest.param(_items(0), {"order.items[0].quantity"}, id="zero-quantity"),
        pytest.param(_set("order.items", []), {"order.items"}, id="no-items"),
        pytest.param(_set("payment", None), {"payment"}, id="missing-payment"),
        pytest.param(_set("order", None), {"order"}, id="missing-order"),
        pytest.param(
            _set("payment.card_number", "4242424242424241"), {"payment.card_number"}, id="luhn-fails"
        ),
        pytest.param(_set("payment.card_number", "12ab"), {"payment.card_number"}, id="not-digits"),
        pytest.param(_set("payment.exp_year", 2001), {"payment.exp_year"}, id="expired-card"),
        pytest.param(_set("payment.cvc", ""), {"payment.cvc"}, id="missing-cvc"),
        pytest.param(_set("request_id", "has spaces"), {"request_id"}, id="bad-request-id"),
    ],
)
def test_bad_order_is_400_naming_the_field(
    mesh: RunningMesh,
    buyer: dict[str, str],
    nothing_written: None,
    change: Callable[[dict[str, Any]], None],
    fields: set[str],
) -> None:
    body = rest_order_body(buyer["user"], buyer["product"])
    change(body)
    reply = mesh.rest.as_user(buyer["token"]).post("/v1/orders", body)
    assert reply.status == 400, reply.text
    assert reply.headers["content-type"].startswith("application/json")
    assert reply.json["code"] == 3  # INVALID_ARGUMENT
    assert bad_fields(reply) == fields
    for field in fields:
        assert field in reply.json["message"]


def test_unknown_product_is_404_and_writes_nothing(
    mesh: RunningMesh, buyer: dict[str, str], nothing_written: None
) -> None:
    body = rest_order_body(buyer["user"], "products/0123456789abcdef")
    reply = mesh.rest.as_user(buyer["token"]).post("/v1/orders", body)
    assert reply.status == 404, reply.text
    assert reply.json["code"] == 5
    assert "products/0123456789abcdef" in reply.json["message"]


def test_an_order_for_someone_else_is_refused_and_writes_nothing(
    mesh: RunningMesh, buyer: dict[str, str], nothing_written: None
) -> None:
    body = rest_order_body("users/0123456789abcdef", buyer["product"])
    reply = mesh.rest.as_user(buyer["token"]).post("/v1/orders", body)
    assert reply.status == 403, reply.text
    assert reply.json["details"][0]["reason"] == "NOT_YOUR_ORDER"


def test_malformed_json_is_a_json_400(
    mesh: RunningMesh, buyer: dict[str, str], nothing_written: None
) -> None:
    reply = mesh.rest.as_user(buyer["token"]).post("/v1/orders", raw=b'{"order": {"user": ')
    assert reply.status == 400, reply.text
    assert reply.headers["content-type"].startswith("application/json")
    assert reply.json["code"] == 3
    assert reply.json["message"]


def test_wrong_json_types_are_a_json_400(
    mesh: RunningMesh, buyer: dict[str, str], nothing_written: None
) -> None:
    body = rest_order_body(buyer["user"], buyer["product"])
    body["order"]["items"][0]["quantity"] = "two"
    reply = mesh.rest.as_user(buyer["token"]).post("/v1/orders", body)
    assert reply.status == 400, reply.text
    assert reply.json["code"] == 3


def test_bad_product_is_400_naming_each_field(mesh: RunningMesh) -> None:
    before = mesh.count("products", "products")
    reply = mesh.admin.post(
        "/v1/products",
        {"sku": "", "title": "", "price": {"currency_code": "dollars", "units": "-3"}, "stock": -1},
    )
    assert reply.status == 400, reply.text
    # sku and title are required by rules on the product field; the price's rules name the price.
    assert bad_fields(reply) == {"product", "product.price", "product.stock"}
    for text in ("sku is required", "title is required", "three-letter ISO 4217", "zero or more"):
        assert text in reply.json["message"]
    assert mesh.count("products", "products") == before


def test_bad_user_is_400_naming_each_field(mesh: RunningMesh) -> None:
    before = mesh.count("users", "users")
    reply = mesh.rest.post(
        "/v1/users", {"user": {"email": "not-an-email", "display_name": ""}, "password": "short"}
    )
    assert reply.status == 400, reply.text
    assert bad_fields(reply) == {"user.email", "user.display_name", "password"}
    assert mesh.count("users", "users") == before


def test_duplicate_email_is_409(mesh: RunningMesh) -> None:
    user = rest_user(mesh.rest)
    again = mesh.rest.post(
        "/v1/users",
        {"user": {"email": user["email"].upper(), "display_name": "Twin"}, "password": "long enough"},
    )
    assert again.status == 409 and again.json["code"] == 6


def test_bad_order_over_grpc_carries_field_violations(
    mesh: RunningMesh, buyer: dict[str, str], nothing_written: None
) -> None:
    from shopmesh.order.v1 import order_service_pb2_grpc as order_grpc

    request = order_pb.CreateOrderRequest(
        order=order_pb.Order(
            user=buyer["user"], items=[order_pb.OrderItem(product=buyer["product"], quantity=-5)]
        ),
        payment=payment_pb.PaymentCard(**card_json("4242424242424242")),
    )
    error = call_error(
        order_grpc.OrderServiceStub(with_token(mesh.channel, buyer["token"])).CreateOrder, request
    )
    assert_error(
        error, grpc.StatusCode.INVALID_ARGUMENT, fields={"order.items[0].quantity"}, reason="INVALID_ARGUMENT"
    )


def test_login_with_wrong_password_is_401(mesh: RunningMesh) -> None:
    user = rest_user(mesh.rest)
    reply = mesh.rest.post("/v1/users:login", {"email": user["email"], "password": "wrong password"})
    assert reply.status == 401 and reply.json["code"] == 16
