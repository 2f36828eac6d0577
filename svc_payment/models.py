"""The payments database schema."""

from __future__ import annotations

import sqlalchemy as sa

from meshkit.db import Migration, UTCDateTime

metadata = sa.MetaData()

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
)

MIGRATIONS: list[Migration] = []
