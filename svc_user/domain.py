"""Account entities and rules. No gRPC, no SQL."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from meshkit.errors import AlreadyExists, NotFound, Unauthenticated, Violations


@dataclass(frozen=True)
class User:
    id: str
    email: str
    display_name: str
    password_hash: str
    create_time: dt.datetime
    create_request_id: str = ""
    roles: tuple[str, ...] = ()

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


REQUEST_ID_USED_FOR = "for a different request; choose another"
"""How CreateUser's REQUEST_ID_REUSED message ends (meshkit.create_once.RequestIdReused): it names no account."""


class BadCredentials(Unauthenticated):
    def __init__(self) -> None:
        super().__init__("wrong email or password", reason="BAD_CREDENTIALS")


def normalize_email(email: str) -> str:
    return email.strip().lower()


def check_display_name(name: str, field: str, violations: Violations) -> None:
    """Beyond the contract's length rule: not all blank."""
    if not name.strip():
        violations.add(field, "must not be blank")
