"""AIP-158 pagination: page sizes and opaque keyset page tokens."""

from __future__ import annotations

import base64
import binascii
import json

from meshkit.errors import InvalidArgument

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000


def page_size(requested: int, field: str = "page_size") -> int:
    """0 means the default; values above the maximum are clamped; negatives are rejected."""
    if requested < 0:
        raise InvalidArgument(field, f"must not be negative (got {requested})")
    if requested == 0:
        return DEFAULT_PAGE_SIZE
    return min(requested, MAX_PAGE_SIZE)


def encode_token(after: int, scope: str = "") -> str:
    """A token resuming after keyset position `after` for a query scoped by `scope`.

    The scope (the list's filter) is bound into the token so a token cannot be
    replayed against a different filter and silently skip rows.
    """
    raw = json.dumps({"a": after, "s": scope}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str, scope: str = "", field: str = "page_token") -> int | None:
    """The keyset position of `token`, None for the first page."""
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        after = data["a"]
        token_scope = data["s"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise InvalidArgument(field, "is not a token returned by this list") from None
    # type() rather than isinstance(): a bool is an int, and the key must fit a BIGINT.
    if type(after) is not int or not 0 <= after < 2**63 or not isinstance(token_scope, str):
        raise InvalidArgument(field, "is not a token returned by this list")
    if token_scope != scope:
        raise InvalidArgument(field, "was issued for a different filter; start again without it")
    return after
