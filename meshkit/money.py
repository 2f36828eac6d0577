"""Exact money arithmetic in billionths of a currency unit (never floats)."""

from __future__ import annotations

import re
from dataclasses import dataclass

NANOS_PER_UNIT = 1_000_000_000
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def is_currency_code(code: str) -> bool:
    """True for a well-formed ISO 4217 code: three upper-case letters."""
    return bool(_CURRENCY.match(code))


@dataclass(frozen=True)
class Money:
    """An amount of one currency, held as an integer count of nanos."""

    currency: str
    nanos_total: int

    @classmethod
    def of(cls, currency: str, units: int, nanos: int = 0) -> Money:
        return cls(currency, units * NANOS_PER_UNIT + nanos)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(currency, 0)

    @property
    def units(self) -> int:
        """Whole units, truncated toward zero (google.type.Money convention)."""
        sign = -1 if self.nanos_total < 0 else 1
        return sign * (abs(self.nanos_total) // NANOS_PER_UNIT)

    @property
    def nanos(self) -> int:
        """The fractional part in nanos, carrying the same sign as `units`."""
        sign = -1 if self.nanos_total < 0 else 1
        return sign * (abs(self.nanos_total) % NANOS_PER_UNIT)

    def __add__(self, other: Money) -> Money:
        if other.currency != self.currency:
            raise ValueError(f"cannot add {other.currency} to {self.currency}")
        return Money(self.currency, self.nanos_total + other.nanos_total)

    def times(self, quantity: int) -> Money:
        return Money(self.currency, self.nanos_total * quantity)

    def __str__(self) -> str:
        sign = "-" if self.nanos_total < 0 else ""
        whole, frac = divmod(abs(self.nanos_total), NANOS_PER_UNIT)
        return f"{sign}{whole}.{f'{frac:09d}'.rstrip('0').ljust(2, '0')} {self.currency}"
