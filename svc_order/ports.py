"""What checkout needs from other services, as interfaces (gRPC in clients.py, fakes in tests)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from meshkit.cards import Card
from meshkit.money import Money
from svc_order.domain import OrderLine

RESERVED = "RESERVED"
RELEASED = "RELEASED"
CAPTURED = "CAPTURED"
DECLINED = "DECLINED"


@dataclass(frozen=True)
class Reservation:
    state: str
    lines: list[OrderLine]
    """The reserved lines, priced by the catalog."""


@dataclass(frozen=True)
class ChargeResult:
    payment_id: str
    status: str
    decline_reason: str


class Catalog(Protocol):
    """The products service: stock and prices."""

    def reserve(self, reservation_id: str, lines: list[OrderLine]) -> Reservation:
        """Takes stock for every line or fails (NotFound, FailedPrecondition, Unavailable)."""
        ...

    def release(self, reservation_id: str) -> None:
        """Gives a reservation's stock back; idempotent, also for unknown ids."""
        ...


class PaymentGateway(Protocol):
    """The payments service."""

    def charge(
        self, request_id: str, order_name: str, amount: Money, card: Card, user_id: str
    ) -> ChargeResult: ...

    def refund(self, payment_id: str) -> None: ...

    def void_charge(self, request_id: str) -> ChargeResult | None:
        """The charge made with this key, or None after making sure none ever will be."""
        ...


class Directory(Protocol):
    """The users service."""

    def ensure_user(self, user_id: str) -> None:
        """Raises NotFound when there is no such user."""
        ...
