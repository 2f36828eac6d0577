"""Catalog entities and rules. No gRPC, no SQL."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from meshkit.errors import AlreadyExists, FailedPrecondition, NotFound, Violations
from meshkit.money import Money

RESERVED = "RESERVED"
RELEASED = "RELEASED"


@dataclass(frozen=True)
class Product:
    id: str
    sku: str
    title: str
    description: str
    price: Money
    stock: int
    create_time: dt.datetime
    update_time: dt.datetime
    create_request_id: str = ""


@dataclass(frozen=True)
class ProductFields:
    """Editable product fields; None means 'not given'."""

    title: str | None = None
    description: str | None = None
    price: Money | None = None
    stock: int | None = None


@dataclass(frozen=True)
class ReservationLine:
    product_id: str
    quantity: int
    unit_price: Money | None = None
    title: str = ""


@dataclass(frozen=True)
class Reservation:
    id: str
    state: str
    lines: list[ReservationLine] = field(default_factory=list)
    create_time: dt.datetime | None = None


class ProductNotFound(NotFound):
    def __init__(self, product_id: str) -> None:
        super().__init__(
            f"product products/{product_id} does not exist",
            reason="PRODUCT_NOT_FOUND",
            metadata={"product": f"products/{product_id}"},
        )


class SkuTaken(AlreadyExists):
    def __init__(self, sku: str) -> None:
        super().__init__(
            f"a product with sku {sku!r} already exists", reason="SKU_ALREADY_EXISTS", metadata={"sku": sku}
        )


REQUEST_ID_USED_FOR = "to create a different product"
"""How CreateProduct's REQUEST_ID_REUSED message ends (meshkit.create_once.RequestIdReused)."""


class InsufficientStock(FailedPrecondition):
    def __init__(self, product_id: str, requested: int, available: int) -> None:
        super().__init__(
            f"products/{product_id} has {available} in stock, {requested} requested",
            reason="INSUFFICIENT_STOCK",
            metadata={
                "product": f"products/{product_id}",
                "requested": str(requested),
                "available": str(available),
            },
        )


class ReservationIdReused(AlreadyExists):
    def __init__(self, reservation_id: str) -> None:
        super().__init__(
            f"reservation {reservation_id!r} was already used for different items",
            reason="RESERVATION_ID_REUSED",
            metadata={"reservation_id": reservation_id},
        )


def check_fields(fields: ProductFields, prefix: str, violations: Violations) -> None:
    """Beyond the contract's rules (lengths, patterns, bounds): a title that is not all blank."""
    if fields.title is not None and not fields.title.strip():
        violations.add(f"{prefix}.title", "must not be blank")


def same_lines(a: list[ReservationLine], b: list[ReservationLine]) -> bool:
    """Whether two reservations ask for the same products and quantities."""
    return sorted((x.product_id, x.quantity) for x in a) == sorted((x.product_id, x.quantity) for x in b)
