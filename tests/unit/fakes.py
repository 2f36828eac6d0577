"""In-memory stand-ins for the services orders calls (the ports of svc_order.ports).

They keep the real services' contracts: reservations and charges are keyed
and idempotent, releasing an unknown reservation leaves a released tombstone,
voiding an unused charge key refuses later charges with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from meshkit.cards import Card
from meshkit.errors import FailedPrecondition, NotFound, ServiceError, Unavailable
from meshkit.money import Money
from svc_order.domain import OrderLine
from svc_order.ports import CAPTURED, DECLINED, RELEASED, RESERVED, ChargeResult, Reservation


def _outage(service: str) -> Unavailable:
    return Unavailable(f"the {service} service is unavailable: no healthy upstream")


@dataclass
class FakeCatalog:
    stock: dict[str, int] = field(default_factory=dict)
    prices: dict[str, Money] = field(default_factory=dict)
    reservations: dict[str, Reservation] = field(default_factory=dict)
    released: list[str] = field(default_factory=list)
    down: bool = False
    fail_with: ServiceError | None = None

    def add(self, product_id: str, stock: int, price: Money) -> None:
        self.stock[product_id] = stock
        self.prices[product_id] = price

    def reserve(self, reservation_id: str, lines: list[OrderLine]) -> Reservation:
        if self.down:
            raise _outage("products")
        if self.fail_with:
            raise self.fail_with
        if reservation_id in self.reservations:
            return self.reservations[reservation_id]
        for line in lines:
            if line.product_id not in self.stock:
                raise NotFound(
                    f"product products/{line.product_id} does not exist", reason="PRODUCT_NOT_FOUND"
                )
            if self.stock[line.product_id] < line.quantity:
                raise FailedPrecondition("not enough stock", reason="INSUFFICIENT_STOCK")
        priced = []
        for line in lines:
            self.stock[line.product_id] -= line.quantity
            priced.append(OrderLine(line.product_id, line.quantity, self.prices[line.product_id], "Thing"))
        self.reservations[reservation_id] = Reservation(RESERVED, priced)
        return self.reservations[reservation_id]

    def release(self, reservation_id: str) -> None:
        if self.down:
            raise _outage("products")
        self.released.append(reservation_id)
        current = self.reservations.get(reservation_id)
        if current is not None and current.state == RESERVED:
            for line in current.lines:
                self.stock[line.product_id] += line.quantity
        self.reservations[reservation_id] = Reservation(RELEASED, current.lines if current else [])


@dataclass
class FakePayments:
    """Cards ending in 0002 decline. `lose_replies` captures but answers UNAVAILABLE (a timeout)."""

    charges: dict[str, ChargeResult] = field(default_factory=dict)
    voided: set[str] = field(default_factory=set)
    amounts: dict[str, Money] = field(default_factory=dict)
    refunded: list[str] = field(default_factory=list)
    down: bool = False
    lose_replies: bool = False
    fail_with: ServiceError | None = None

    def charge(
        self, request_id: str, order_name: str, amount: Money, card: Card, user_id: str = ""
    ) -> ChargeResult:
        if self.down:
            raise _outage("payments")
        if self.fail_with:
            raise self.fail_with
        if request_id in self.voided:
            raise FailedPrecondition(f"request_id {request_id!r} was voided", reason="CHARGE_VOIDED")
        if request_id not in self.charges:
            declined = card.number.endswith("0002")
            result = ChargeResult(
                payment_id=f"pay{len(self.charges)}",
                status=DECLINED if declined else CAPTURED,
                decline_reason="card_declined" if declined else "",
            )
            self.charges[request_id] = result
            self.amounts[result.payment_id] = amount
        if self.lose_replies:
            raise Unavailable("the payments service is unavailable: upstream request timeout")
        return self.charges[request_id]

    def refund(self, payment_id: str) -> None:
        if self.down:
            raise _outage("payments")
        if payment_id not in self.refunded:
            self.refunded.append(payment_id)

    def void_charge(self, request_id: str) -> ChargeResult | None:
        if self.down:
            raise _outage("payments")
        if request_id in self.charges:
            return self.charges[request_id]
        self.voided.add(request_id)
        return None

    def captured(self) -> list[str]:
        return [
            c.payment_id
            for c in self.charges.values()
            if c.status == CAPTURED and c.payment_id not in self.refunded
        ]


@dataclass
class FakeDirectory:
    users: set[str] = field(default_factory=set)

    def ensure_user(self, user_id: str) -> None:
        if user_id not in self.users:
            raise NotFound(f"user users/{user_id} does not exist", reason="USER_NOT_FOUND")
