"""Checkout use cases: the CreateOrder saga, cancellation, reads."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from meshkit.cards import Card
from meshkit.db import Database, utcnow
from meshkit.errors import FailedPrecondition, NotFound, ServiceError
from meshkit.names import make_name, new_id
from svc_order import domain
from svc_order.ports import CAPTURED, RESERVED, Catalog, Directory, PaymentGateway
from svc_order.repository import OrderRepository

log = logging.getLogger(__name__)


class Checkout:
    """The orders service's use cases.

    CreateOrder is a saga: record the order PENDING (claiming the request_id),
    reserve stock, charge, then CONFIRMED, compensating what was done when a
    step fails. The PENDING row comes first so every side effect belongs to an
    order that a recovery can find.
    """

    def __init__(
        self,
        db: Database,
        catalog: Catalog,
        payments: PaymentGateway,
        directory: Directory,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self._db = db
        self._catalog = catalog
        self._payments = payments
        self._directory = directory
        self._clock = clock

    def get_order(self, order_id: str) -> domain.Order:
        with self._db.snapshot() as conn:
            order = OrderRepository(conn).get(order_id)
        if order is None:
            raise domain.OrderNotFound(order_id)
        return order

    def list_orders(
        self, user_id: str | None, before: int | None, limit: int
    ) -> tuple[list[domain.Order], int | None]:
        with self._db.snapshot() as conn:
            return OrderRepository(conn).page(user_id, before, limit)

    def place_order(
        self, request_id: str, user_id: str, lines: list[domain.OrderLine], card: Card
    ) -> domain.Order:
        fingerprint = domain.fingerprint(user_id, lines)
        replay = self._replay(request_id, fingerprint)
        if replay is not None:
            return replay
        self._directory.ensure_user(user_id)

        now = self._clock()
        order = domain.Order(
            id=new_id(),
            request_id=request_id,
            fingerprint=fingerprint,
            user_id=user_id,
            status=domain.PENDING,
            lines=lines,
            create_time=now,
            update_time=now,
        )
        with self._db.transaction() as conn:
            claimed = OrderRepository(conn).add(order)
        if not claimed:  # a concurrent request with this request_id got there first
            replay = self._replay(request_id, fingerprint)
            assert replay is not None
            return replay

        order = self._reserve(order)
        return self._charge(order, card)

    def _replay(self, request_id: str, fingerprint: str) -> domain.Order | None:
        with self._db.snapshot() as conn:
            existing = OrderRepository(conn).by_request_id(request_id)
        if existing is not None and existing.fingerprint != fingerprint:
            raise domain.RequestIdReused(request_id, existing.id)
        return existing

    def _reserve(self, order: domain.Order) -> domain.Order:
        """Takes the stock and prices the order, or forgets the order and re-raises."""
        try:
            reservation = self._catalog.reserve(order.reservation_id, order.lines)
        except (NotFound, FailedPrecondition):
            # The caller's mistake (unknown product, out of stock): a failed
            # reservation takes nothing, so the order leaves no trace and the
            # request_id stays free.
            self._forget(order)
            raise
        except ServiceError:
            # Unknown whether stock was taken (timeout, outage): give back
            # whatever was, then forget the order.
            self._release_quietly(order)
            self._forget(order)
            raise
        try:
            if reservation.state != RESERVED:
                raise FailedPrecondition(f"the stock reservation for orders/{order.id} was already released")
            priced = order.priced(reservation.lines)  # MixedCurrencies when the items disagree
        except FailedPrecondition:
            self._release_quietly(order)
            self._forget(order)
            raise
        with self._db.transaction() as conn:
            OrderRepository(conn).save_prices(priced, self._clock())
        return priced

    def _charge(self, order: domain.Order, card: Card) -> domain.Order:
        assert order.total is not None
        try:
            result = self._payments.charge(
                order.charge_request_id, make_name("orders", order.id), order.total, card
            )
        except ServiceError as exc:
            # The payment may or may not exist; keep the order (FAILED) as the
            # record of the attempt, and give the stock back.
            self._release_quietly(order)
            self._finish(order, domain.FAILED, failure_reason=f"payment_error: {exc.message}")
            raise
        if result.status == CAPTURED:
            return self._finish(order, domain.CONFIRMED, payment_id=result.payment_id)
        self._release_quietly(order)
        return self._finish(
            order,
            domain.FAILED,
            payment_id=result.payment_id,
            failure_reason=f"payment_declined: {result.decline_reason}",
        )

    def _finish(self, order: domain.Order, status: str, **changes: str) -> domain.Order:
        with self._db.transaction() as conn:
            repo = OrderRepository(conn)
            repo.transition(order.id, domain.PENDING, status, self._clock(), **changes)
            finished = repo.get(order.id)
        assert finished is not None
        log.info("orders/%s %s %s", order.id, finished.status, finished.failure_reason)
        return finished

    def _forget(self, order: domain.Order) -> None:
        with self._db.transaction() as conn:
            OrderRepository(conn).delete_pending(order.id)

    def _release_quietly(self, order: domain.Order) -> None:
        try:
            self._catalog.release(order.reservation_id)
        except ServiceError as exc:
            log.warning("could not release the stock of orders/%s: %s", order.id, exc.message)

    def cancel_order(self, order_id: str) -> domain.Order:
        """Refunds and releases a CONFIRMED order; every step is idempotent, so a retry is safe."""
        order = self.get_order(order_id)
        if order.status == domain.CANCELLED:
            return order
        if order.status != domain.CONFIRMED:
            raise domain.NotCancellable(order_id, order.status)
        self._payments.refund(order.payment_id)
        self._catalog.release(order.reservation_id)
        with self._db.transaction() as conn:
            repo = OrderRepository(conn)
            repo.transition(order_id, domain.CONFIRMED, domain.CANCELLED, self._clock())
            cancelled = repo.get(order_id)
        assert cancelled is not None
        log.info("orders/%s CANCELLED", order_id)
        return cancelled
