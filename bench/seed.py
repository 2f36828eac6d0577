"""Seeding the benchmark's databases through the services' own schema (models, migrations), in bulk.

100,000 products through the API would take longer than the benchmark; rows written with the services' table
definitions are the same rows CreateProduct writes.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from meshkit import paging
from meshkit.db import Database, migrate
from meshkit.names import new_id
from svc_product import models as product_models
from svc_user import domain as user_domain
from svc_user import models as user_models
from svc_user.events import UserEvents
from svc_user.passwords import Passwords

BATCH = 10_000
PASSWORD = "bench password 1"


def user_email(index: int) -> str:
    return f"bench-{index}@example.com"


def _analyze(db: Database, table: str) -> None:
    """Fresh planner statistics after a bulk load (autovacuum would get there later)."""
    if not db.is_sqlite:
        with db.transaction() as conn:
            conn.execute(sa.text(f"ANALYZE {table}"))


def seed_products(url: str, count: int, *, stock: int) -> None:
    """`count` products (sku BENCH-000000...), each with `stock` units, into a fresh products database."""
    db = Database(url, application_name="bench-seed")
    try:
        migrate(db, product_models.metadata, product_models.MIGRATIONS)
        now = dt.datetime.now(dt.UTC)
        table = product_models.products
        with db.transaction() as conn:
            for start in range(0, count, BATCH):
                rows = [
                    {
                        "id": new_id(),
                        "sku": f"BENCH-{i:06d}",
                        "title": f"Benchmark product {i}",
                        "description": "A product of the benchmark's catalog.",
                        "price_currency": "USD",
                        "price_units": 1 + i % 100,
                        "price_nanos": (i % 4) * 250_000_000,
                        "stock": stock,
                        "create_time": now,
                        "update_time": now,
                        "create_request_id": None,
                    }
                    for i in range(start, min(count, start + BATCH))
                ]
                conn.execute(sa.insert(table), rows)
        _analyze(db, "products")
    finally:
        db.dispose()


def seed_users(url: str, count: int) -> list[str]:
    """`count` users sharing one password (hashed once); returns their e-mail addresses. Each gets its
    UserCreated in the outbox, as CreateUser would write it, so the notifications service knows the buyers of
    the orders the bench places (else every order event would be retried until it is parked)."""
    db = Database(url, application_name="bench-seed")
    try:
        migrate(db, user_models.metadata, user_models.MIGRATIONS)
        password_hash = Passwords().hash(PASSWORD)
        now = dt.datetime.now(dt.UTC)
        emails = [user_email(i) for i in range(count)]
        users = [
            user_domain.User(new_id(), email, f"Bench user {i}", password_hash, now)
            for i, email in enumerate(emails)
        ]
        events = UserEvents()
        with db.transaction() as conn:
            conn.execute(
                sa.insert(user_models.users),
                [
                    {
                        "id": user.id,
                        "email": user.email,
                        "display_name": user.display_name,
                        "password_hash": user.password_hash,
                        "create_time": now,
                        "create_request_id": None,
                        "roles": "",
                    }
                    for user in users
                ],
            )
            for user in users:
                events.created(conn, user)
        _analyze(db, "users")
        return emails
    finally:
        db.dispose()


def sample_product_ids(url: str, count: int) -> list[str]:
    """`count` product ids spread evenly over the catalog (in catalog order)."""
    db = Database(url, application_name="bench-seed")
    try:
        table = product_models.products
        with db.snapshot() as conn:
            total = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            step = max(1, total // max(1, count))
            rows = conn.execute(
                sa.select(table.c.id, table.c.seq).order_by(table.c.seq)
            ).all()  # 100k short rows: fine for a one-off
        return [r.id for r in rows[::step]][:count]
    finally:
        db.dispose()


def page_token(url: str, page: int, page_size: int) -> str:
    """The page_token ListProducts hands out for page `page` (1-based) of `page_size`; "" for page 1."""
    if page <= 1:
        return ""
    db = Database(url, application_name="bench-seed")
    try:
        table = product_models.products
        with db.snapshot() as conn:
            seq = conn.execute(
                sa.select(table.c.seq).order_by(table.c.seq).offset((page - 1) * page_size - 1).limit(1)
            ).scalar()
    finally:
        db.dispose()
    if seq is None:
        raise ValueError(f"the catalog has fewer than {(page - 1) * page_size} products: no page {page}")
    return paging.encode_token(int(seq))
