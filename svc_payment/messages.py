"""Domain objects as contract messages: for RPC answers (servicer) and events (events)."""

from __future__ import annotations

from shopmesh.payment.v1 import payment_service_pb2 as pb

from meshkit.convert import money_to_proto, timestamp
from meshkit.names import make_name
from svc_payment import domain


def payment_to_proto(payment: domain.Payment) -> pb.Payment:
    return pb.Payment(
        name=make_name("payments", payment.id),
        order=payment.order,
        amount=money_to_proto(payment.amount),
        status=payment.status,
        card_last4=payment.card_last4,
        decline_reason=payment.decline_reason,
        create_time=timestamp(payment.create_time),
        update_time=timestamp(payment.update_time),
        user=make_name("users", payment.user_id) if payment.user_id else "",
    )
