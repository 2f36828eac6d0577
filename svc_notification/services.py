"""The notifications use cases: learn recipients, owe one e-mail per event, send what is owed."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable

from sqlalchemy.engine import Connection

from meshkit.db import utcnow
from meshkit.events import RetryLater
from svc_notification import domain
from svc_notification.repository import NotificationRepository

log = logging.getLogger(__name__)


class Notifier:
    """Turns events (as plain values) into owed e-mails, inside the consumer's transaction."""

    def __init__(
        self, clock: Callable[[], dt.datetime] = utcnow, on_mail: Callable[[], None] | None = None
    ) -> None:
        self._clock = clock
        self._on_mail = on_mail or (lambda: None)

    def learn_recipient(self, conn: Connection, user_id: str, email: str, display_name: str) -> None:
        NotificationRepository(conn).add_recipient(user_id, email, display_name, self._clock())

    def owe(
        self,
        conn: Connection,
        *,
        event_id: str,
        kind: str,
        user_id: str,
        resource: str,
        letter: Callable[[str], domain.Letter],
        traceparent: str,
    ) -> None:
        """Records the e-mail an event calls for. RetryLater while the buyer's account is not known yet (its
        UserCreated may still be on its way: the streams are independent)."""
        repo = NotificationRepository(conn)
        recipient = repo.recipient(user_id)
        if recipient is None:
            raise RetryLater(f"users/{user_id} is not known yet")
        written = letter(recipient.display_name)
        repo.add_mail(
            {
                "id": uuid.uuid4().hex,
                "event_id": event_id,
                "kind": kind,
                "user_id": user_id,
                "resource": resource,
                "to_address": recipient.email,
                "subject": written.subject,
                "body": written.body,
                "traceparent": traceparent,
                "create_time": self._clock(),
            }
        )
        self._on_mail()
