"""Account entities and rules. No gRPC, no SQL."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from meshkit.errors import AlreadyExists, NotFound, Unauthenticated, Violations

_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")
MIN_PASSWORD, MAX_PASSWORD = 8, 256


@dataclass(frozen=True)
class User:
    id: str
    email: str
    display_name: str
    password_hash: str
    create_time: dt.datetime
    create_request_id: str = ""

    def __repr__(self) -> str:  # keep the hash out of logs and tracebacks
        return f"User(id={self.id!r}, email={self.email!r})"


class UserNotFound(NotFound):
    def __init__(self, user_id: str) -> None:
        super().__init__(
            f"user users/{user_id} does not exist",
            reason="USER_NOT_FOUND",
            metadata={"user": f"users/{user_id}"},
        )


class EmailTaken(AlreadyExists):
    def __init__(self, email: str) -> None:
        super().__init__(f"an account with email {email!r} already exists", reason="EMAIL_ALREADY_EXISTS")


class RequestIdReused(AlreadyExists):
    def __init__(self, request_id: str) -> None:
        super().__init__(
            f"request_id {request_id!r} was already used to create a different account",
            reason="REQUEST_ID_REUSED",
            metadata={"request_id": request_id},
        )


class BadCredentials(Unauthenticated):
    def __init__(self) -> None:
        super().__init__("wrong email or password", reason="BAD_CREDENTIALS")


def normalize_email(email: str) -> str:
    return email.strip().lower()


def check_email(email: str, field: str, violations: Violations) -> None:
    if not email:
        violations.add(field, "is required")
    elif len(email) > 254 or not _EMAIL.match(email):
        violations.add(field, f"{email!r} is not an email address")


def check_display_name(name: str, field: str, violations: Violations) -> None:
    if not name.strip():
        violations.add(field, "is required")
    elif len(name) > 100:
        violations.add(field, "must be at most 100 characters")


def check_password(password: str, field: str, violations: Violations) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        violations.add(field, f"must be {MIN_PASSWORD} to {MAX_PASSWORD} characters")
