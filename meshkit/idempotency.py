"""Idempotency keys (AIP-155): where a mutating call's key comes from (their format is in the contracts)."""

from __future__ import annotations

import grpc

# Envoy sets x-request-id once per client request (it replaces one sent by an
# external client) and keeps it on every retry of that request, so it is a
# key for the retries the gateway itself makes.
GATEWAY_REQUEST_ID = "x-request-id"


def request_key(explicit: str, context: grpc.ServicerContext) -> str:
    """The caller's request_id, else the gateway's request id (prefixed), else ''."""
    if explicit:
        return explicit
    for key, value in context.invocation_metadata():
        if key == GATEWAY_REQUEST_ID and isinstance(value, str) and value:
            return f"gw:{value}"[:128]
    return ""
