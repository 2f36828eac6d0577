"""Queries of the products database, returning domain objects."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from meshkit import create_once
from meshkit.db import insert_if_absent
from meshkit.money import Money
from svc_product import domain
from svc_product.models import products, reservation_items, reservations


def _product(row: Any) -> domain.Product:
    return domain.Product(
        id=row.id,
        sku=row.sku,
        title=row.title,
        description=row.description,
        price=Money.of(row.price_currency, row.price_units, row.price_nanos),
        stock=row.stock,
        create_time=row.create_time,
        update_time=row.update_time,
        create_request_id=row.create_request_id or "",
    )


# The hot reads, built once: SQLAlchemy then reuses their compiled SQL without rebuilding and re-keying the
# statement on every call (a third of a GetProduct's database time in Python).
_BY_ID = sa.select(products).where(products.c.id == sa.bindparam("id"))
_FIRST_PAGE = sa.select(products).order_by(products.c.seq).limit(sa.bindparam("limit"))
_NEXT_PAGE = (
    sa.select(products)
    .where(products.c.seq > sa.bindparam("after"))
    .order_by(products.c.seq)
    .limit(sa.bindparam("limit"))
)
_BY_REQUEST_ID = create_once.by_request_id(products)


_TAKE_STOCK = (
    sa.update(products)
    .where(products.c.id == sa.bindparam("b_id"), products.c.stock >= sa.bindparam("b_quantity"))
    .values(stock=products.c.stock - sa.bindparam("b_quantity"), update_time=sa.bindparam("b_now"))
    .returning(*products.c)
)
_GIVE_BACK = (
    sa.update(products)
    .where(products.c.id == sa.bindparam("b_id"))
    .values(stock=products.c.stock + sa.bindparam("b_quantity"), update_time=sa.bindparam("b_now"))
    .returning(*products.c)
)
_ADD_RESERVATION_LINE = sa.insert(reservation_items)


def _price_columns(price: Money) -> dict[str, Any]:
    return {"price_currency": price.currency, "price_units": price.units, "price_nanos": price.nanos}


class ProductRepository:
    """Products and reservations, inside one transaction (`conn`)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, product: domain.Product) -> bool:
        """Inserts the product; False when its sku is taken."""
        return insert_if_absent(
            self.conn,
            products,
            {
                "id": product.id,
                "sku": product.sku,
                "title": product.title,
                "description": product.description,
                **_price_columns(product.price),
                "stock": product.stock,
                "create_time": product.create_time,
                "update_time": product.update_time,
                "create_request_id": product.create_request_id or None,
            },
        )

    def get(self, product_id: str, *, for_update: bool = False) -> domain.Product | None:
        query = _BY_ID.with_for_update() if for_update else _BY_ID
        row = self.conn.execute(query, {"id": product_id}).first()
        return _product(row) if row else None

    def by_request_id(self, request_id: str) -> domain.Product | None:
        row = self.conn.execute(_BY_REQUEST_ID, {"request_id": request_id}).first()
        return _product(row) if row else None

    def page(self, after_seq: int | None, limit: int) -> tuple[list[domain.Product], int | None]:
        """Up to `limit` products after keyset position `after_seq`, and the next position."""
        if after_seq is None:
            rows = self.conn.execute(_FIRST_PAGE, {"limit": limit + 1}).all()
        else:
            rows = self.conn.execute(_NEXT_PAGE, {"limit": limit + 1, "after": after_seq}).all()
        next_seq = rows[limit - 1].seq if len(rows) > limit else None
        return [_product(r) for r in rows[:limit]], next_seq

    def update(self, product_id: str, fields: domain.ProductFields, now: dt.datetime) -> None:
        values: dict[str, Any] = {"update_time": now}
        if fields.title is not None:
            values["title"] = fields.title
        if fields.description is not None:
            values["description"] = fields.description
        if fields.price is not None:
            values.update(_price_columns(fields.price))
        if fields.stock is not None:
            values["stock"] = fields.stock
        self.conn.execute(sa.update(products).where(products.c.id == product_id).values(values))

    def take_stock(self, product_id: str, quantity: int, now: dt.datetime) -> domain.Product | None:
        """Decrements stock if enough is left, atomically; None when not (or no such product)."""
        row = self.conn.execute(
            _TAKE_STOCK, {"b_id": product_id, "b_quantity": quantity, "b_now": now}
        ).first()
        return _product(row) if row else None

    def give_back_stock(self, product_id: str, quantity: int, now: dt.datetime) -> domain.Product | None:
        """Adds stock back; the product after it (None if it is gone)."""
        row = self.conn.execute(
            _GIVE_BACK, {"b_id": product_id, "b_quantity": quantity, "b_now": now}
        ).first()
        return _product(row) if row else None

    def add_reservation(self, reservation_id: str, state: str, now: dt.datetime) -> bool:
        """Claims the idempotency key; False when it was claimed before."""
        return insert_if_absent(
            self.conn,
            reservations,
            {"id": reservation_id, "state": state, "create_time": now, "update_time": now},
        )

    def add_reservation_line(self, reservation_id: str, line: domain.ReservationLine) -> None:
        assert line.unit_price is not None
        self.conn.execute(
            _ADD_RESERVATION_LINE,
            {
                "reservation_id": reservation_id,
                "product_id": line.product_id,
                "quantity": line.quantity,
                "unit_currency": line.unit_price.currency,
                "unit_units": line.unit_price.units,
                "unit_nanos": line.unit_price.nanos,
                "title": line.title,
            },
        )

    def get_reservation(self, reservation_id: str) -> domain.Reservation | None:
        row = self.conn.execute(sa.select(reservations).where(reservations.c.id == reservation_id)).first()
        if row is None:
            return None
        lines = [
            domain.ReservationLine(
                product_id=r.product_id,
                quantity=r.quantity,
                unit_price=Money.of(r.unit_currency, r.unit_units, r.unit_nanos),
                title=r.title,
            )
            for r in self.conn.execute(
                sa.select(reservation_items)
                .where(reservation_items.c.reservation_id == reservation_id)
                .order_by(reservation_items.c.product_id)
            )
        ]
        return domain.Reservation(id=row.id, state=row.state, lines=lines, create_time=row.create_time)

    def mark_released(self, reservation_id: str, now: dt.datetime) -> bool:
        """RESERVED -> RELEASED; False when it was not RESERVED (so stock is given back once)."""
        result = self.conn.execute(
            sa.update(reservations)
            .where(reservations.c.id == reservation_id, reservations.c.state == domain.RESERVED)
            .values(state=domain.RELEASED, update_time=now)
        )
        return bool(result.rowcount == 1)
