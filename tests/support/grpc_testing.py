"""In-process servers and status assertions for gRPC tests."""

from __future__ import annotations

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


def call_error(method: Any, request: Any) -> grpc.RpcError:
    """Calls `method` expecting it to fail, and returns the error."""
    try:
        method(request, timeout=10)
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
