"""The growth phase (`python -m bench --growth`): a million orders deep, then CreateOrder and ListOrders again.

After the normal rows, 100,000 users and 1,000,000 CONFIRMED orders (with their items) are written straight into
the users and orders databases, in bulk (PostgreSQL: COPY; SQLite: batched INSERTs), with the services' own
tables and rules: ids from meshkit.names.new_id, the fingerprint of svc_order.domain, totals summed from the
products' prices, a payment id, and a request id unique per buyer (a fresh UUID, as the bench's clients send).
Among the buyers: one with 1,000 orders and one with 10, both able to log in; every other buyer has about 10,
and every buyer's orders are spread over the whole table (seq), as a store's history is.

The seeded users share one password hash (hashed once); only the two named buyers get their UserCreated in the
outbox (the notifications service hears of the buyers it will be told about; the others' orders are history,
announced long ago).
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
import sqlalchemy as sa
from shopmesh.order.v1 import order_service_pb2, order_service_pb2_grpc

from bench import seed
from bench.loadgen import GhzCall
from meshkit.db import Database, migrate
from meshkit.money import NANOS_PER_UNIT
from meshkit.names import new_id
from svc_order import domain
from svc_order import models as order_models
from svc_product import models as product_models
from svc_user import domain as user_domain
from svc_user import models as user_models
from svc_user.events import UserEvents
from svc_user.passwords import Passwords

ORDERS = 1_000_000
USERS = 100_000
HEAVY = 1000
"""Orders of the buyer whose first and last pages are measured."""
LIGHT = 10
"""Orders of the buyer measured against it."""
PAGE_SIZE = 50
CHUNK = 100_000
"""Orders per transaction while seeding."""
PRODUCTS = 1000
"""Products the seeded orders are drawn from (a sample spread over the catalog)."""
SPACING = dt.timedelta(seconds=30)
"""Between two seeded orders' create_time: a million orders over about a year."""
LEASE = dt.timedelta(seconds=20)
"""The lease a CONFIRMED order keeps from its checkout (svc_order's default saga lease)."""

ORDER = "shopmesh.order.v1.OrderService"
LIST_ROWS = ("list_orders_10", "list_orders_1000_first", "list_orders_1000_last")


def growth_email(index: int) -> str:
    return f"growth-{index}@example.com"


HEAVY_EMAIL = growth_email(0)
LIGHT_EMAIL = growth_email(1)


@dataclass(frozen=True)
class Product:
    id: str
    title: str
    currency: str
    price_nanos: int
    """units * 10^9 + nanos."""


@dataclass(frozen=True)
class Seeded:
    users: int
    orders: int
    items: int
    users_s: float
    orders_s: float
    heavy_user_id: str
    light_user_id: str

    @property
    def seconds(self) -> float:
        return self.users_s + self.orders_s

    def as_json(self) -> dict[str, Any]:
        return {
            "users": self.users,
            "orders": self.orders,
            "items": self.items,
            "users_s": round(self.users_s, 1),
            "orders_s": round(self.orders_s, 1),
        }


# -- seeding ---------------------------------------------------------------------------------------------------


def _copy_rows(db: Database, conn: sa.Connection, table: sa.Table, rows: Sequence[tuple[Any, ...]]) -> None:
    """Appends `rows` (tuples in the table's column order, minus any server-assigned `seq`) to `table`."""
    columns = [c.name for c in table.columns if c.name != "seq"]
    if db.is_sqlite:
        conn.execute(sa.insert(table), [dict(zip(columns, row, strict=True)) for row in rows])
        return
    raw: Any = conn.connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _vacuum_analyze(db: Database, *tables: str) -> None:
    """Fresh planner statistics and visibility map after a bulk load (autovacuum would get there later)."""
    if db.is_sqlite:
        with db.transaction() as conn:
            conn.execute(sa.text("ANALYZE"))
        return
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in tables:
            conn.execute(sa.text(f"VACUUM ANALYZE {table}"))


def seed_users(url: str, count: int, *, now: dt.datetime | None = None) -> list[str]:
    """`count` users (growth-0@example.com ...: 0 is the heavy buyer, 1 the light one) sharing one password
    hash; returns their ids, in that order."""
    if count < 2:
        raise ValueError("the growth phase needs at least 2 users")
    now = now or dt.datetime.now(dt.UTC)
    db = Database(url, application_name="bench-seed")
    try:
        migrate(db, user_models.metadata, user_models.MIGRATIONS)
        password_hash = Passwords().hash(seed.PASSWORD)
        ids = [new_id() for _ in range(count)]
        events = UserEvents()
        with db.transaction() as conn:
            _copy_rows(
                db,
                conn,
                user_models.users,
                [
                    (user_id, growth_email(i), f"Growth user {i}", password_hash, now, None, "")
                    for i, user_id in enumerate(ids)
                ],
            )
            for i in (0, 1):
                events.created(
                    conn, user_domain.User(ids[i], growth_email(i), f"Growth user {i}", password_hash, now)
                )
        _vacuum_analyze(db, "users")
        return ids
    finally:
        db.dispose()


