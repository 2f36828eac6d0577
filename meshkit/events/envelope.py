"""Events on the wire: the CloudEvents NATS binding in binary mode, and where each event type lives.

An event is a protobuf message from `protos/` (for example `shopmesh.order.v1.OrderConfirmed`). It travels as
the message body, serialized, with its CloudEvents attributes as NATS headers (`ce-id`, `ce-type`,
`ce-source`, `ce-subject`, `ce-time`, `ce-specversion`), `content-type: application/protobuf`, the W3C
`traceparent` of the change that caused it, and `Nats-Msg-Id` = `ce-id`, so that JetStream stores a
re-published event once.

Naming is derived, never listed: the NATS subject is the message's full name, and the stream of a proto
package is its name upper-cased with `_` for `.` (package `shopmesh.order.v1` -> stream `SHOPMESH_ORDER_V1`,
subjects `shopmesh.order.v1.>`), so a new event needs no registration anywhere.
"""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import DecodeError, Message

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/protobuf"
MSG_ID = "Nats-Msg-Id"


class Malformed(ValueError):
    """A message that is not a well-formed event of a known type: it is parked, never retried."""


def subject_of(message: type[Message] | Message) -> str:
    """The NATS subject an event type is published on: its full name."""
    return str(message.DESCRIPTOR.full_name)


def stream_of(message: type[Message] | Message) -> str:
    """The JetStream stream holding an event type: one per proto package."""
    return package_of(message).upper().replace(".", "_")


def package_of(message: type[Message] | Message) -> str:
    return str(message.DESCRIPTOR.file.package)


@dataclass(frozen=True)
class StreamSpec:
    """A stream the mesh needs; every service that publishes to it or consumes from it creates it at start."""

    name: str
    subjects: tuple[str, ...]
    max_age_seconds: float
    """0: kept for ever (the users stream: a projection started later must still see every account)."""

    @classmethod
    def for_package(cls, package: str, max_age_seconds: float) -> StreamSpec:
        return cls(package.upper().replace(".", "_"), (f"{package}.>",), max_age_seconds)


STREAM_MAX_AGE = 7 * 24 * 3600.0
"""Seconds an event stays in its stream (a week: a consumer may be down over a long weekend and catch up)."""

KEPT_FOREVER = {"shopmesh.user.v1"}
"""Packages whose stream keeps every event: other services build their own view of accounts from them."""


def stream_spec(message: type[Message] | Message) -> StreamSpec:
    package = package_of(message)
    return StreamSpec.for_package(package, 0.0 if package in KEPT_FOREVER else STREAM_MAX_AGE)


@dataclass(frozen=True)
class Event:
    """One event as it travels: its CloudEvents attributes and its serialized message."""

    id: str
    type: str
    source: str
    subject: str
    """The resource the event is about, e.g. `orders/3f2c...` (CloudEvents `subject`, not the NATS one)."""
    time: dt.datetime
    data: bytes
    traceparent: str = ""

    def headers(self) -> dict[str, str]:
        headers = {
            "ce-specversion": SPEC_VERSION,
            "ce-id": self.id,
            "ce-type": self.type,
            "ce-source": self.source,
            "ce-subject": self.subject,
            "ce-time": self.time.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
            "content-type": CONTENT_TYPE,
            MSG_ID: self.id,
        }
        if self.traceparent:
            headers["traceparent"] = self.traceparent
        return headers

    @classmethod
    def from_wire(cls, headers: Mapping[str, str] | None, data: bytes) -> Event:
        """Reads the envelope; Malformed when a required attribute is missing or wrong."""
        headers = headers or {}
        missing = [h for h in ("ce-id", "ce-type", "ce-source", "ce-time") if not headers.get(h)]
        if missing:
            raise Malformed(f"not a CloudEvent: missing {', '.join(missing)}")
        if headers.get("ce-specversion") != SPEC_VERSION:
            raise Malformed(f"unsupported ce-specversion {headers.get('ce-specversion')!r}")
        if headers.get("content-type", CONTENT_TYPE) != CONTENT_TYPE:
            raise Malformed(f"unsupported content-type {headers.get('content-type')!r}")
        try:
            time = dt.datetime.fromisoformat(headers["ce-time"].replace("Z", "+00:00"))
        except ValueError:
            raise Malformed(f"ce-time {headers['ce-time']!r} is not an RFC 3339 time") from None
        return cls(
            id=headers["ce-id"],
            type=headers["ce-type"],
            source=headers["ce-source"],
            subject=headers.get("ce-subject", ""),
            time=time if time.tzinfo else time.replace(tzinfo=dt.UTC),
            data=data,
            traceparent=headers.get("traceparent", ""),
        )

    def decode(self, types: Mapping[str, builtins.type[Message]]) -> Message:
        """The event's message; Malformed when its type is not one of `types` or its body does not parse."""
        message_type = types.get(self.type)
        if message_type is None:
            raise Malformed(f"unknown event type {self.type!r}")
        message = message_type()
        try:
            message.ParseFromString(self.data)
        except DecodeError as exc:
            raise Malformed(f"body is not a {self.type}: {exc}") from None
        return message


def describe(headers: Mapping[str, Any] | None) -> dict[str, str]:
    """The headers as plain strings (for a dead letter's record)."""
    return {str(k): str(v) for k, v in (headers or {}).items()}
