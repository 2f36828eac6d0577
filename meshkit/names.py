"""Resource names (`orders/{order}`) and the ids inside them."""

from __future__ import annotations

import re
import uuid

from meshkit.errors import InvalidArgument, Violations

_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,63}", re.ASCII)


def new_id() -> str:
    """A fresh resource id: 32 lower-case hex digits."""
    return uuid.uuid4().hex


def make_name(collection: str, resource_id: str) -> str:
    return f"{collection}/{resource_id}"


def parse_name(value: str, collection: str, field: str) -> str:
    """Returns the id of `collection/{id}`, or raises INVALID_ARGUMENT naming `field`.

    A well-formed name of a resource that does not exist is the caller's
    business (NOT_FOUND), not a malformed request.
    """
    if not value:
        raise InvalidArgument(field, f"is required, e.g. {collection}/0123abcd")
    prefix, _, resource_id = value.partition("/")
    if prefix != collection or not _ID.fullmatch(resource_id):  # fullmatch: no final newline
        raise InvalidArgument(
            field,
            f"{value!r} is not a {collection} name; expected {collection}/{{id}} "
            "with an id of 1-64 lower-case letters, digits or '-'",
        )
    return resource_id


def check_name(value: str, collection: str, field: str, violations: Violations) -> str | None:
    """Like parse_name, but records the problem in `violations` and returns None."""
    try:
        return parse_name(value, collection, field)
    except InvalidArgument as exc:
        violations.extend(exc)
        return None
