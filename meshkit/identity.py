"""Who is calling: the identity Envoy verified, read from the headers only Envoy can set.

Envoy's public listener removes every `x-shopmesh-*` header a client sends, verifies the bearer token
(jwt_authn) and forwards its payload as `x-shopmesh-jwt-payload` (base64url JSON). Its internal listener,
which only services reach, marks calls with `x-shopmesh-internal`. Services listen on loopback (or behind a
NetworkPolicy that only admits Envoy), so these headers can be trusted here.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field

import grpc

from meshkit.errors import PermissionDenied, Unauthenticated

PAYLOAD_HEADER = "x-shopmesh-jwt-payload"
INTERNAL_HEADER = "x-shopmesh-internal"
ADMIN = "admin"


@dataclass(frozen=True)
class Identity:
    """A verified caller: a user (with roles), another service (internal), or nobody."""

    user_id: str | None = None
    roles: frozenset[str] = field(default_factory=frozenset)
    internal: bool = False

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.roles

    @property
    def privileged(self) -> bool:
        """Services and admins see every user's resources."""
        return self.internal or self.is_admin

    def may_see(self, owner_id: str) -> bool:
        return self.privileged or (self.user_id is not None and self.user_id == owner_id)

    def require_user(self) -> str:
        """The caller's user id; UNAUTHENTICATED when the call carries no user."""
        if self.user_id is None:
            raise Unauthenticated(
                "this call needs an access token (Authorization: Bearer ...)", reason="NO_TOKEN"
            )
        return self.user_id

    def require_admin(self) -> None:
        if self.internal:
            return
        self.require_user()
        if not self.is_admin:
            raise PermissionDenied("this call needs the admin role", reason="ADMIN_ONLY")


def identity_of(context: grpc.ServicerContext) -> Identity:
    payload, internal = None, False
    for key, value in context.invocation_metadata():
        if key == PAYLOAD_HEADER and isinstance(value, str):
            payload = value
        elif key == INTERNAL_HEADER:
            internal = True
    if payload is None:
        return Identity(internal=internal)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        subject = claims["sub"]
        roles = claims.get("roles", [])
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise Unauthenticated("the verified token payload is unreadable", reason="BAD_TOKEN") from None
    if not isinstance(subject, str) or not subject.startswith("users/") or not isinstance(roles, list):
        raise Unauthenticated("the token does not name a user", reason="BAD_TOKEN")
    return Identity(
        user_id=subject.removeprefix("users/"),
        roles=frozenset(r for r in roles if isinstance(r, str)),
        internal=internal,
    )
