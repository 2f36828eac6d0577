"""gRPC implementations of the ports, calling other services through Envoy."""

from __future__ import annotations

import grpc
from shopmesh.payment.v1 import payment_service_pb2 as payment_pb
from shopmesh.payment.v1 import payment_service_pb2_grpc as payment_grpc
from shopmesh.product.v1 import product_service_pb2 as product_pb
from shopmesh.product.v1 import product_service_pb2_grpc as product_grpc
from shopmesh.user.v1 import user_service_pb2 as user_pb
from shopmesh.user.v1 import user_service_pb2_grpc as user_grpc

from meshkit.cards import Card
from meshkit.clients import Caller
from meshkit.convert import money_to_proto
from meshkit.money import Money
from meshkit.names import make_name, parse_name
from svc_order.domain import OrderLine
from svc_order.ports import ChargeResult, Reservation


class GrpcCatalog:
    def __init__(self, channel: grpc.Channel, timeout: float) -> None:
        self._stub = product_grpc.ProductServiceStub(channel)
        self._call = Caller("the products service", timeout)

    def reserve(self, reservation_id: str, lines: list[OrderLine]) -> Reservation:
        request = product_pb.ReserveStockRequest(
            reservation_id=reservation_id,
            items=[
                product_pb.ReservationItem(product=make_name("products", x.product_id), quantity=x.quantity)
                for x in lines
            ],
        )
        reply = self._call(self._stub.ReserveStock, request)
        return Reservation(
            state=product_pb.Reservation.State.Name(reply.state),
            lines=[
                OrderLine(
                    product_id=parse_name(item.product, "products", "items.product"),
                    quantity=item.quantity,
                    unit_price=Money.of(
                        item.unit_price.currency_code, item.unit_price.units, item.unit_price.nanos
                    ),
                    title=item.title,
                )
                for item in reply.items
            ],
        )

    def release(self, reservation_id: str) -> None:
        self._call(self._stub.ReleaseStock, product_pb.ReleaseStockRequest(reservation_id=reservation_id))


class GrpcPayments:
    def __init__(self, channel: grpc.Channel, timeout: float) -> None:
        self._stub = payment_grpc.PaymentServiceStub(channel)
        self._call = Caller("the payments service", timeout)

    def charge(
        self, request_id: str, order_name: str, amount: Money, card: Card, user_id: str
    ) -> ChargeResult:
        request = payment_pb.ChargeRequest(
            request_id=request_id,
            order=order_name,
            user=make_name("users", user_id),
            amount=money_to_proto(amount),
            card=payment_pb.PaymentCard(
                card_number=card.number, exp_month=card.exp_month, exp_year=card.exp_year, cvc=card.cvc
            ),
        )
        return _charge_result(self._call(self._stub.Charge, request))

    def refund(self, payment_id: str) -> None:
        self._call(self._stub.Refund, payment_pb.RefundRequest(name=make_name("payments", payment_id)))

    def void_charge(self, request_id: str) -> ChargeResult | None:
        reply = self._call(self._stub.VoidCharge, payment_pb.VoidChargeRequest(request_id=request_id))
        return _charge_result(reply.payment) if reply.HasField("payment") else None


def _charge_result(payment: payment_pb.Payment) -> ChargeResult:
    return ChargeResult(
        payment_id=parse_name(payment.name, "payments", "name"),
        status=payment_pb.Payment.Status.Name(payment.status),
        decline_reason=payment.decline_reason,
    )


KNOWN_USERS = 100_000
"""Users a process remembers having found (about 10 MB at most)."""


class GrpcDirectory:
    """Users are never deleted (UserService has no DeleteUser), so one found is remembered: a checkout asks the
    users service about a buyer once per process, not a network hop for every order."""

    def __init__(self, channel: grpc.Channel, timeout: float) -> None:
        self._stub = user_grpc.UserServiceStub(channel)
        self._call = Caller("the users service", timeout)
        self._known: set[str] = set()

    def ensure_user(self, user_id: str) -> None:
        if user_id in self._known:
            return
        self._call(self._stub.GetUser, user_pb.GetUserRequest(name=make_name("users", user_id)))
        if len(self._known) >= KNOWN_USERS:
            self._known.clear()
        self._known.add(user_id)
