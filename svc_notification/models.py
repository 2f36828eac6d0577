"""The notifications database schema: its view of accounts, the mail it owes, its consumers' records."""

from __future__ import annotations

import sqlalchemy as sa

from meshkit.db import Migration, UTCDateTime
from meshkit.events import consumer_tables

metadata = sa.MetaData()

# Who to write to, learnt from UserCreated events (never by calling the users service).
recipients = sa.Table(
    "recipients",
    metadata,
    sa.Column("user_id", sa.String(64), primary_key=True),
    sa.Column("email", sa.String(254), nullable=False),
    sa.Column("display_name", sa.String(100), nullable=False),
    sa.Column("create_time", UTCDateTime(), nullable=False),
)

# One row per e-mail owed, written in the transaction that handled its event (unique per event: one e-mail
# per event however often it is delivered). A mailer claims a batch (`claim_until`), then sends each and
# stamps its `sent_time` at once, so a mailer that dies leaves at most the one in flight to send again.
mails = sa.Table(
    "mails",
    metadata,
    sa.Column(
        "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
    ),
    sa.Column("id", sa.String(32), nullable=False, unique=True),
    sa.Column("event_id", sa.String(100), nullable=False, unique=True),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("user_id", sa.String(64), nullable=False),
    sa.Column("resource", sa.String(200), nullable=False),
    sa.Column("to_address", sa.String(254), nullable=False),
    sa.Column("subject", sa.String(200), nullable=False),
    sa.Column("body", sa.Text(), nullable=False),
    sa.Column("traceparent", sa.String(64), nullable=False),
    sa.Column("create_time", UTCDateTime(), nullable=False),
    sa.Column("sent_time", UTCDateTime()),
    sa.Column("claim_until", UTCDateTime()),
    sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("last_error", sa.String(500), nullable=False, server_default=""),
    sa.Index("mails_unsent", "sent_time", "seq"),
)

processed_events, dead_letters = consumer_tables(metadata)

MIGRATIONS: list[Migration] = []
