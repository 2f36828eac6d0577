"""OrderService over gRPC: requests to plain values, results to messages."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence

import grpc
from shopmesh.order.v1 import order_service_pb2 as pb
from shopmesh.order.v1 import order_service_pb2_grpc as pb_grpc

from meshkit import paging
from meshkit.cards import check_card
from meshkit.convert import money_to_proto, timestamp
from meshkit.errors import Violations
from meshkit.idempotency import check_key
from meshkit.names import check_name, make_name, parse_name
from svc_order import domain
from svc_order.services import Checkout


def order_to_proto(order: domain.Order) -> pb.Order:
    return pb.Order(
        name=make_name("orders", order.id),
        user=make_name("users", order.user_id),
        items=[
            pb.OrderItem(
                product=make_name("products", line.product_id),
                quantity=line.quantity,
                unit_price=money_to_proto(line.unit_price) if line.unit_price else None,
                title=line.title,
            )
            for line in order.lines
        ],
        total=money_to_proto(order.total) if order.total else None,
        status=order.status,
        payment=make_name("payments", order.payment_id) if order.payment_id else "",
        failure_reason=order.failure_reason,
        create_time=timestamp(order.create_time),
        update_time=timestamp(order.update_time),
    )


class OrderServicer(pb_grpc.OrderServiceServicer):
    def __init__(self, checkout: Checkout, today: Callable[[], dt.date] = dt.date.today) -> None:
        self._checkout = checkout
        self._today = today

    def CreateOrder(self, request: pb.CreateOrderRequest, unused_context: grpc.ServicerContext) -> pb.Order:
        violations = Violations()
        check_key(request.request_id, "request_id", violations, required=False)
        user_id = check_name(request.order.user, "users", "order.user", violations)
        lines = self._lines(request.order.items, violations)
        card = None
        if request.HasField("payment"):
            card = check_card(
                request.payment.card_number,
                request.payment.exp_month,
                request.payment.exp_year,
                request.payment.cvc,
                prefix="payment",
                today=self._today(),
                violations=violations,
            )
        else:
            violations.add("payment", "is required")
        violations.raise_if_any()
        assert user_id is not None and card is not None
        order = self._checkout.place_order(request.request_id or uuid.uuid4().hex, user_id, lines, card)
        return order_to_proto(order)

    @staticmethod
    def _lines(items: Sequence[pb.OrderItem], violations: Violations) -> list[domain.OrderLine]:
        if not items:
            violations.add("order.items", "at least one item is required")
        elif len(items) > domain.MAX_ITEMS:
            violations.add("order.items", f"at most {domain.MAX_ITEMS} items per order")
        lines, seen = [], set()
        for i, item in enumerate(items):
            product_id = check_name(item.product, "products", f"order.items[{i}].product", violations)
            if product_id in seen:
                violations.add(
                    f"order.items[{i}].product", "appears more than once; set its quantity instead"
                )
            if not 1 <= item.quantity <= domain.MAX_QUANTITY:
                violations.add(
                    f"order.items[{i}].quantity", f"must be 1 to {domain.MAX_QUANTITY} (got {item.quantity})"
                )
            if product_id is not None:
                seen.add(product_id)
                lines.append(domain.OrderLine(product_id, item.quantity))
        return lines

    def GetOrder(self, request: pb.GetOrderRequest, unused_context: grpc.ServicerContext) -> pb.Order:
        return order_to_proto(self._checkout.get_order(parse_name(request.name, "orders", "name")))

    def ListOrders(
        self, request: pb.ListOrdersRequest, unused_context: grpc.ServicerContext
    ) -> pb.ListOrdersResponse:
        user_id = parse_name(request.user, "users", "user") if request.user else None
        limit = paging.page_size(request.page_size)
        before = paging.decode_token(request.page_token, scope=request.user)
        orders, next_before = self._checkout.list_orders(user_id, before, limit)
        return pb.ListOrdersResponse(
            orders=[order_to_proto(o) for o in orders],
            next_page_token=paging.encode_token(next_before, scope=request.user)
            if next_before is not None
            else "",
        )

    def CancelOrder(self, request: pb.CancelOrderRequest, unused_context: grpc.ServicerContext) -> pb.Order:
        return order_to_proto(self._checkout.cancel_order(parse_name(request.name, "orders", "name")))
