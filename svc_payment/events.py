"""The events the payments service publishes (protos/shopmesh/payment/v1/events.proto), through its outbox."""

from __future__ import annotations

from shopmesh.payment.v1 import events_pb2
from sqlalchemy.engine import Connection

from meshkit.events import Outbox
from meshkit.names import make_name
from svc_payment import domain, models
from svc_payment.messages import payment_to_proto

SOURCE = "//payments.shopmesh.dev"


class PaymentEvents:
    """Announces captures and refunds, each in the transaction that made it."""

    def __init__(self, outbox: Outbox | None = None) -> None:
        self.outbox = outbox or Outbox(
            models.outbox, SOURCE, [events_pb2.PaymentCaptured, events_pb2.PaymentRefunded]
        )

    def captured(self, conn: Connection, payment: domain.Payment) -> None:
        self.outbox.add(
            conn,
            events_pb2.PaymentCaptured(payment=payment_to_proto(payment)),
            make_name("payments", payment.id),
        )

    def refunded(self, conn: Connection, payment: domain.Payment) -> None:
        self.outbox.add(
            conn,
            events_pb2.PaymentRefunded(payment=payment_to_proto(payment)),
            make_name("payments", payment.id),
        )
