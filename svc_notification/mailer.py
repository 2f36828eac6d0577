"""Sending what is owed: SMTP in production, .eml files under `make up`.

Each e-mail row is sent once and stamped sent. The Message-ID is derived from the event, so in the one
window no database can close — the SMTP server accepted the message and this replica died before stamping
it — the copy sent again carries the same Message-ID, which mail systems use to drop duplicates. The .eml
transport has no such window: the file is named after the mail and written atomically.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import smtplib
import ssl
import threading
import time
import urllib.parse
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Protocol

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from meshkit.db import Database, utcnow
from meshkit.logs import FIELDS
from meshkit.telemetry import context_of
from svc_notification.repository import Mail, NotificationRepository

log = logging.getLogger(__name__)

BATCH = 20
CLAIM_SECONDS = 15.0
"""How long a mailer holds the mails it took; those of a mailer that died go to another after this. A mailer
sends from a claim only during its first half, so no mail is sent after its claim could have run out (one
send takes milliseconds, SMTP_TIMEOUT at worst)."""
SMTP_TIMEOUT = 5.0


class Transport(Protocol):
    def send(self, message: EmailMessage, mail: Mail) -> str:
        """Delivers the message; returns where it went (for the log)."""

    def close(self) -> None:
        """Ends what `send` kept open (called when no mail is owed for now)."""


class FileTransport:
    """Writes each message to DIR/<mail id>.eml (what `make up` does without an SMTP server)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def send(self, message: EmailMessage, mail: Mail) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{mail.id}.eml"
        scratch = path.with_suffix(".tmp")
        scratch.write_bytes(bytes(message))
        os.replace(scratch, path)
        return str(path)

    def close(self) -> None:
        pass


class SmtpTransport:
    """smtp://[user:password@]host[:port][?starttls=true] or smtps://... (implicit TLS)."""

    def __init__(self, url: str, timeout: float = SMTP_TIMEOUT) -> None:
        parsed = urllib.parse.urlsplit(url)
        self.implicit_tls = parsed.scheme == "smtps"
        self.host = parsed.hostname or "localhost"
        self.port = parsed.port or (465 if self.implicit_tls else 25)
        self.user = urllib.parse.unquote(parsed.username or "")
        self.password = urllib.parse.unquote(parsed.password or "")
        query = urllib.parse.parse_qs(parsed.query)
        self.starttls = query.get("starttls", ["false"])[0].lower() in ("1", "true", "yes")
        self.timeout = timeout
        self._client: smtplib.SMTP | None = None

    def send(self, message: EmailMessage, mail: Mail) -> str:
        """Over one connection for a run of mails (a connection per message costs five round trips more);
        a connection the server dropped meanwhile is replaced once."""
        reused = self._client is not None
        try:
            self._connected().send_message(message)
        except (smtplib.SMTPServerDisconnected, ConnectionError):
            self.close()
            if not reused:
                raise
            self._connected().send_message(message)
        except (OSError, smtplib.SMTPException):
            self.close()
            raise
        return f"smtp://{self.host}:{self.port}"

    def _connected(self) -> smtplib.SMTP:
        if self._client is None:
            if self.implicit_tls:
                client: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout)
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            try:
                if self.starttls:
                    client.starttls(context=ssl.create_default_context())
                if self.user:
                    client.login(self.user, self.password)
            except BaseException:
                client.close()
                raise
            self._client = client
        return self._client

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                client.close()


def compose(mail: Mail, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to_address
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(utcnow())
    # Derived from the event, so a message sent twice is recognisably the same one.
    message["Message-ID"] = f"<{mail.event_id}@notifications.shopmesh.dev>"
    message["X-Shopmesh-Resource"] = mail.resource
    message.set_content(mail.body)
    return message


class Mailer:
    """Sends owed e-mail from a thread of every replica: woken when a handler owes one, else every second."""

    def __init__(self, db: Database, transport: Transport, sender: str, *, interval: float = 1.0) -> None:
        self._db = db
        self._transport = transport
        self._sender = sender
        self._interval = interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mailer", daemon=True)
        self._tracer = trace.get_tracer("svc_notification.mailer")
        self.sent = 0

    def kick(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._interval)
            self._wake.clear()
            try:
                while self.send_owed() == BATCH and not self._stop.is_set():
                    pass
            except Exception as exc:
                log.warning("mailer: %s", exc or type(exc).__name__)
            finally:
                self._transport.close()

    def send_owed(self) -> int:
        """Sends one batch of owed e-mail; returns how many it took."""
        now = utcnow()
        # Claimed in one short transaction (replicas skip each other's rows on PostgreSQL), then each sent and
        # stamped in its own: a crash mid-batch leaves only the mail in flight unstamped, sent again once the
        # claim runs out.
        with self._db.transaction() as conn:
            owed = NotificationRepository(conn).claim_unsent(
                BATCH, now, now + dt.timedelta(seconds=CLAIM_SECONDS), lock=not self._db.is_sqlite
            )
        claimed = time.monotonic()
        for mail in owed:
            if time.monotonic() - claimed > CLAIM_SECONDS / 2:
                return 0  # the rest waits for its claim to run out: never send what another may have taken
            self._send(mail)
        return len(owed)

    def _send(self, mail: Mail) -> None:
        with self._tracer.start_as_current_span(
            "send e-mail",
            context=context_of(mail.traceparent),
            kind=SpanKind.CLIENT,
            attributes={"shopmesh.mail.kind": mail.kind},
        ) as span:
            try:
                where = self._transport.send(compose(mail, self._sender), mail)
            except (OSError, smtplib.SMTPException) as exc:
                span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
                with self._db.transaction() as conn:
                    NotificationRepository(conn).mark_failed(
                        mail.id, mail.attempts + 1, f"{type(exc).__name__}: {exc}"
                    )
                log.warning("could not send the %s e-mail for %s: %s", mail.kind, mail.resource, exc)
                return
            with self._db.transaction() as conn:
                NotificationRepository(conn).mark_sent(mail.id, utcnow())
            self.sent += 1
            log.info(
                "sent the %s e-mail for %s to %s",
                mail.kind, mail.resource, where,
                extra={FIELDS: {"event": "mail", "kind": mail.kind, "resource": mail.resource,
                                "message_id": mail.event_id, "to": where}},
            )  # fmt: skip
