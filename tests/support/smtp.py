"""A real SMTP server for the tests (aiosmtpd on a free loopback port), keeping what it receives."""

from __future__ import annotations

import email
import email.policy
import threading
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from devkit.ports import free_block


class MailSink:
    """Start with `start()`; `messages` holds every message received, parsed; `stop()` ends it."""

    def __init__(self) -> None:
        self.port = free_block(1)
        self.messages: list[EmailMessage] = []
        self._by_resource: dict[str, list[EmailMessage]] = {}
        self._lock = threading.Lock()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    async def handle_DATA(self, unused_server: Any, unused_session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self.messages.append(message)
            self._by_resource.setdefault(str(message["X-Shopmesh-Resource"]), []).append(message)
        return "250 OK"

    def about(self, resource: str) -> list[EmailMessage]:
        """The messages about one resource (X-Shopmesh-Resource, e.g. `orders/...`)."""
        with self._lock:
            return list(self._by_resource.get(resource, ()))
