"""The payments database schema."""

from __future__ import annotations

import sqlalchemy as sa

from meshkit.db import Migration, UTCDateTime
from meshkit.events import create_outbox, outbox_table

metadata = sa.MetaData()

# One row per Charge idempotency key, CLAIMED by the charge that used it or
# VOIDED before any did. The primary key serialises Charge against
# VoidCharge: whichever inserts first decides, so a voided key never captures.
charge_keys = sa.Table(
    "charge_keys",
    metadata,
    sa.Column("request_id", sa.String(128), primary_key=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("create_time", UTCDateTime(), nullable=False),
)

# The unique request_id makes Charge idempotent: a replay cannot insert a
# second row, so it cannot capture twice.
payments = sa.Table(
    "payments",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("request_id", sa.String(128), nullable=False, unique=True),
    sa.Column("order_name", sa.String(80), nullable=False, index=True),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("units", sa.BigInteger(), nullable=False),
    sa.Column("nanos", sa.Integer(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("card_last4", sa.String(4), nullable=False),
    sa.Column("decline_reason", sa.String(64), nullable=False),
    sa.Column("create_time", UTCDateTime(), nullable=False),
    sa.Column("update_time", UTCDateTime(), nullable=False),
    sa.Column("user_id", sa.String(64), nullable=False, server_default=""),
)


def _add_charge_keys(conn: sa.Connection) -> None:
    charge_keys.create(conn)
    conn.execute(
        sa.text(
            "INSERT INTO charge_keys (request_id, state, create_time) "
            "SELECT request_id, 'CLAIMED', create_time FROM payments"
        )
    )


def _add_user(conn: sa.Connection) -> None:
    conn.execute(sa.text("ALTER TABLE payments ADD COLUMN user_id VARCHAR(64) NOT NULL DEFAULT ''"))


# The events this service publishes, written in the transaction of each change (meshkit.events.outbox).
outbox = outbox_table(metadata)


MIGRATIONS: list[Migration] = [
    Migration("charge_keys: voidable charge idempotency keys", _add_charge_keys),
    Migration("payments.user_id: only the buyer reads a payment", _add_user),
    Migration("events outbox", lambda conn: create_outbox(conn, metadata)),
]
