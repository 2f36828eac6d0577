"""Order entities and rules. No gRPC, no SQL."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field, replace

from meshkit.errors import AlreadyExists, FailedPrecondition, NotFound
from meshkit.money import Money

PENDING = "PENDING"
CONFIRMED = "CONFIRMED"
FAILED = "FAILED"
CANCELLED = "CANCELLED"


@dataclass(frozen=True)
class OrderLine:
    product_id: str
    quantity: int
    unit_price: Money | None = None
    title: str = ""


@dataclass(frozen=True)
class Order:
    id: str
    request_id: str
    fingerprint: str
    user_id: str
    status: str
    lines: list[OrderLine] = field(default_factory=list)
    total: Money | None = None
    payment_id: str = ""
    failure_reason: str = ""
    create_time: dt.datetime | None = None
    update_time: dt.datetime | None = None
    lease_until: dt.datetime | None = None
    cancel_requested: bool = False

    @property
    def reservation_id(self) -> str:
        """The stock reservation's idempotency key, derived so a retry finds it again."""
        return f"order:{self.id}"

    @property
    def charge_request_id(self) -> str:
        """The charge's idempotency key: one order, at most one capture."""
        return f"order:{self.id}:charge"

    def priced(self, lines: list[OrderLine]) -> Order:
        total = sum_lines(lines)
        return replace(self, lines=lines, total=total)


class OrderNotFound(NotFound):
    def __init__(self, order_id: str) -> None:
        super().__init__(
            f"order orders/{order_id} does not exist",
            reason="ORDER_NOT_FOUND",
            metadata={"order": f"orders/{order_id}"},
        )


class RequestIdReused(AlreadyExists):
    def __init__(self, request_id: str, order_id: str) -> None:
        """`order_id`: the caller's own order placed with this request_id (a request_id is its buyer's, so it
        never names another buyer's order)."""
        super().__init__(
            f"request_id {request_id!r} was already used for a different order (orders/{order_id})",
            reason="REQUEST_ID_REUSED",
            metadata={"request_id": request_id, "order": f"orders/{order_id}"},
        )


class NotCancellable(FailedPrecondition):
    def __init__(self, order_id: str, status: str) -> None:
        super().__init__(
            f"orders/{order_id} is {status}; only a CONFIRMED order can be cancelled",
            reason="ORDER_NOT_CANCELLABLE",
            metadata={"order": f"orders/{order_id}", "status": status},
        )


class MixedCurrencies(FailedPrecondition):
    def __init__(self, currencies: set[str]) -> None:
        super().__init__(
            f"the items are priced in several currencies ({', '.join(sorted(currencies))}); "
            "order them separately",
            reason="MIXED_CURRENCIES",
        )


def sum_lines(lines: list[OrderLine]) -> Money:
    """The order total; every line must be priced in one currency."""
    currencies = {line.unit_price.currency for line in lines if line.unit_price}
    if len(currencies) != 1 or any(line.unit_price is None for line in lines):
        raise MixedCurrencies(currencies)
    (currency,) = currencies
    total = Money.zero(currency)
    for line in lines:
        assert line.unit_price is not None
        total = total + line.unit_price.times(line.quantity)
    return total


def fingerprint(user_id: str, lines: list[OrderLine]) -> str:
    """Identifies what an order asks for, to tell a replay from a reused request_id."""
    canonical = (
        user_id
        + "|"
        + ",".join(f"{x.product_id}x{x.quantity}" for x in sorted(lines, key=lambda x: x.product_id))
    )
    return hashlib.sha256(canonical.encode()).hexdigest()
