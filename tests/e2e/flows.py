"""Building blocks of the end-to-end tests: a user, a product, an order, over REST or gRPC."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import grpc
from shopmesh.order.v1 import order_service_pb2 as order_pb
from shopmesh.order.v1 import order_service_pb2_grpc as order_grpc
from shopmesh.payment.v1 import payment_service_pb2 as payment_pb
from shopmesh.payment.v1 import payment_service_pb2_grpc as payment_grpc
from shopmesh.product.v1 import product_service_pb2 as product_pb
from shopmesh.product.v1 import product_service_pb2_grpc as product_grpc
from shopmesh.user.v1 import user_service_pb2 as user_pb
from shopmesh.user.v1 import user_service_pb2_grpc as user_grpc

from tests.support.grpc_testing import with_token
from tests.support.rest import Rest

PASSWORD = "correct horse battery"
APPROVING_CARD = "4242424242424242"
DECLINING_CARD = "4000000000000002"
EXP_YEAR = dt.date.today().year + 2


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def card_json(number: str = APPROVING_CARD) -> dict[str, Any]:
    return {"card_number": number, "exp_month": 12, "exp_year": EXP_YEAR, "cvc": "123"}


# -- REST --


def rest_user(rest: Rest) -> dict[str, Any]:
    """A new account, logged in: the User's JSON plus its `token`."""
    email = f"{unique('ada')}@example.com"
    reply = rest.post("/v1/users", {"user": {"email": email, "display_name": "Ada"}, "password": PASSWORD})
    assert reply.status == 200, reply.text
    login = rest.post("/v1/users:login", {"email": email, "password": PASSWORD})
    assert login.status == 200, login.text
    return {**reply.json, "token": login.json["access_token"]}


def rest_product(admin: Rest, stock: int = 10, units: str = "12", nanos: int = 500_000_000) -> dict[str, Any]:
    """A new product, created by `admin` (a Rest with an admin's token)."""
    reply = admin.post(
        "/v1/products",
        {
            "sku": unique("MUG"),
            "title": "Mug",
            "description": "Holds tea.",
            "price": {"currency_code": "USD", "units": units, "nanos": nanos},
            "stock": stock,
        },
    )
    assert reply.status == 200, reply.text
    return dict(reply.json)


def rest_order_body(
    user: str, product: str, quantity: int = 1, card: str = APPROVING_CARD, request_id: str = ""
) -> dict[str, Any]:
    return {
        "request_id": request_id or str(uuid.uuid4()),
        "order": {"user": user, "items": [{"product": product, "quantity": quantity}]},
        "payment": card_json(card),
    }


# -- gRPC --


class Stubs:
    """The four services' stubs on one channel, as the holder of `token` (or anonymous)."""

    def __init__(self, channel: grpc.Channel, token: str | None = None) -> None:
        self.channel = channel
        authed = with_token(channel, token) if token else channel
        self.users = user_grpc.UserServiceStub(authed)
        self.products = product_grpc.ProductServiceStub(authed)
        self.orders = order_grpc.OrderServiceStub(authed)
        self.payments = payment_grpc.PaymentServiceStub(authed)

    def signup(self) -> Account:
        """A new account, logged in, with stubs that call as that user."""
        email = f"{unique('bob')}@example.com"
        user = self.users.CreateUser(
            user_pb.CreateUserRequest(user=user_pb.User(email=email, display_name="Bob"), password=PASSWORD),
            timeout=10,
        )
        login = self.users.Login(user_pb.LoginRequest(email=email, password=PASSWORD), timeout=10)
        return Account(user, login.access_token, Stubs(self.channel, login.access_token))

    def product(self, stock: int = 10) -> product_pb.Product:
        """A new product (the caller must be an admin)."""
        product = product_pb.Product(sku=unique("TEA"), title="Tea", stock=stock)
        product.price.currency_code, product.price.units = "EUR", 4
        return self.products.CreateProduct(product_pb.CreateProductRequest(product=product), timeout=10)

    def order(
        self, product: str, quantity: int = 1, request_id: str = "", card: str = APPROVING_CARD
    ) -> order_pb.Order:
        """An order placed by the caller."""
        request = order_pb.CreateOrderRequest(
            request_id=request_id or str(uuid.uuid4()),
            order=order_pb.Order(items=[order_pb.OrderItem(product=product, quantity=quantity)]),
            payment=payment_pb.PaymentCard(card_number=card, exp_month=12, exp_year=EXP_YEAR, cvc="123"),
        )
        return self.orders.CreateOrder(request, timeout=30)


@dataclass(frozen=True)
class Account:
    user: user_pb.User
    token: str
    api: Stubs
