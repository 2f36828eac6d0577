"""The users database schema."""

from __future__ import annotations

import sqlalchemy as sa

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
    sa.Column("create_request_id", sa.String(128), unique=True),
    # Space-separated roles carried in the account's access tokens ("admin").
    sa.Column("roles", sa.String(200), nullable=False, server_default=""),
)


def _add_create_request_id(conn: sa.Connection) -> None:
    conn.execute(sa.text("ALTER TABLE users ADD COLUMN create_request_id VARCHAR(128)"))
    conn.execute(sa.text("CREATE UNIQUE INDEX users_create_request_id ON users (create_request_id)"))


def _add_roles(conn: sa.Connection) -> None:
    conn.execute(sa.text("ALTER TABLE users ADD COLUMN roles VARCHAR(200) NOT NULL DEFAULT ''"))


# The events this service publishes, written in the transaction of each change (meshkit.events.outbox).
outbox = outbox_table(metadata)


MIGRATIONS: list[Migration] = [
    Migration("users.create_request_id: idempotent CreateUser", _add_create_request_id),
    Migration("users.roles: roles in access tokens", _add_roles),
    Migration("events outbox", lambda conn: create_outbox(conn, metadata)),
]
