"""The events notifications consumes, turned into plain values for the use cases (as a servicer does for RPCs).

Three durable consumers, one per stream: orders (confirmed, failed, cancelled), payments (refunded) and
users (created: the recipients' view). Each handler runs in the consumer's transaction.
"""

from __future__ import annotations

from google.type import money_pb2
from shopmesh.order.v1 import events_pb2 as order_events
from shopmesh.order.v1 import order_service_pb2 as order_pb
from shopmesh.payment.v1 import events_pb2 as payment_events
from shopmesh.user.v1 import events_pb2 as user_events
from sqlalchemy.engine import Connection

from meshkit.events import DurableConsumer, Event
from meshkit.events.consumer import Handler
from meshkit.money import Money
from meshkit.names import parse_name
from meshkit.telemetry import traceparent
from svc_notification import domain
from svc_notification.models import dead_letters, processed_events
from svc_notification.services import Notifier


def _money(value: money_pb2.Money) -> Money:
    return Money.of(value.currency_code, value.units, value.nanos)


def _lines(order: order_pb.Order) -> list[domain.Line]:
    return [
        domain.Line(
            item.title or item.product,
            item.quantity,
            _money(item.unit_price) if item.HasField("unit_price") else None,
        )
        for item in order.items
    ]


class Handlers:
    def __init__(self, notifier: Notifier) -> None:
        self._notifier = notifier

    def consumers(self) -> list[DurableConsumer]:
        return [
            DurableConsumer(
                "notifications-orders",
                {
                    order_events.OrderConfirmed: self._order(domain.ORDER_CONFIRMED),
                    order_events.OrderFailed: self._order(domain.ORDER_FAILED),
                    order_events.OrderCancelled: self._order(domain.ORDER_CANCELLED),
                },
                processed_events,
                dead_letters,
            ),
            DurableConsumer(
                "notifications-payments",
                {payment_events.PaymentRefunded: self.payment_refunded},
                processed_events,
                dead_letters,
            ),
            DurableConsumer(
                "notifications-users",
                {user_events.UserCreated: self.user_created},
                processed_events,
                dead_letters,
            ),
        ]

    def user_created(self, conn: Connection, event: Event, message: user_events.UserCreated) -> None:
        user = message.user
        self._notifier.learn_recipient(
            conn, parse_name(user.name, "users", "user.name"), user.email, user.display_name
        )

    def _order(self, kind: str) -> Handler:
        def handle(
            conn: Connection,
            event: Event,
            message: order_events.OrderConfirmed | order_events.OrderFailed | order_events.OrderCancelled,
        ) -> None:
            order = message.order
            total = _money(order.total) if order.HasField("total") else None
            self._notifier.owe(
                conn,
                event_id=event.id,
                kind=kind,
                user_id=parse_name(order.user, "users", "order.user"),
                resource=order.name,
                letter=lambda name: domain.order_letter(
                    kind, name, order.name, _lines(order), total, order.failure_reason
                ),
                traceparent=traceparent(),  # the consumer span: the e-mail continues the trace
            )

        return handle

    def payment_refunded(
        self, conn: Connection, event: Event, message: payment_events.PaymentRefunded
    ) -> None:
        payment = message.payment
        amount = _money(payment.amount)
        self._notifier.owe(
            conn,
            event_id=event.id,
            kind=domain.PAYMENT_REFUNDED,
            user_id=parse_name(payment.user, "users", "payment.user"),
            resource=payment.name,
            letter=lambda name: domain.refund_letter(name, payment.name, payment.order, amount),
            traceparent=traceparent(),  # the consumer span: the e-mail continues the trace
        )
