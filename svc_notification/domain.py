"""What the e-mails say: plain values in, subject and body out (no grpc, no SQLAlchemy)."""

from __future__ import annotations

from dataclasses import dataclass

from meshkit.money import Money

ORDER_CONFIRMED = "order_confirmed"
ORDER_FAILED = "order_failed"
ORDER_CANCELLED = "order_cancelled"
PAYMENT_REFUNDED = "payment_refunded"


@dataclass(frozen=True)
class Line:
    title: str
    quantity: int
    unit_price: Money | None


@dataclass(frozen=True)
class Letter:
    subject: str
    body: str


def _lines(lines: list[Line]) -> str:
    return "\n".join(
        f"  {line.quantity} x {line.title}" + (f" at {line.unit_price}" if line.unit_price else "")
        for line in lines
    )


def order_letter(
    kind: str, name: str, order: str, lines: list[Line], total: Money | None, reason: str
) -> Letter:
    """The e-mail about an order's confirmation, failure or cancellation."""
    greeting = f"Hello {name},\n\n"
    items = _lines(lines)
    total_line = f"\nTotal: {total}\n" if total else "\n"
    if kind == ORDER_CONFIRMED:
        return Letter(
            f"Your order {order} is confirmed",
            f"{greeting}thank you for your order {order}. We have reserved:\n\n{items}\n{total_line}"
            "\nThe payment has been captured.\n",
        )
    if kind == ORDER_FAILED:
        return Letter(
            f"Your order {order} could not be completed",
            f"{greeting}we could not complete your order {order}:\n\n{items}\n\nReason: {reason}\n"
            "\nNothing was charged.\n",
        )
    if kind == ORDER_CANCELLED:
        return Letter(
            f"Your order {order} is cancelled",
            f"{greeting}your order {order} has been cancelled:\n\n{items}\n{total_line}"
            "\nThe payment is refunded; you will receive a separate confirmation.\n",
        )
    raise ValueError(f"no letter for {kind!r}")


def refund_letter(name: str, payment: str, order: str, amount: Money) -> Letter:
    return Letter(
        f"Your refund of {amount} for {order}",
        f"Hello {name},\n\nwe have refunded {amount} (payment {payment}) for your order {order}.\n",
    )
