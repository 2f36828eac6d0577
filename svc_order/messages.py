"""Domain objects as contract messages: for RPC answers (servicer) and events (events)."""

from __future__ import annotations

from shopmesh.order.v1 import order_service_pb2 as pb

from meshkit.convert import money_to_proto, timestamp
from meshkit.names import make_name
from svc_order import domain


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
