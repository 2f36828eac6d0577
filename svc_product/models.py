"""The products database schema."""

from __future__ import annotations

import sqlalchemy as sa

from meshkit.create_once import add_request_id_column, request_id_column
from meshkit.db import Migration, UTCDateTime
from meshkit.events import create_outbox, outbox_table

metadata = sa.MetaData()

# `seq` is the keyset for stable paging; `id` is the public id in the name.
products = sa.Table(
    "products",
    metadata,
    sa.Column(
        "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
    ),
    sa.Column("id", sa.String(64), nullable=False, unique=True),
    sa.Column("sku", sa.String(64), nullable=False, unique=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("description", sa.Text(), nullable=False),
    sa.Column("price_currency", sa.String(3), nullable=False),
    sa.Column("price_units", sa.BigInteger(), nullable=False),
    sa.Column("price_nanos", sa.Integer(), nullable=False),
    sa.Column("stock", sa.Integer(), nullable=False),
    sa.Column("create_time", UTCDateTime(), nullable=False),
    sa.Column("update_time", UTCDateTime(), nullable=False),
    # The idempotency key of the CreateProduct call that made the product.
    request_id_column(),
    sa.CheckConstraint("stock >= 0", name="products_stock_not_negative"),
)

# One row per idempotency key: the primary key is what makes ReserveStock and
# ReleaseStock safe to replay.
reservations = sa.Table(
    "reservations",
    metadata,
    sa.Column("id", sa.String(128), primary_key=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("create_time", UTCDateTime(), nullable=False),
    sa.Column("update_time", UTCDateTime(), nullable=False),
)

reservation_items = sa.Table(
    "reservation_items",
    metadata,
    sa.Column("reservation_id", sa.String(128), sa.ForeignKey("reservations.id"), primary_key=True),
    sa.Column("product_id", sa.String(64), primary_key=True),
    sa.Column("quantity", sa.Integer(), nullable=False),
    sa.Column("unit_currency", sa.String(3), nullable=False),
    sa.Column("unit_units", sa.BigInteger(), nullable=False),
    sa.Column("unit_nanos", sa.Integer(), nullable=False),
    sa.Column("title", sa.String(200), nullable=False),
)


# The events this service publishes, written in the transaction of each change (meshkit.events.outbox).
outbox = outbox_table(metadata)


MIGRATIONS: list[Migration] = [
    add_request_id_column("products", "CreateProduct"),
    Migration("events outbox", lambda conn: create_outbox(conn, metadata)),
]