def sample_products(url: str, count: int = PRODUCTS) -> list[Product]:
    """Up to `count` products spread over the catalog, with their titles and prices."""
    db = Database(url, application_name="bench-seed")
    try:
        table = product_models.products
        with db.snapshot() as conn:
            total = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            step = max(1, total // max(1, count))
            rows = conn.execute(
                sa.select(table.c.id, table.c.title, table.c.price_currency, table.c.price_units,
                          table.c.price_nanos)
                .where(table.c.seq % step == 0)
                .order_by(table.c.seq)
                .limit(count)
            ).all()  # fmt: skip
    finally:
        db.dispose()
    return [
        Product(r.id, r.title, r.price_currency, r.price_units * NANOS_PER_UNIT + r.price_nanos) for r in rows
    ]


def owners(orders: int, users: int, heavy: int, light: int) -> Iterator[int]:
    """The buyer (index into the users) of each order, oldest first: user 0 has `heavy` orders and user 1 `light`,
    each spread evenly over the sequence; the others take the rest in turn."""
    if users < 3 or heavy + light > orders:
        raise ValueError("need at least 3 users and more orders than the two named buyers have")
    special: dict[int, int] = {}
    for user, count in ((0, heavy), (1, light)):
        for j in range(count):
            position = (j * orders) // count + (orders // count) // 2
            while position in special:  # collisions only at a tiny scale
                position = (position + 1) % orders
            special[position] = user
    others = users - 2
    turn = 0
    for position in range(orders):
        if (named := special.get(position)) is not None:
            yield named
        else:
            yield 2 + turn % others
            turn += 1


def seed_orders(
    url: str,
    user_ids: Sequence[str],
    products: Sequence[Product],
    count: int,
    *,
    heavy: int = HEAVY,
    light: int = LIGHT,
    now: dt.datetime | None = None,
) -> tuple[int, int]:
    """`count` CONFIRMED orders with 1-3 items each over `user_ids` (see `owners`); returns (orders, items)."""
    if not products:
        raise ValueError("no products to order")
    now = now or dt.datetime.now(dt.UTC)
    db = Database(url, application_name="bench-seed")
    items_written = 0
    try:
        migrate(db, order_models.metadata, order_models.MIGRATIONS)
        buyers = owners(count, len(user_ids), heavy, light)
        for start in range(0, count, CHUNK):
            orders_rows: list[tuple[Any, ...]] = []
            items_rows: list[tuple[Any, ...]] = []
            for k in range(start, min(count, start + CHUNK)):
                user_id = user_ids[next(buyers)]
                order_id = new_id()
                picked = [products[(k + j) % len(products)] for j in range(min(1 + k % 3, len(products)))]
                quantities = [1 + (k + j) % 2 for j in range(len(picked))]
                lines = [domain.OrderLine(p.id, q) for p, q in zip(picked, quantities, strict=True)]
                total = sum(p.price_nanos * q for p, q in zip(picked, quantities, strict=True))
                created = now - SPACING * (count - k)
                orders_rows.append(
                    (
                        order_id, str(uuid.uuid4()), domain.fingerprint(user_id, lines), user_id,
                        domain.CONFIRMED, picked[0].currency, total // NANOS_PER_UNIT, total % NANOS_PER_UNIT,
                        new_id(), "", created, created + dt.timedelta(seconds=1), created + LEASE, False,
                    )
                )  # fmt: skip
                for p, q in zip(picked, quantities, strict=True):
                    items_rows.append(
                        (order_id, p.id, q, p.currency, p.price_nanos // NANOS_PER_UNIT,
                         p.price_nanos % NANOS_PER_UNIT, p.title)
                    )  # fmt: skip
            with db.transaction() as conn:
                _copy_rows(db, conn, order_models.orders, orders_rows)
                _copy_rows(db, conn, order_models.order_items, items_rows)
            items_written += len(items_rows)
        _vacuum_analyze(db, "orders", "order_items")
        return count, items_written
    finally:
        db.dispose()


def seed_growth(
    users_url: str, orders_url: str, products_url: str, *, orders: int = ORDERS, users: int = USERS
) -> Seeded:
    """The whole seeding of the growth phase."""
    started = time.monotonic()
    user_ids = seed_users(users_url, users)
    users_s = time.monotonic() - started
    started = time.monotonic()
    heavy, light = min(HEAVY, orders // 4), min(LIGHT, orders // 20 or 1)
    written, items = seed_orders(orders_url, user_ids, sample_products(products_url), orders, heavy=heavy,
                                 light=light)  # fmt: skip
    return Seeded(users, written, items, users_s, time.monotonic() - started, user_ids[0], user_ids[1])


# -- the rows ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GrowthPlan:
    heavy_token: str
    light_token: str
    last_page_token: str
    page_size: int = PAGE_SIZE


def last_page_token(gateway: str, token: str, page_size: int = PAGE_SIZE) -> tuple[str, int]:
    """Pages through the caller's orders once with the real API: (the last page's page_token, pages)."""
    metadata = (("authorization", f"Bearer {token}"),)
    page_token, pages = "", 0
    with grpc.insecure_channel(gateway) as channel:
        stub: Any = order_service_pb2_grpc.OrderServiceStub(channel)
        while True:
            reply = stub.ListOrders(
                order_service_pb2.ListOrdersRequest(page_size=page_size, page_token=page_token),
                metadata=metadata,
                timeout=30,
            )
            pages += 1
            if not reply.next_page_token:
                return page_token, pages
            page_token = reply.next_page_token


def list_call(name: str, gateway: str, plan: GrowthPlan) -> GhzCall:
    """ListOrders rows: the light buyer's page 1, the heavy buyer's first and last pages, with their tokens."""
    if name == "list_orders_10":
        token, page_token = plan.light_token, ""
    elif name == "list_orders_1000_first":
        token, page_token = plan.heavy_token, ""
    elif name == "list_orders_1000_last":
        token, page_token = plan.heavy_token, plan.last_page_token
    else:
        raise ValueError(f"unknown growth row {name!r}")
    request: dict[str, Any] = {"page_size": plan.page_size}
    if page_token:
        request["page_token"] = page_token
    return GhzCall(gateway, f"{ORDER}.ListOrders", [request], metadata={"authorization": f"Bearer {token}"})
