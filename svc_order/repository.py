"""Queries of the orders database, returning domain objects."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from meshkit.db import insert_if_absent
from meshkit.money import Money
from svc_order import domain
from svc_order.models import order_items, orders


def _money(currency: str | None, units: int | None, nanos: int | None) -> Money | None:
    return Money.of(currency, units or 0, nanos or 0) if currency else None


def _money_columns(prefix: str, value: Money | None) -> dict[str, Any]:
    if value is None:
        return {f"{prefix}_currency": None, f"{prefix}_units": None, f"{prefix}_nanos": None}
    return {
        f"{prefix}_currency": value.currency,
        f"{prefix}_units": value.units,
        f"{prefix}_nanos": value.nanos,
    }


# The checkout's statements, built once with named parameters: SQLAlchemy reuses their compiled SQL instead of
# building and cache-keying each statement on every call (most of an order's Python time in SQL otherwise).
# Parameters are named b_* where a SET column has the same name.
_BY_ID = sa.select(orders).where(orders.c.id == sa.bindparam("b_id"))
_BY_REQUEST = sa.select(orders).where(
    orders.c.user_id == sa.bindparam("b_user_id"), orders.c.request_id == sa.bindparam("b_request_id")
)
_ITEMS_OF = (
    sa.select(order_items)
    .where(order_items.c.order_id.in_(sa.bindparam("b_ids", expanding=True)))
    .order_by(order_items.c.order_id, order_items.c.product_id)
)
_SET_ORDER = sa.update(orders).where(orders.c.id == sa.bindparam("b_id"))
_SET_ITEM = sa.update(order_items).where(
    order_items.c.order_id == sa.bindparam("b_order_id"),
    order_items.c.product_id == sa.bindparam("b_product_id"),
)
# RETURNING the moved row: the saga's last step needs the order as it now is, which a re-read after the UPDATE
# (the order, then its lines) cost two more statements inside the transaction.
_TRANSITION = _SET_ORDER.where(orders.c.status == sa.bindparam("b_from")).returning(*orders.c)


class OrderRepository:
    """Orders, inside one transaction (`conn`)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, order: domain.Order) -> bool:
        """Inserts the order and its lines; False when its buyer used its request_id before."""
        inserted = insert_if_absent(
            self.conn,
            orders,
            {
                "id": order.id,
                "request_id": order.request_id,
                "fingerprint": order.fingerprint,
                "user_id": order.user_id,
                "status": order.status,
                **_money_columns("total", order.total),
                "payment_id": order.payment_id,
                "failure_reason": order.failure_reason,
                "create_time": order.create_time,
                "update_time": order.update_time,
                "lease_until": order.lease_until,
                "cancel_requested": order.cancel_requested,
            },
        )
        if inserted:
            self.conn.execute(
                sa.insert(order_items),
                [
                    {
                        "order_id": order.id,
                        "product_id": line.product_id,
                        "quantity": line.quantity,
                        **_money_columns("unit", line.unit_price),
                        "title": line.title,
                    }
                    for line in order.lines
                ],
            )
        return inserted

    def get(self, order_id: str) -> domain.Order | None:
        row = self.conn.execute(_BY_ID, {"b_id": order_id}).first()
        return self._load([row])[0] if row else None

    def by_request_id(self, user_id: str, request_id: str) -> domain.Order | None:
        """The buyer's order placed with this request_id (another buyer's with the same id is not it)."""
        row = self.conn.execute(_BY_REQUEST, {"b_user_id": user_id, "b_request_id": request_id}).first()
        return self._load([row])[0] if row else None

    def page(
        self, user_id: str | None, before_seq: int | None, limit: int
    ) -> tuple[list[domain.Order], int | None]:
        """Newest first: up to `limit` orders older than keyset position `before_seq`."""
        query = sa.select(orders).order_by(orders.c.seq.desc()).limit(limit + 1)
        if user_id is not None:
            query = query.where(orders.c.user_id == user_id)
        if before_seq is not None:
            query = query.where(orders.c.seq < before_seq)
        rows = self.conn.execute(query).all()
        next_seq = rows[limit - 1].seq if len(rows) > limit else None
        return self._load(rows[:limit]), next_seq

    def _load(self, rows: Sequence[Any]) -> list[domain.Order]:
        lines: dict[str, list[domain.OrderLine]] = defaultdict(list)
        if rows:
            items = self.conn.execute(_ITEMS_OF, {"b_ids": [r.id for r in rows]})
            for item in items:
                lines[item.order_id].append(
                    domain.OrderLine(
                        product_id=item.product_id,
                        quantity=item.quantity,
                        unit_price=_money(item.unit_currency, item.unit_units, item.unit_nanos),
                        title=item.title,
                    )
                )
        return [_order(r, lines[r.id]) for r in rows]

    def save_prices(self, order: domain.Order, now: dt.datetime) -> None:
        self.conn.execute(
            _SET_ORDER, {"b_id": order.id, **_money_columns("total", order.total), "update_time": now}
        )
        if not order.lines:
            return
        self.conn.execute(
            _SET_ITEM,
            [
                {
                    "b_order_id": order.id,
                    "b_product_id": line.product_id,
                    **_money_columns("unit", line.unit_price),
                    "title": line.title,
                }
                for line in order.lines
            ],
        )

    def transition(
        self,
        order: domain.Order,
        from_status: str,
        to_status: str,
        now: dt.datetime,
        *,
        payment_id: str | None = None,
        failure_reason: str | None = None,
    ) -> domain.Order | None:
        """Moves the order from one status to another and returns it as it now is; None when it was not in
        `from_status`. A priced `order`'s lines are the stored ones (prices are saved with the total, from a
        reservation that always answers the same), so only an unpriced one has its lines read again."""
        values: dict[str, Any] = {"status": to_status, "update_time": now}
        if payment_id is not None:
            values["payment_id"] = payment_id
        if failure_reason is not None:
            values["failure_reason"] = failure_reason
        row = self.conn.execute(_TRANSITION, {"b_id": order.id, "b_from": from_status, **values}).first()
        if row is None:
            return None
        if order.total is None:
            return self._load([row])[0]
        # In the order _ITEMS_OF reads them, so the answer is the same as a read of the order.
        return _order(row, sorted(order.lines, key=lambda line: line.product_id))

    def lease(self, order_id: str, until: dt.datetime, *, only_if_expired: dt.datetime | None = None) -> bool:
        """Takes the order's lease; with `only_if_expired`, only when it ran out before that moment."""
        query = sa.update(orders).where(orders.c.id == order_id)
        if only_if_expired is not None:
            query = query.where(
                sa.or_(orders.c.lease_until.is_(None), orders.c.lease_until < only_if_expired)
            )
        return bool(self.conn.execute(query.values(lease_until=until)).rowcount == 1)

    def request_cancel(self, order_id: str, lease_until: dt.datetime) -> bool:
        result = self.conn.execute(
            sa.update(orders)
            .where(orders.c.id == order_id, orders.c.status == domain.CONFIRMED)
            .values(cancel_requested=True, lease_until=lease_until)
        )
        return bool(result.rowcount == 1)

    def stranded(self, now: dt.datetime, limit: int) -> list[str]:
        """Orders whose saga or cancellation stopped midway and whose lease ran out."""
        query = (
            sa.select(orders.c.id)
            .where(
                # models.UNSETTLED, with its constants inline, so the planner matches the partial index
                # orders_unsettled (a bound parameter in their place would not prove the index's condition).
                sa.or_(
                    orders.c.status == sa.literal_column(f"'{domain.PENDING}'"),
                    sa.and_(
                        orders.c.status == sa.literal_column(f"'{domain.CONFIRMED}'"),
                        orders.c.cancel_requested.is_(True),
                    ),
                ),
                sa.or_(orders.c.lease_until.is_(None), orders.c.lease_until < now),
            )
            .order_by(orders.c.seq)
            .limit(limit)
        )
        return list(self.conn.execute(query).scalars())

    def delete_pending(self, order_id: str) -> None:
        """Forgets a PENDING order whose request was rejected, so it leaves no trace."""
        self.conn.execute(sa.delete(order_items).where(order_items.c.order_id == order_id))
        self.conn.execute(sa.delete(orders).where(orders.c.id == order_id, orders.c.status == domain.PENDING))


def _order(r: Any, lines: list[domain.OrderLine]) -> domain.Order:
    return domain.Order(
        id=r.id,
        request_id=r.request_id,
        fingerprint=r.fingerprint,
        user_id=r.user_id,
        status=r.status,
        lines=lines,
        total=_money(r.total_currency, r.total_units, r.total_nanos),
        payment_id=r.payment_id,
        failure_reason=r.failure_reason,
        create_time=r.create_time,
        update_time=r.update_time,
        lease_until=r.lease_until,
        cancel_requested=bool(r.cancel_requested),
    )
