"""Payment entities and the simulated card network. No gRPC, no SQL."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from meshkit.cards import Card
from meshkit.errors import AlreadyExists, FailedPrecondition, NotFound
from meshkit.money import Money

CLAIMED = "CLAIMED"
VOIDED = "VOIDED"

CAPTURED = "CAPTURED"
DECLINED = "DECLINED"
REFUNDED = "REFUNDED"

# The test cards developers know from the big payment providers. Any other
# number that passes the format checks approves.
DECLINING_CARDS = {
    "4000000000000002": "card_declined",
    "4000000000009995": "insufficient_funds",
}


@dataclass(frozen=True)
class Payment:
    id: str
    request_id: str
    order: str
    amount: Money
    status: str
    card_last4: str
    decline_reason: str
    create_time: dt.datetime
    update_time: dt.datetime
    user_id: str = ""
    """The buyer, who alone (besides admins) may read the payment; empty for charges made before it was kept."""


class PaymentNotFound(NotFound):
    def __init__(self, payment_id: str) -> None:
        super().__init__(
            f"payment payments/{payment_id} does not exist",
            reason="PAYMENT_NOT_FOUND",
            metadata={"payment": f"payments/{payment_id}"},
        )


class RequestIdReused(AlreadyExists):
    def __init__(self, request_id: str) -> None:
        super().__init__(
            f"request_id {request_id!r} was already used for a different charge",
            reason="REQUEST_ID_REUSED",
            metadata={"request_id": request_id},
        )


class ChargeVoided(FailedPrecondition):
    def __init__(self, request_id: str) -> None:
        super().__init__(
            f"request_id {request_id!r} was voided; this charge will not be made",
            reason="CHARGE_VOIDED",
            metadata={"request_id": request_id},
        )


class NotRefundable(FailedPrecondition):
    def __init__(self, payment_id: str, status: str) -> None:
        super().__init__(
            f"payments/{payment_id} is {status}; only a CAPTURED payment can be refunded",
            reason="PAYMENT_NOT_REFUNDABLE",
            metadata={"payment": f"payments/{payment_id}", "status": status},
        )


def decline_reason(card: Card) -> str:
    """The simulated network's answer: a decline reason, or '' to approve."""
    return DECLINING_CARDS.get(card.number, "")


def same_charge(payment: Payment, order: str, amount: Money, card: Card, user_id: str) -> bool:
    """Whether a replayed Charge asks for what the first one did, for the same buyer: a key another buyer's
    charge used never answers with that charge (its payment name, amount, card). A charge kept before its buyer
    was (user_id empty) can only be matched on the rest."""
    return (
        payment.order == order
        and payment.amount == amount
        and payment.card_last4 == card.last4
        and payment.user_id in ("", user_id)
    )
