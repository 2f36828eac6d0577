"""Queries of the payments database, returning domain objects."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from meshkit.db import insert_if_absent
from meshkit.money import Money
from svc_payment import domain
from svc_payment.models import charge_keys, payments


def _payment(row: Any) -> domain.Payment:
    return domain.Payment(
        id=row.id,
        request_id=row.request_id,
        order=row.order_name,
        amount=Money.of(row.currency, row.units, row.nanos),
        status=row.status,
        card_last4=row.card_last4,
        decline_reason=row.decline_reason,
        create_time=row.create_time,
        update_time=row.update_time,
        user_id=row.user_id,
    )


class PaymentRepository:
    """Payments, inside one transaction (`conn`)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, payment: domain.Payment) -> bool:
        """Inserts the payment; False when its request_id was used before."""
        return insert_if_absent(
            self.conn,
            payments,
            {
                "id": payment.id,
                "request_id": payment.request_id,
                "order_name": payment.order,
                "currency": payment.amount.currency,
                "units": payment.amount.units,
                "nanos": payment.amount.nanos,
                "status": payment.status,
                "card_last4": payment.card_last4,
                "decline_reason": payment.decline_reason,
                "create_time": payment.create_time,
                "update_time": payment.update_time,
                "user_id": payment.user_id,
            },
        )

    def claim_key(self, request_id: str, state: str, now: dt.datetime) -> bool:
        """Records the key as CLAIMED or VOIDED; False when it was recorded before."""
        return insert_if_absent(
            self.conn, charge_keys, {"request_id": request_id, "state": state, "create_time": now}
        )

    def key_state(self, request_id: str) -> str | None:
        return self.conn.execute(
            sa.select(charge_keys.c.state).where(charge_keys.c.request_id == request_id)
        ).scalar_one_or_none()

    def get(self, payment_id: str) -> domain.Payment | None:
        row = self.conn.execute(sa.select(payments).where(payments.c.id == payment_id)).first()
        return _payment(row) if row else None

    def by_request_id(self, request_id: str) -> domain.Payment | None:
        row = self.conn.execute(sa.select(payments).where(payments.c.request_id == request_id)).first()
        return _payment(row) if row else None

    def mark_refunded(self, payment_id: str, now: dt.datetime) -> bool:
        """CAPTURED -> REFUNDED; False when it was not CAPTURED (so money goes back once)."""
        result = self.conn.execute(
            sa.update(payments)
            .where(payments.c.id == payment_id, payments.c.status == domain.CAPTURED)
            .values(status=domain.REFUNDED, update_time=now)
        )
        return bool(result.rowcount == 1)
