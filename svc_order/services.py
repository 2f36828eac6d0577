"""Checkout use cases: the CreateOrder saga, cancellation, recovery, reads."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from meshkit.cards import Card
from meshkit.db import Database, utcnow
from meshkit.errors import FailedPrecondition, NotFound, ServiceError, Unavailable
from meshkit.identity import Identity
from meshkit.names import make_name, new_id
from svc_order import domain
from svc_order.events import OrderEvents
from svc_order.ports import CAPTURED, DECLINED, RESERVED, Catalog, Directory, PaymentGateway
from svc_order.repository import OrderRepository

log = logging.getLogger(__name__)


CLAIM_ATTEMPTS = 3
"""Times a CreateOrder tries to claim its request_id while another attempt with it comes and goes."""


class Checkout:
    """The orders service's use cases.

    CreateOrder is a saga: record the order PENDING (claiming the request_id),
    reserve stock (all items or none), charge (idempotency key derived from the
    order), then CONFIRMED. Every step is idempotent, so the same steps can be
    driven again by a replay of the request (Envoy's retry after a replica
    died, or the client's) or by the recovery sweeper once the order's lease
    ran out; status changes are conditional, so concurrent drivers agree.

    Failures: the caller's mistakes (unknown product, out of stock) leave no
    trace; a declined card gives a FAILED order with its stock released; an
    outage (products or payments unreachable, a timeout) is answered with
    UNAVAILABLE after settling: the charge is voided or found, stock released,
    and the order forgotten when nothing was charged, so a retry with the same
    request_id starts afresh. What cannot be settled at once stays PENDING
    until the sweeper can.
    """

    def __init__(
        self,
        db: Database,
        catalog: Catalog,
        payments: PaymentGateway,
        directory: Directory,
        *,
        lease: float = 20.0,
        clock: Callable[[], dt.datetime] = utcnow,
        events: OrderEvents | None = None,
    ) -> None:
        self._db = db
        self._catalog = catalog
        self._payments = payments
        self._directory = directory
        self._lease = dt.timedelta(seconds=lease)
        self._clock = clock
        self._events = events or OrderEvents()

    # -- reads --------------------------------------------------------------

    def get_order(self, order_id: str, caller: Identity) -> domain.Order:
        """The order, for its buyer, admins and services; NOT_FOUND for anyone else (no leak)."""
        order = self._load(order_id)
        if not caller.may_see(order.user_id):
            raise domain.OrderNotFound(order_id)
        return order

    def _load(self, order_id: str) -> domain.Order:
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

    # -- CreateOrder --------------------------------------------------------

    def place_order(
        self, request_id: str, user_id: str, lines: list[domain.OrderLine], card: Card
    ) -> domain.Order:
        fingerprint = domain.fingerprint(user_id, lines)
        try:
            self._directory.ensure_user(user_id)
        except ServiceError:
            # A replay of an order already placed needs no answer from the users service (out of reach, or no
            # longer knowing the user): the orders database has it.
            existing = self._by_request(request_id, fingerprint, user_id)
            if existing is None:
                raise
            return self._resume(existing, card)

        # Insert first: the unique (buyer, request_id) settles a replay (and a race between two) in the same statement,
        # so a new order, the common case, costs no look-up beforehand.
        for _ in range(CLAIM_ATTEMPTS):
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
                lease_until=now + self._lease,
            )
            with self._db.transaction() as conn:
                claimed = OrderRepository(conn).add(order)
            if claimed:
                return self._drive(order, card, first=True)
            # A replay, or a concurrent request of this buyer with this request_id got there first.
            existing = self._by_request(request_id, fingerprint, user_id)
            if existing is not None:
                return self._resume(existing, card)
            # That attempt failed on the caller's mistake and was forgotten meanwhile: claim the id again.
        raise Unavailable(
            "the order could not be placed: its request_id is contended; retry", reason="CONTENDED"
        )

    def _by_request(self, request_id: str, fingerprint: str, user_id: str) -> domain.Order | None:
        """The buyer's order with this request_id: a replay, or a reuse for something else (ALREADY_EXISTS)."""
        with self._db.snapshot() as conn:
            existing = OrderRepository(conn).by_request_id(user_id, request_id)
        if existing is not None and existing.fingerprint != fingerprint:
            raise domain.RequestIdReused(request_id, existing.id)
        return existing

    def _resume(self, order: domain.Order, card: Card) -> domain.Order:
        """A replay: the first result if there is one, else drive the same saga again."""
        if order.status != domain.PENDING:
            return order
        with self._db.transaction() as conn:
            OrderRepository(conn).lease(order.id, self._clock() + self._lease)
        return self._drive(order, card, first=False)

    def _drive(self, order: domain.Order, card: Card, *, first: bool) -> domain.Order:
        try:
            reservation = self._catalog.reserve(order.reservation_id, order.lines)
        except (NotFound, FailedPrecondition):
            # The caller's mistake (unknown product, out of stock). A failed
            # reservation takes nothing and nothing was charged (that comes
            # after), so the order leaves no trace and the request_id is free.
            self._forget(order)
            raise
        except ServiceError as exc:
            return self._settle_or_raise(order, exc)
        if reservation.state != RESERVED:
            # An earlier driver gave up on this order and released its stock.
            settled = self._settle(order)
            if settled is not None:
                return settled
            if first:
                raise Unavailable("the order could not be completed; retry", reason="ORDER_ABANDONED")
            return self.place_order(order.request_id, order.user_id, order.lines, card)
        try:
            priced = order.priced(reservation.lines)
        except FailedPrecondition:  # mixed currencies: the caller's mistake too
            self._catalog.release(order.reservation_id)
            self._forget(order)
            raise
        with self._db.transaction() as conn:
            OrderRepository(conn).save_prices(priced, self._clock())

        assert priced.total is not None
        try:
            result = self._payments.charge(
                priced.charge_request_id, make_name("orders", priced.id), priced.total, card, priced.user_id
            )
        except ServiceError as exc:
            return self._settle_or_raise(priced, exc)
        if result.status == CAPTURED:
            return self._finish(priced, domain.CONFIRMED, payment_id=result.payment_id)
        self._catalog.release(priced.reservation_id)
        return self._finish(
            priced,
            domain.FAILED,
            payment_id=result.payment_id,
            failure_reason=f"payment_declined: {result.decline_reason}",
        )

    def _settle_or_raise(self, order: domain.Order, cause: ServiceError) -> domain.Order:
        """After a failure mid-saga (an outage, a timeout): the settled order if it completed, else the error."""
        try:
            settled = self._settle(order)
        except ServiceError as exc:
            # Payments cannot tell whether it charged. Give the stock back now
            # (a capture found later is refunded); the sweeper settles the rest.
            log.warning("orders/%s stays PENDING until it can be settled: %s", order.id, exc.message)
            self._release_quietly(order)
            raise cause from exc
        if settled is not None and settled.status == domain.CONFIRMED:
            return settled  # the charge went through after all
        raise cause

    def _settle(self, order: domain.Order) -> domain.Order | None:
        """Drives a PENDING order whose saga stopped to a final state, compensating.

        Returns the final order, or None when nothing was charged and the
        order was forgotten. Raises ServiceError when a service needed for it
        is unreachable; the order then stays PENDING.
        """
        charge = self._payments.void_charge(order.charge_request_id)
        if charge is None:  # nothing was charged, and now nothing can be
            self._catalog.release(order.reservation_id)
            self._forget(order)
            log.info("orders/%s settled: nothing charged, forgotten", order.id)
            return None
        if charge.status == CAPTURED:
            reservation = self._catalog.reserve(order.reservation_id, order.lines)
            if reservation.state == RESERVED:
                return self._finish(order, domain.CONFIRMED, payment_id=charge.payment_id)
            self._payments.refund(charge.payment_id)
            return self._finish(
                order,
                domain.FAILED,
                payment_id=charge.payment_id,
                failure_reason="unavailable: the checkout was interrupted; the payment was refunded",
            )
        self._catalog.release(order.reservation_id)
        reason = (
            f"payment_declined: {charge.decline_reason}" if charge.status == DECLINED else "payment_refunded"
        )
        return self._finish(order, domain.FAILED, payment_id=charge.payment_id, failure_reason=reason)

    def _finish(self, order: domain.Order, status: str, **changes: str) -> domain.Order:
        with self._db.transaction() as conn:
            repo = OrderRepository(conn)
            moved = repo.transition(order, domain.PENDING, status, self._clock(), **changes)
            # Announced by the driver that finished it, never by a concurrent one that came second (which reads
            # what the first left).
            if moved is not None:
                self._events.finished(conn, moved)
            finished = moved or repo.get(order.id)
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

    # -- CancelOrder --------------------------------------------------------

    def cancel_order(self, order_id: str, caller: Identity) -> domain.Order:
        """Refunds and releases a CONFIRMED order. Recorded first, so a crash midway is finished later."""
        order = self.get_order(order_id, caller)
        if order.status == domain.CANCELLED:
            return order
        if order.status != domain.CONFIRMED:
            raise domain.NotCancellable(order_id, order.status)
        with self._db.transaction() as conn:
            OrderRepository(conn).request_cancel(order_id, self._clock() + self._lease)
        return self._complete_cancel(order)

    def _complete_cancel(self, order: domain.Order) -> domain.Order:
        self._payments.refund(order.payment_id)
        self._catalog.release(order.reservation_id)
        with self._db.transaction() as conn:
            repo = OrderRepository(conn)
            moved = repo.transition(order, domain.CONFIRMED, domain.CANCELLED, self._clock())
            if moved is not None:
                self._events.cancelled(conn, moved)
            cancelled = moved or repo.get(order.id)
            assert cancelled is not None
        log.info("orders/%s CANCELLED", order.id)
        return cancelled

    # -- recovery -----------------------------------------------------------

    def recover_stranded(self, limit: int = 20) -> int:
        """Takes over orders whose saga or cancellation stopped and whose lease ran out.

        Returns how many were driven to a final state. Safe to run in every
        replica at once: each order is claimed by renewing its expired lease.
        """
        now = self._clock()
        with self._db.snapshot() as conn:
            candidates = OrderRepository(conn).stranded(now, limit)
        done = 0
        for order_id in candidates:
            with self._db.transaction() as conn:
                repo = OrderRepository(conn)
                if not repo.lease(order_id, now + self._lease, only_if_expired=now):
                    continue  # another replica took it
                order = repo.get(order_id)
            if order is None:
                continue
            try:
                if order.status == domain.PENDING:
                    self._settle(order)
                elif order.cancel_requested and order.status == domain.CONFIRMED:
                    self._complete_cancel(order)
                done += 1
            except ServiceError as exc:
                log.warning("recovery of orders/%s postponed: %s", order_id, exc.message)
        return done
