"""In-process servers and status assertions for gRPC tests."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from meshkit.server import ServiceServer


@contextmanager
def serving(server: ServiceServer) -> Iterator[grpc.Channel]:
    """Starts a built server (bound to port 0) and yields a channel to it."""
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    try:
        yield channel
    finally:
        channel.close()
        server.stop(grace=0)


def details(error: grpc.RpcError) -> dict[str, Any]:
    """The ErrorInfo reason and the BadRequest field violations of a failed call."""
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    found: dict[str, Any] = {"reason": None, "fields": {}}
    if status is None:
        return found
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            found["reason"] = info.reason
            found["metadata"] = dict(info.metadata)
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            found["fields"] = {v.field: v.description for v in bad.field_violations}
    return found


def call_error(method: Any, request: Any, metadata: tuple[tuple[str, str], ...] = ()) -> grpc.RpcError:
    """Calls `method` expecting it to fail, and returns the error."""
    try:
        method(request, timeout=10, metadata=metadata)
    except grpc.RpcError as exc:
        return exc
    raise AssertionError(f"{request.__class__.__name__} unexpectedly succeeded")


def assert_error(
    error: grpc.RpcError, code: grpc.StatusCode, *, fields: set[str] | None = None, reason: str | None = None
) -> None:
    """Checks the code, and optionally the exact set of bad fields and the ErrorInfo reason."""
    assert error.code() == code, f"expected {code.name}, got {error.code().name}: {error.details()}"
    found = details(error)
    if fields is not None:
        assert set(found["fields"]) == fields, found["fields"]
    if reason is not None:
        assert found["reason"] == reason, found


def as_user(user_id: str, *roles: str) -> tuple[tuple[str, str], ...]:
    """Call metadata as Envoy forwards it for a verified token of `user_id` (for in-process servers)."""
    payload = json.dumps({"sub": f"users/{user_id}", "roles": list(roles)}).encode()
    return (("x-shopmesh-jwt-payload", base64.urlsafe_b64encode(payload).decode().rstrip("=")),)


INTERNAL = (("x-shopmesh-internal", "true"),)
"""Call metadata as Envoy's internal listener marks calls from other services."""


def with_token(channel: grpc.Channel, token: str) -> grpc.Channel:
    """A channel sending `authorization: Bearer <token>` with every call (to the gateway)."""
    return with_metadata(channel, (("authorization", f"Bearer {token}"),))


class _Metadata(grpc.UnaryUnaryClientInterceptor):  # type: ignore[type-arg]
    def __init__(self, metadata: tuple[tuple[str, str], ...]) -> None:
        self._metadata = metadata

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        # The channel's metadata first: a call's own (later) values win where a header is read once.
        return continuation(details._replace(metadata=[*self._metadata, *(details.metadata or ())]), request)


def with_metadata(channel: grpc.Channel, metadata: tuple[tuple[str, str], ...]) -> grpc.Channel:
    """A channel sending `metadata` (e.g. as_user(...)) with every call."""
    return grpc.intercept_channel(channel, _Metadata(metadata))
