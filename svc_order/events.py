"""The events the orders service publishes (protos/shopmesh/order/v1/events.proto), through its outbox."""

from __future__ import annotations

from shopmesh.order.v1 import events_pb2
from sqlalchemy.engine import Connection

from meshkit.events import Outbox
from meshkit.names import make_name
from svc_order import domain, models
from svc_order.messages import order_to_proto

SOURCE = "//orders.shopmesh.dev"


class OrderEvents:
    """Announces an order's final states, each in the transaction that reached it."""

    def __init__(self, outbox: Outbox | None = None) -> None:
        self.outbox = outbox or Outbox(
            models.outbox,
            SOURCE,
            [events_pb2.OrderConfirmed, events_pb2.OrderFailed, events_pb2.OrderCancelled],
        )

    def finished(self, conn: Connection, order: domain.Order) -> None:
        """OrderConfirmed or OrderFailed for an order its saga just finished."""
        message = order_to_proto(order)
        if order.status == domain.CONFIRMED:
            self.outbox.add(conn, events_pb2.OrderConfirmed(order=message), make_name("orders", order.id))
        elif order.status == domain.FAILED:
            self.outbox.add(conn, events_pb2.OrderFailed(order=message), make_name("orders", order.id))

    def cancelled(self, conn: Connection, order: domain.Order) -> None:
        self.outbox.add(
            conn, events_pb2.OrderCancelled(order=order_to_proto(order)), make_name("orders", order.id)
        )
