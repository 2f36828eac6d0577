"""The users database schema."""

from __future__ import annotations

import sqlalchemy as sa

from meshkit.db import Migration, UTCDateTime

metadata = sa.MetaData()

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    # Stored lower-cased, so the unique constraint is case-insensitive.
    sa.Column("email", sa.String(254), nullable=False, unique=True),
    sa.Column("display_name", sa.String(100), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("create_time", UTCDateTime(), nullable=False),
)

MIGRATIONS: list[Migration] = []
