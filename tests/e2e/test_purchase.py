"""Complete purchases through the gateway, over gRPC and over REST, on PostgreSQL."""

from __future__ import annotations

import uuid

from shopmesh.order.v1 import order_service_pb2 as order_pb
from shopmesh.payment.v1 import payment_service_pb2 as payment_pb
from shopmesh.product.v1 import product_service_pb2 as product_pb

from tests.e2e.conftest import RunningMesh
from tests.e2e.flows import DECLINING_CARD, PASSWORD, Stubs, rest_order_body, rest_product, rest_user


def test_purchase_over_grpc(mesh: RunningMesh) -> None:
    admin = Stubs(mesh.channel, mesh.admin_token)
    buyer = Stubs(mesh.channel).signup()
    assert buyer.token.count(".") == 2
    product = admin.product(stock=10)

    order = buyer.api.order(product.name, quantity=3)
    assert order.status == order_pb.Order.CONFIRMED
    assert order.user == buyer.user.name
    assert (order.total.currency_code, order.total.units, order.total.nanos) == ("EUR", 12, 0)
    assert order.items[0].unit_price == product.price
    assert buyer.api.orders.GetOrder(order_pb.GetOrderRequest(name=order.name), timeout=10) == order
    payment = buyer.api.payments.GetPayment(payment_pb.GetPaymentRequest(name=order.payment), timeout=10)
    assert (payment.status, payment.order, payment.amount, payment.card_last4, payment.user) == (
        payment_pb.Payment.CAPTURED,
        order.name,
        order.total,
        "4242",
        buyer.user.name,
    )
    assert (
        buyer.api.products.GetProduct(product_pb.GetProductRequest(name=product.name), timeout=10).stock == 7
    )
    listed = buyer.api.orders.ListOrders(order_pb.ListOrdersRequest(), timeout=10)
    assert [o.name for o in listed.orders] == [order.name]

    cancelled = buyer.api.orders.CancelOrder(order_pb.CancelOrderRequest(name=order.name), timeout=30)
    assert cancelled.status == order_pb.Order.CANCELLED
    refunded = buyer.api.payments.GetPayment(payment_pb.GetPaymentRequest(name=order.payment), timeout=10)
    assert refunded.status == payment_pb.Payment.REFUNDED
    assert (
        buyer.api.products.GetProduct(product_pb.GetProductRequest(name=product.name), timeout=10).stock == 10
    )


def test_purchase_over_rest(mesh: RunningMesh) -> None:
    anonymous = mesh.rest
    user = rest_user(anonymous)
    me = anonymous.as_user(user["token"])
    login = anonymous.post("/v1/users:login", {"email": user["email"], "password": PASSWORD})
    assert login.status == 200 and login.json["token_type"] == "Bearer" and login.json["expires_in"] == 3600
    product = rest_product(mesh.admin, stock=5)
    assert anonymous.get(f"/v1/{product['name']}").json == product  # the catalog needs no token

    placed = me.post("/v1/orders", rest_order_body(user["name"], product["name"], quantity=2))
    assert placed.status == 200, placed.text
    order = placed.json
    assert order["status"] == "CONFIRMED" and order["failure_reason"] == ""
    assert order["total"] == {"currency_code": "USD", "units": "25", "nanos": 0}
    assert order["items"] == [
        {"product": product["name"], "quantity": 2, "unit_price": product["price"], "title": "Mug"}
    ]
    assert me.get(f"/v1/{order['name']}").json == order
    assert me.get(f"/v1/{order['payment']}").json["status"] == "CAPTURED"
    assert me.get(f"/v1/{product['name']}").json["stock"] == 3

    cancel = me.post(f"/v1/{order['name']}:cancel", {})
    assert cancel.status == 200 and cancel.json["status"] == "CANCELLED"
    assert me.get(f"/v1/{order['payment']}").json["status"] == "REFUNDED"
    assert me.get(f"/v1/{product['name']}").json["stock"] == 5
    again = me.post(f"/v1/{order['name']}:cancel", {})
    assert again.status == 200 and again.json == cancel.json


