"""The orders database schema."""

from __future__ import annotations

import sqlalchemy as sa

from meshkit.db import Migration, UTCDateTime
from meshkit.events import create_outbox, outbox_table

metadata = sa.MetaData()

UNSETTLED = "status = 'PENDING' OR (status = 'CONFIRMED' AND cancel_requested IS TRUE)"
"""The orders the recovery sweeper looks for (OrderRepository.stranded, which spells the same condition): a
partial index of them stays as small as the work in flight, so the sweep does not read a million settled orders
every 2 s (measured: a 300 ms parallel scan of 1,000,000 orders without it)."""

# `seq` is the keyset for stable paging. The unique (user_id, request_id) is what makes CreateOrder idempotent:
# a replay cannot insert a second order. A request_id is its buyer's (as idempotency keys belong to an account at
# Stripe), so another buyer's same id is simply another order, and nothing about the first one can be learnt.
orders = sa.Table(
    "orders",
    metadata,
    sa.Column(
        "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
    ),
    sa.Column("id", sa.String(64), nullable=False, unique=True),
    sa.Column("request_id", sa.String(128), nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("user_id", sa.String(64), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("total_currency", sa.String(3)),
    sa.Column("total_units", sa.BigInteger()),
    sa.Column("total_nanos", sa.Integer()),
    sa.Column("payment_id", sa.String(64), nullable=False),
    sa.Column("failure_reason", sa.String(200), nullable=False),
    sa.Column("create_time", UTCDateTime(), nullable=False),
    sa.Column("update_time", UTCDateTime(), nullable=False),
    # Until when the process working on this order owns it; after that, the
    # recovery sweeper may take it over (a crashed saga or cancellation).
    sa.Column("lease_until", UTCDateTime()),
    # CancelOrder began (refund, release) and must be finished.
    sa.Column("cancel_requested", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.UniqueConstraint("user_id", "request_id", name="orders_user_request"),
    sa.Index("orders_user_seq", "user_id", "seq"),
    sa.Index("orders_status_lease", "status", "lease_until"),
    sa.Index("orders_unsettled", "seq", postgresql_where=sa.text(UNSETTLED), sqlite_where=sa.text(UNSETTLED)),
)

order_items = sa.Table(
    "order_items",
    metadata,
    sa.Column("order_id", sa.String(64), sa.ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("product_id", sa.String(64), primary_key=True),
    sa.Column("quantity", sa.Integer(), nullable=False),
    sa.Column("unit_currency", sa.String(3)),
    sa.Column("unit_units", sa.BigInteger()),
    sa.Column("unit_nanos", sa.Integer()),
    sa.Column("title", sa.String(200), nullable=False),
)


def _add_lease(conn: sa.Connection) -> None:
    conn.execute(sa.text("ALTER TABLE orders ADD COLUMN lease_until TIMESTAMP WITH TIME ZONE"))
    conn.execute(sa.text("ALTER TABLE orders ADD COLUMN cancel_requested BOOLEAN NOT NULL DEFAULT false"))
    conn.execute(sa.text("CREATE INDEX orders_status_lease ON orders (status, lease_until)"))


def _request_id_per_buyer(conn: sa.Connection) -> None:
    """UNIQUE (request_id) becomes UNIQUE (user_id, request_id)."""
    if conn.dialect.name == "postgresql":
        for constraint in sa.inspect(conn).get_unique_constraints("orders"):
            if constraint["column_names"] == ["request_id"] and constraint["name"]:
                conn.execute(sa.text(f'ALTER TABLE orders DROP CONSTRAINT "{constraint["name"]}"'))
        conn.execute(
            sa.text("ALTER TABLE orders ADD CONSTRAINT orders_user_request UNIQUE (user_id, request_id)")
        )
        return
    # SQLite cannot drop a constraint: rebuild both tables. Renaming rewrites the items' foreign key to follow
    # the old orders table, so dropping it later cascades into nothing (a DROP TABLE deletes its rows first,
    # and with foreign keys on, which a transaction cannot turn off, ON DELETE CASCADE would follow).
    conn.execute(sa.text("ALTER TABLE order_items RENAME TO order_items_old"))
    conn.execute(sa.text("ALTER TABLE orders RENAME TO orders_old"))
    for index in (
        "orders_user_seq",
        "orders_status_lease",
        "orders_unsettled",
    ):  # index names are global; they moved with it
        conn.execute(sa.text(f"DROP INDEX IF EXISTS {index}"))
    metadata.create_all(conn, tables=[orders, order_items])
    for table in (orders, order_items):
        columns = ", ".join(c.name for c in table.columns)
        conn.execute(sa.text(f"INSERT INTO {table.name} ({columns}) SELECT {columns} FROM {table.name}_old"))
    conn.execute(sa.text("DROP TABLE order_items_old"))
    conn.execute(sa.text("DROP TABLE orders_old"))


def _unsettled_index(conn: sa.Connection) -> None:
    conn.execute(sa.text(f"CREATE INDEX IF NOT EXISTS orders_unsettled ON orders (seq) WHERE {UNSETTLED}"))


# The events this service publishes, written in the transaction of each change (meshkit.events.outbox).
outbox = outbox_table(metadata)


MIGRATIONS: list[Migration] = [
    Migration("orders lease and cancel_requested: crash recovery", _add_lease),
    Migration("events outbox", lambda conn: create_outbox(conn, metadata)),
    Migration("orders: a request_id is unique per buyer", _request_id_per_buyer),
    Migration("orders: a partial index of the unsettled ones, for the recovery sweeper", _unsettled_index),
]
