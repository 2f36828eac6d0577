"""Conversions between shared protobuf types and plain values, with field-level validation."""

from __future__ import annotations

import datetime as dt

from google.protobuf import timestamp_pb2
from google.type import money_pb2

from meshkit.errors import Violations
from meshkit.money import NANOS_PER_UNIT, Money, is_currency_code


def money_to_proto(value: Money) -> money_pb2.Money:
    return money_pb2.Money(currency_code=value.currency, units=value.units, nanos=value.nanos)


def money_from_proto(
    message: money_pb2.Money,
    field: str,
    violations: Violations,
    *,
    positive: bool = False,
) -> Money | None:
    """A non-negative Money (strictly positive if asked), or None with violations added."""
    ok = True
    if not is_currency_code(message.currency_code):
        violations.add(
            f"{field}.currency_code",
            f"must be a three-letter ISO 4217 code such as USD (got {message.currency_code!r})",
        )
        ok = False
    if not -NANOS_PER_UNIT < message.nanos < NANOS_PER_UNIT:
        violations.add(f"{field}.nanos", "must lie in [-999999999, 999999999]")
        return None
    if (message.units > 0 and message.nanos < 0) or (message.units < 0 and message.nanos > 0):
        violations.add(f"{field}.nanos", "must have the same sign as units")
        return None
    amount = message.units * NANOS_PER_UNIT + message.nanos
    if amount < 0:
        violations.add(field, "must not be negative")
        ok = False
    elif positive and amount == 0:
        violations.add(field, "must be more than zero")
        ok = False
    return Money(message.currency_code, amount) if ok else None


def timestamp(value: dt.datetime | None) -> timestamp_pb2.Timestamp | None:
    if value is None:
        return None
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(value if value.tzinfo else value.replace(tzinfo=dt.UTC))
    return ts
