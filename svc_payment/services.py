"""Payment use cases: each runs in one database transaction."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from meshkit.cards import Card
from meshkit.db import Database, utcnow
from meshkit.identity import Identity
from meshkit.money import Money
from meshkit.names import new_id
from svc_payment import domain
from svc_payment.events import PaymentEvents
from svc_payment.repository import PaymentRepository

log = logging.getLogger(__name__)


class Payments:
    """The payments service's use cases."""

    def __init__(
        self, db: Database, clock: Callable[[], dt.datetime] = utcnow, events: PaymentEvents | None = None
    ) -> None:
        self._db = db
        self._clock = clock
        self._events = events or PaymentEvents()

    def get_payment(self, payment_id: str, caller: Identity) -> domain.Payment:
        """The payment, for its buyer, admins and services; NOT_FOUND for anyone else (no leak)."""
        with self._db.snapshot() as conn:
            payment = PaymentRepository(conn).get(payment_id)
        if payment is None or not caller.may_see(payment.user_id):
            raise domain.PaymentNotFound(payment_id)
        return payment

    def charge(
        self, request_id: str, order: str, amount: Money, card: Card, user_id: str = ""
    ) -> domain.Payment:
        """Captures or declines once per request_id; a replay returns the first payment."""
        now = self._clock()
        reason = domain.decline_reason(card)
        payment = domain.Payment(
            id=new_id(),
            request_id=request_id,
            order=order,
            amount=amount,
            status=domain.DECLINED if reason else domain.CAPTURED,
            card_last4=card.last4,
            decline_reason=reason,
            create_time=now,
            update_time=now,
            user_id=user_id,
        )
        with self._db.transaction() as conn:
            repo = PaymentRepository(conn)
            if repo.claim_key(request_id, domain.CLAIMED, now):
                repo.add(payment)
                if payment.status == domain.CAPTURED:
                    self._events.captured(conn, payment)
                log.info("payment %s %s %s for %s", payment.id, payment.status, amount, order)
                return payment
            if repo.key_state(request_id) == domain.VOIDED:
                raise domain.ChargeVoided(request_id)
            first = repo.by_request_id(request_id)
        assert first is not None
        if not domain.same_charge(first, order, amount, card, user_id):
            raise domain.RequestIdReused(request_id)
        return first

    def void_charge(self, request_id: str) -> domain.Payment | None:
        """Settles a charge of unknown outcome: returns it if it was made, else voids its key."""
        with self._db.transaction() as conn:
            repo = PaymentRepository(conn)
            if repo.claim_key(request_id, domain.VOIDED, self._clock()):
                log.info("charge %s voided before it was made", request_id)
                return None
            return repo.by_request_id(request_id)  # None when it was voided before

    def refund(self, payment_id: str) -> domain.Payment:
        """Refunds a captured payment once; a refunded one is returned unchanged."""
        with self._db.transaction() as conn:
            repo = PaymentRepository(conn)
            payment = repo.get(payment_id)
            if payment is None:
                raise domain.PaymentNotFound(payment_id)
            if payment.status == domain.DECLINED:
                raise domain.NotRefundable(payment_id, payment.status)
            refunded_now = repo.mark_refunded(payment_id, self._clock())
            refunded = repo.get(payment_id)
            assert refunded is not None
            if refunded_now:
                self._events.refunded(conn, refunded)
                log.info("payment %s REFUNDED (%s)", payment_id, payment.amount)
        return refunded