def test_declined_card_fails_the_order_without_capture(mesh: RunningMesh) -> None:
    user, product = rest_user(mesh.rest), rest_product(mesh.admin, stock=4)
    me = mesh.rest.as_user(user["token"])
    placed = me.post(
        "/v1/orders", rest_order_body(user["name"], product["name"], quantity=3, card=DECLINING_CARD)
    )
    assert placed.status == 200, placed.text
    assert placed.json["status"] == "FAILED"
    assert placed.json["failure_reason"] == "payment_declined: card_declined"
    payment = me.get(f"/v1/{placed.json['payment']}").json
    assert payment["status"] == "DECLINED" and payment["decline_reason"] == "card_declined"
    assert me.get(f"/v1/{product['name']}").json["stock"] == 4
    reservation_id = f"order:{placed.json['name'].removeprefix('orders/')}"
    (state,) = mesh.sql("products", "SELECT state FROM reservations WHERE id = :id", id=reservation_id)[0]
    assert state == "RELEASED"
    captured = mesh.sql(
        "payments",
        "SELECT count(*) FROM payments WHERE status = 'CAPTURED' AND order_name = :o",
        o=placed.json["name"],
    )
    assert captured[0][0] == 0
    cancel = me.post(f"/v1/{placed.json['name']}:cancel", {})
    assert cancel.status == 400 and cancel.json["code"] == 9


def test_out_of_stock_fails_and_writes_nothing(mesh: RunningMesh) -> None:
    user, product = rest_user(mesh.rest), rest_product(mesh.admin, stock=2)
    before = mesh.counts()
    placed = mesh.rest.as_user(user["token"]).post(
        "/v1/orders", rest_order_body(user["name"], product["name"], quantity=3)
    )
    assert placed.status == 400, placed.text
    assert placed.json["code"] == 9  # FAILED_PRECONDITION
    assert "2 in stock, 3 requested" in placed.json["message"]
    assert placed.json["details"][0]["reason"] == "INSUFFICIENT_STOCK"
    assert mesh.counts() == before
    assert mesh.rest.get(f"/v1/{product['name']}").json["stock"] == 2


def test_replayed_request_id_returns_one_order_and_one_charge(mesh: RunningMesh) -> None:
    buyer = Stubs(mesh.channel).signup()
    product = Stubs(mesh.channel, mesh.admin_token).product(stock=10)
    request_id = str(uuid.uuid4())
    first = buyer.api.order(product.name, quantity=2, request_id=request_id)
    second = buyer.api.order(product.name, quantity=2, request_id=request_id)
    assert second == first
    body = {
        "request_id": request_id,
        "order": {"items": [{"product": product.name, "quantity": 2}]},
        "payment": {"card_number": "4242424242424242", "exp_month": 12, "exp_year": 2099, "cvc": "999"},
    }
    over_rest = mesh.rest.as_user(buyer.token).post("/v1/orders", body)
    assert over_rest.json["name"] == first.name
    assert mesh.sql("orders", "SELECT count(*) FROM orders WHERE request_id = :r", r=request_id)[0][0] == 1
    assert (
        mesh.sql("payments", "SELECT count(*) FROM payments WHERE order_name = :o", o=first.name)[0][0] == 1
    )
    assert (
        buyer.api.products.GetProduct(product_pb.GetProductRequest(name=product.name), timeout=10).stock == 8
    )


def test_products_page_across_pages_in_a_stable_order(mesh: RunningMesh) -> None:
    rest = mesh.rest
    mine = [rest_product(mesh.admin)["name"] for _ in range(7)]
    seen: list[str] = []
    token, pages = "", 0
    while True:
        query = f"/v1/products?page_size=3{'&page_token=' + token if token else ''}"
        page = rest.get(query)
        assert page.status == 200, page.text
        assert len(page.json["products"]) <= 3
        seen += [p["name"] for p in page.json["products"]]
        token, pages = page.json["next_page_token"], pages + 1
        if not token:
            break
    assert len(seen) == len(set(seen)), "a product appeared on two pages"
    assert [name for name in seen if name in mine] == mine
    assert pages >= 3


def test_orders_list_per_user_newest_first_across_pages(mesh: RunningMesh) -> None:
    buyer = Stubs(mesh.channel).signup()
    product = Stubs(mesh.channel, mesh.admin_token).product(stock=50)
    placed = [buyer.api.order(product.name).name for _ in range(5)]
    seen, token = [], ""
    while True:
        page = buyer.api.orders.ListOrders(
            order_pb.ListOrdersRequest(user=buyer.user.name, page_size=2, page_token=token), timeout=10
        )
        seen += [o.name for o in page.orders]
        token = page.next_page_token
        if not token:
            break
    assert seen == placed[::-1]
