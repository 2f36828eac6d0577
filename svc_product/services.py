"""Catalog use cases: each runs in one database transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from meshkit.create_once import CreateOnce
from meshkit.db import Database, utcnow
from meshkit.names import new_id
from svc_product import domain
from svc_product.events import Change, ProductEvents
from svc_product.repository import ProductRepository


class Catalog:
    """The products service's use cases."""

    def __init__(
        self, db: Database, clock: Callable[[], dt.datetime] = utcnow, events: ProductEvents | None = None
    ) -> None:
        self._db = db
        self._clock = clock
        self._events = events or ProductEvents()
        self._creates = CreateOnce(
            db, lambda conn, key: ProductRepository(conn).by_request_id(key), domain.REQUEST_ID_USED_FOR
        )

    def create_product(self, sku: str, fields: domain.ProductFields, request_id: str = "") -> domain.Product:
        """Creates the product once per request_id; a replay (the same sku) returns it."""
        assert fields.title is not None and fields.price is not None
        title, price = fields.title, fields.price

        def build() -> domain.Product:
            now = self._clock()
            return domain.Product(
                id=new_id(),
                sku=sku,
                title=title,
                description=fields.description or "",
                price=price,
                stock=fields.stock or 0,
                create_time=now,
                update_time=now,
                create_request_id=request_id,
            )

        return self._creates.create(
            request_id,
            is_replay=lambda existing: existing.sku == sku,
            build=build,
            add=lambda conn, product: ProductRepository(conn).add(product),
            announce=lambda conn, product: self._events.changed(conn, product, Change.CREATED),
            taken=lambda: domain.SkuTaken(sku),
        )

    def get_product(self, product_id: str) -> domain.Product:
        with self._db.read() as conn:
            product = ProductRepository(conn).get(product_id)
        if product is None:
            raise domain.ProductNotFound(product_id)
        return product

    def list_products(self, after: int | None, limit: int) -> tuple[list[domain.Product], int | None]:
        with self._db.read() as conn:
            return ProductRepository(conn).page(after, limit)

    def update_product(self, product_id: str, fields: domain.ProductFields) -> domain.Product:
        with self._db.transaction() as conn:
            repo = ProductRepository(conn)
            # The row lock orders this update with concurrent reservations.
            if repo.get(product_id, for_update=True) is None:
                raise domain.ProductNotFound(product_id)
            repo.update(product_id, fields, self._clock())
            updated = repo.get(product_id)
            assert updated is not None
            self._events.changed(conn, updated, Change.UPDATED)
        return updated

    def reserve_stock(self, reservation_id: str, lines: list[domain.ReservationLine]) -> domain.Reservation:
        """Takes stock for all lines or none; a replay returns the first reservation."""
        now = self._clock()
        with self._db.transaction() as conn:
            repo = ProductRepository(conn)
            if not repo.add_reservation(reservation_id, domain.RESERVED, now):
                existing = repo.get_reservation(reservation_id)
                assert existing is not None
                # A released tombstone (no lines) stays released: the caller gave up on it.
                if existing.lines and not domain.same_lines(existing.lines, lines):
                    raise domain.ReservationIdReused(reservation_id)
                return existing
            taken = []
            # A fixed lock order keeps two multi-item reservations from deadlocking.
            for line in sorted(lines, key=lambda x: x.product_id):
                product = repo.take_stock(line.product_id, line.quantity, now)
                if product is None:
                    current = repo.get(line.product_id)
                    if current is None:
                        raise domain.ProductNotFound(line.product_id)
                    raise domain.InsufficientStock(line.product_id, line.quantity, current.stock)
                priced = domain.ReservationLine(line.product_id, line.quantity, product.price, product.title)
                repo.add_reservation_line(reservation_id, priced)
                self._events.changed(conn, product, Change.STOCK)
                taken.append(priced)
        return domain.Reservation(reservation_id, domain.RESERVED, taken, now)

    def release_stock(self, reservation_id: str) -> domain.Reservation:
        """Gives the stock back once; unknown ids are recorded as released and empty."""
        now = self._clock()
        with self._db.transaction() as conn:
            repo = ProductRepository(conn)
            if repo.add_reservation(reservation_id, domain.RELEASED, now):
                return domain.Reservation(reservation_id, domain.RELEASED, [], now)
            if repo.mark_released(reservation_id, now):
                existing = repo.get_reservation(reservation_id)
                assert existing is not None
                for line in existing.lines:
                    product = repo.give_back_stock(line.product_id, line.quantity, now)
                    if product is not None:
                        self._events.changed(conn, product, Change.STOCK)
            released = repo.get_reservation(reservation_id)
        assert released is not None
        return released
