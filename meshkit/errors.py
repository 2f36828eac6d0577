"""Errors a service raises for its callers, free of any gRPC import.

Services and domain code raise these; `meshkit.status` turns them into gRPC
statuses in one place. Each carries an UPPER_SNAKE `reason` (sent as
google.rpc.ErrorInfo) so clients can branch without parsing messages.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


class ServiceError(Exception):
    """Base of every error meant for the caller. The message is shown to clients."""

    default_reason = "ERROR"

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason or self.default_reason
        self.metadata: dict[str, str] = dict(metadata or {})


@dataclass(frozen=True)
class FieldViolation:
    """One bad field of a request, named by its path (`order.items[0].quantity`)."""

    field: str
    description: str


class InvalidArgument(ServiceError):
    """The request is malformed, whatever the state of the system."""

    default_reason = "INVALID_ARGUMENT"

    def __init__(
        self,
        field: str,
        description: str,
        *,
        reason: str | None = None,
        more: Iterable[FieldViolation] = (),
    ) -> None:
        self.violations = [FieldViolation(field, description), *more]
        super().__init__(
            "; ".join(f"{v.field}: {v.description}" for v in self.violations),
            reason=reason,
            metadata={"field": field},
        )

    @classmethod
    def from_violations(cls, violations: Iterable[FieldViolation]) -> InvalidArgument:
        first, *rest = violations
        return cls(first.field, first.description, more=rest)


class NotFound(ServiceError):
    """The named resource does not exist."""

    default_reason = "NOT_FOUND"


class AlreadyExists(ServiceError):
    """A resource with the same unique key exists."""

    default_reason = "ALREADY_EXISTS"


class FailedPrecondition(ServiceError):
    """The request is valid but the system is not in a state that allows it."""

    default_reason = "FAILED_PRECONDITION"


class Aborted(ServiceError):
    """A concurrent change won; retrying the whole operation may succeed."""

    default_reason = "ABORTED"


class Unauthenticated(ServiceError):
    """The caller's credentials are missing or wrong."""

    default_reason = "UNAUTHENTICATED"


class PermissionDenied(ServiceError):
    """The caller is known but may not do this."""

    default_reason = "PERMISSION_DENIED"


class Unavailable(ServiceError):
    """A dependency (database, another service) cannot be reached right now."""

    default_reason = "UNAVAILABLE"


class DependencyFailed(ServiceError):
    """Another service answered in a way this one cannot explain to its caller."""

    default_reason = "DEPENDENCY_FAILED"


class Violations:
    """Collects field violations so a request reports every bad field at once."""

    def __init__(self) -> None:
        self._items: list[FieldViolation] = []

    def add(self, field: str, description: str) -> None:
        self._items.append(FieldViolation(field, description))

    def extend(self, error: InvalidArgument) -> None:
        self._items.extend(error.violations)

    def __bool__(self) -> bool:
        return bool(self._items)

    def raise_if_any(self) -> None:
        if self._items:
            raise InvalidArgument.from_violations(self._items)
