"""Idempotency keys (AIP-155): their format, and where a mutating call's key comes from."""

from __future__ import annotations

import re

import grpc

from meshkit.errors import Violations

_KEY = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")

# Envoy sets x-request-id once per client request (it replaces one sent by an
# external client) and keeps it on every retry of that request, so it is a
# key for the retries the gateway itself makes.
GATEWAY_REQUEST_ID = "x-request-id"


def check_key(value: str, field: str, violations: Violations, *, required: bool = True) -> None:
    if not value and not required:
        return
    if not _KEY.match(value):
        violations.add(field, "must be 1-128 letters, digits or '_.:-'")


def request_key(explicit: str, context: grpc.ServicerContext) -> str:
    """The caller's request_id, else the gateway's request id (prefixed), else ''."""
    if explicit:
        return explicit
    for key, value in context.invocation_metadata():
        if key == GATEWAY_REQUEST_ID and isinstance(value, str) and value:
            return f"gw:{value}"[:128]
    return ""
