"""PaymentService over gRPC: requests to plain values, results to messages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import grpc
from shopmesh.payment.v1 import payment_service_pb2 as pb
from shopmesh.payment.v1 import payment_service_pb2_grpc as pb_grpc

from meshkit.cards import check_card
from meshkit.convert import money_from_proto
from meshkit.errors import Violations
from meshkit.identity import identity_of
from meshkit.names import parse_name
from svc_payment.messages import payment_to_proto
from svc_payment.services import Payments


class PaymentServicer(pb_grpc.PaymentServiceServicer):
    def __init__(self, payments: Payments, today: Callable[[], dt.date] = dt.date.today) -> None:
        self._payments = payments
        self._today = today

    def GetPayment(self, request: pb.GetPaymentRequest, context: grpc.ServicerContext) -> pb.Payment:
        payment_id = parse_name(request.name, "payments", "name")
        return payment_to_proto(self._payments.get_payment(payment_id, identity_of(context)))

    def Charge(self, request: pb.ChargeRequest, unused_context: grpc.ServicerContext) -> pb.Payment:
        violations = Violations()
        amount = money_from_proto(request.amount, "amount", violations, positive=True)
        card = check_card(
            request.card.card_number,
            request.card.exp_month,
            request.card.exp_year,
            request.card.cvc,
            prefix="card",
            today=self._today(),
            violations=violations,
        )
        violations.raise_if_any()
        assert amount is not None and card is not None
        user_id = parse_name(request.user, "users", "user") if request.user else ""
        payment = self._payments.charge(request.request_id, request.order, amount, card, user_id)
        return payment_to_proto(payment)

    def VoidCharge(
        self, request: pb.VoidChargeRequest, unused_context: grpc.ServicerContext
    ) -> pb.VoidChargeResponse:
        payment = self._payments.void_charge(request.request_id)
        return pb.VoidChargeResponse(payment=payment_to_proto(payment) if payment else None)

    def Refund(self, request: pb.RefundRequest, unused_context: grpc.ServicerContext) -> pb.Payment:
        payment_id = parse_name(request.name, "payments", "name")
        return payment_to_proto(self._payments.refund(payment_id))
