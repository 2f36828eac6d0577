"""Queries of the notifications database."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from meshkit.db import insert_if_absent
from svc_notification.models import mails, recipients


@dataclass(frozen=True)
class Recipient:
    user_id: str
    email: str
    display_name: str


@dataclass(frozen=True)
class Mail:
    seq: int
    id: str
    event_id: str
    kind: str
    resource: str
    to_address: str
    subject: str
    body: str
    traceparent: str
    attempts: int


_RECIPIENT = sa.select(recipients).where(recipients.c.user_id == sa.bindparam("b_user"))
_UNSENT = (
    sa.select(mails)
    .where(
        mails.c.sent_time.is_(None),
        sa.or_(mails.c.claim_until.is_(None), mails.c.claim_until < sa.bindparam("b_now")),
    )
    .order_by(mails.c.seq)
    .limit(sa.bindparam("b_limit"))
)
_SET = sa.update(mails).where(mails.c.id == sa.bindparam("b_id"))
_CLAIM = sa.update(mails).where(mails.c.id.in_(sa.bindparam("b_ids", expanding=True)))


class NotificationRepository:
    """Recipients and mail, inside one transaction (`conn`)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add_recipient(self, user_id: str, email: str, display_name: str, now: dt.datetime) -> bool:
        return insert_if_absent(
            self.conn,
            recipients,
            {"user_id": user_id, "email": email, "display_name": display_name, "create_time": now},
        )

    def recipient(self, user_id: str) -> Recipient | None:
        row = self.conn.execute(_RECIPIENT, {"b_user": user_id}).first()
        return Recipient(row.user_id, row.email, row.display_name) if row else None

    def add_mail(self, values: dict[str, Any]) -> bool:
        """False when a mail for this event exists already."""
        return insert_if_absent(self.conn, mails, values)

    def claim_unsent(self, limit: int, now: dt.datetime, until: dt.datetime, *, lock: bool) -> list[Mail]:
        """Up to `limit` mails nobody sent or holds, now held by the caller until `until`."""
        query = _UNSENT.with_for_update(skip_locked=True) if lock else _UNSENT
        found = [
            Mail(r.seq, r.id, r.event_id, r.kind, r.resource, r.to_address, r.subject, r.body, r.traceparent,
                 r.attempts)
            for r in self.conn.execute(query, {"b_limit": limit, "b_now": now})
        ]  # fmt: skip
        if found:
            self.conn.execute(_CLAIM, {"b_ids": [m.id for m in found], "claim_until": until})
        return found

    def mark_sent(self, mail_id: str, now: dt.datetime) -> None:
        self.conn.execute(_SET, {"b_id": mail_id, "sent_time": now})

    def mark_failed(self, mail_id: str, attempts: int, error: str) -> None:
        """Not sent: free for the next round (which may be another replica's)."""
        self.conn.execute(
            _SET, {"b_id": mail_id, "attempts": attempts, "last_error": error[:500], "claim_until": None}
        )
