"""The users database schema."""

from __future__ import annotations

import sqlalchemy as sa

from meshkit.create_once import add_request_id_column, request_id_column
from meshkit.db import Migration, UTCDateTime
from meshkit.events import create_outbox, outbox_table

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
    # The idempotency key of the CreateUser call that made the account.
    request_id_column(),
    # Space-separated roles carried in the account's access tokens ("admin").
    sa.Column("roles", sa.String(200), nullable=False, server_default=""),
)


def _add_roles(conn: sa.Connection) -> None:
    conn.execute(sa.text("ALTER TABLE users ADD COLUMN roles VARCHAR(200) NOT NULL DEFAULT ''"))


# The events this service publishes, written in the transaction of each change (meshkit.events.outbox).
outbox = outbox_table(metadata)


MIGRATIONS: list[Migration] = [
    add_request_id_column("users", "CreateUser"),
    Migration("users.roles: roles in access tokens", _add_roles),
    Migration("events outbox", lambda conn: create_outbox(conn, metadata)),
]
