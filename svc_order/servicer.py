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
from meshkit.errors import PermissionDenied, Violations
from meshkit.idempotency import request_key
from meshkit.identity import Identity, identity_of
from meshkit.names import parse_name
from svc_order import domain
from svc_order.messages import order_to_proto
from svc_order.services import Checkout


class OrderServicer(pb_grpc.OrderServiceServicer):
    def __init__(self, checkout: Checkout, today: Callable[[], dt.date] = dt.date.today) -> None:
        self._checkout = checkout
        self._today = today

    def CreateOrder(self, request: pb.CreateOrderRequest, context: grpc.ServicerContext) -> pb.Order:
        buyer = _buyer(request.order.user, identity_of(context))
        violations = Violations()
        lines = self._lines(request.order.items, violations)
        card = check_card(
            request.payment.card_number,
            request.payment.exp_month,
            request.payment.exp_year,
            request.payment.cvc,
            prefix="payment",
            today=self._today(),
            violations=violations,
        )
        violations.raise_if_any()
        assert card is not None
        key = request_key(request.request_id, context) or uuid.uuid4().hex
        return order_to_proto(self._checkout.place_order(key, buyer, lines, card))

    @staticmethod
    def _lines(items: Sequence[pb.OrderItem], violations: Violations) -> list[domain.OrderLine]:
        """Beyond the contract's rules (names, quantities, item count): each product once."""
        lines, seen = [], set()
        for i, item in enumerate(items):
            product_id = parse_name(item.product, "products", f"order.items[{i}].product")
            if product_id in seen:
                violations.add(
                    f"order.items[{i}].product", "appears more than once; set its quantity instead"
                )
            seen.add(product_id)
            lines.append(domain.OrderLine(product_id, item.quantity))
        return lines

    def GetOrder(self, request: pb.GetOrderRequest, context: grpc.ServicerContext) -> pb.Order:
        order_id = parse_name(request.name, "orders", "name")
        return order_to_proto(self._checkout.get_order(order_id, identity_of(context)))

    def ListOrders(
        self, request: pb.ListOrdersRequest, context: grpc.ServicerContext
    ) -> pb.ListOrdersResponse:
        caller = identity_of(context)
        requested = parse_name(request.user, "users", "user") if request.user else None
        if requested is None:
            user_id = None if caller.privileged else caller.require_user()
        elif requested == caller.user_id or caller.privileged:
            user_id = requested
        else:
            raise PermissionDenied("you may list only your own orders", reason="NOT_YOUR_ORDERS")
        limit = paging.page_size(request.page_size)
        before = paging.decode_token(request.page_token, scope=request.user)
        orders, next_before = self._checkout.list_orders(user_id, before, limit)
        return pb.ListOrdersResponse(
            orders=[order_to_proto(o) for o in orders],
            next_page_token=paging.encode_token(next_before, scope=request.user)
            if next_before is not None
            else "",
        )

    def CancelOrder(self, request: pb.CancelOrderRequest, context: grpc.ServicerContext) -> pb.Order:
        order_id = parse_name(request.name, "orders", "name")
        return order_to_proto(self._checkout.cancel_order(order_id, identity_of(context)))


def _buyer(requested: str, caller: Identity) -> str:
    """The user an order is for: the caller (a token's user), whatever the body says.

    A body naming someone else is refused rather than ignored, so a client's mistake does not place an order
    for the wrong account. Only a service (the internal listener) may name the buyer.
    """
    named = parse_name(requested, "users", "order.user") if requested else None
    if caller.user_id is not None:
        if named is not None and named != caller.user_id:
            raise PermissionDenied("order.user must be empty or yourself", reason="NOT_YOUR_ORDER")
        return caller.user_id
    if caller.internal and named is not None:
        return named
    return caller.require_user()
