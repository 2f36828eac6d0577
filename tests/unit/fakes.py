"""In-memory stand-ins for the services orders calls (the ports of svc_order.ports)."""

from __future__ import annotations

from dataclasses import dataclass, field

from meshkit.cards import Card
from meshkit.errors import FailedPrecondition, NotFound, ServiceError
from meshkit.money import Money
from svc_order.domain import OrderLine
from svc_order.ports import CAPTURED, DECLINED, RESERVED, ChargeResult, Reservation


@dataclass
class FakeCatalog:
    """Products with stock and prices; reservations keyed like the real service."""

    stock: dict[str, int] = field(default_factory=dict)
    prices: dict[str, Money] = field(default_factory=dict)
    reservations: dict[str, list[OrderLine]] = field(default_factory=dict)
    released: list[str] = field(default_factory=list)
    fail_with: ServiceError | None = None

    def add(self, product_id: str, stock: int, price: Money) -> None:
        self.stock[product_id] = stock
        self.prices[product_id] = price

    def reserve(self, reservation_id: str, lines: list[OrderLine]) -> Reservation:
        if self.fail_with:
            raise self.fail_with
        if reservation_id in self.reservations:
            return Reservation(RESERVED, self.reservations[reservation_id])
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
        self.reservations[reservation_id] = priced
        return Reservation(RESERVED, priced)

    def release(self, reservation_id: str) -> None:
        self.released.append(reservation_id)
        for line in self.reservations.pop(reservation_id, []):
            self.stock[line.product_id] += line.quantity


@dataclass
class FakePayments:
    """Charges keyed by request id; cards ending in 0002 decline."""

    charges: dict[str, ChargeResult] = field(default_factory=dict)
    amounts: dict[str, Money] = field(default_factory=dict)
    refunded: list[str] = field(default_factory=list)
    fail_with: ServiceError | None = None

    def charge(self, request_id: str, order_name: str, amount: Money, card: Card) -> ChargeResult:
        if self.fail_with:
            raise self.fail_with
        if request_id not in self.charges:
            declined = card.number.endswith("0002")
            result = ChargeResult(
                payment_id=f"pay{len(self.charges)}",
                status=DECLINED if declined else CAPTURED,
                decline_reason="card_declined" if declined else "",
            )
            self.charges[request_id] = result
            self.amounts[result.payment_id] = amount
        return self.charges[request_id]

    def refund(self, payment_id: str) -> None:
        if payment_id not in self.refunded:
            self.refunded.append(payment_id)

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
