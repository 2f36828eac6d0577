"""Card-format rules for shopmesh.payment.v1.PaymentCard.

Shared because two services apply them: orders rejects a malformed card
before it writes anything, and payments never trusts its caller.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from meshkit.errors import Violations

_SEPARATORS = re.compile(r"[ -]")


@dataclass(frozen=True)
class Card:
    """A card that passed the format checks. Never log or store `number`."""

    number: str
    exp_month: int
    exp_year: int
    cvc: str

    @property
    def last4(self) -> str:
        return self.number[-4:]

    def __repr__(self) -> str:
        return f"Card(****{self.last4}, {self.exp_month:02d}/{self.exp_year})"


def _ascii_digits(text: str) -> bool:
    # str.isdigit() also accepts "²" and full-width digits, which int() and the
    # test-card table would then treat differently.
    return text.isascii() and text.isdigit()


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def check_card(
    number: str,
    exp_month: int,
    exp_year: int,
    cvc: str,
    *,
    prefix: str,
    today: dt.date,
    violations: Violations,
) -> Card | None:
    """Validates one card, adding a violation per bad field (`<prefix>.card_number`...)."""
    digits = _SEPARATORS.sub("", number)
    ok = True
    if not digits:
        violations.add(f"{prefix}.card_number", "is required")
        ok = False
    elif not _ascii_digits(digits) or not 12 <= len(digits) <= 19:
        violations.add(f"{prefix}.card_number", "must be 12 to 19 digits")
        ok = False
    elif not luhn_ok(digits):
        violations.add(f"{prefix}.card_number", "is not a valid card number (Luhn check failed)")
        ok = False
    if not 1 <= exp_month <= 12:
        violations.add(f"{prefix}.exp_month", f"must be 1 to 12 (got {exp_month})")
        ok = False
    if not 1000 <= exp_year <= 9999:
        violations.add(f"{prefix}.exp_year", f"must be a four-digit year (got {exp_year})")
        ok = False
    elif 1 <= exp_month <= 12 and (exp_year, exp_month) < (today.year, today.month):
        violations.add(f"{prefix}.exp_year", f"the card expired at the end of {exp_month:02d}/{exp_year}")
        ok = False
    if not (_ascii_digits(cvc) and len(cvc) in (3, 4)):
        violations.add(f"{prefix}.cvc", "must be 3 or 4 digits")
        ok = False
    return Card(digits, exp_month, exp_year, cvc) if ok else None
