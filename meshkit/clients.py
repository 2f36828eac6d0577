"""Channels to other services, always through the mesh (Envoy's internal listener)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import grpc

from meshkit.status import from_rpc_error

R = TypeVar("R")


def mesh_channel(target: str, interceptors: Sequence[Any] = ()) -> grpc.Channel:
    """A channel to Envoy's internal listener; Envoy routes by service and retries.

    Retries are Envoy's job, so the channel's own are off: two layers of
    retries multiply attempts under failure.
    """
    channel = grpc.insecure_channel(
        target,
        options=[
            ("grpc.enable_retries", 0),
            ("grpc.keepalive_time_ms", 30_000),
            ("grpc.keepalive_timeout_ms", 10_000),
        ],
    )
    return grpc.intercept_channel(channel, *interceptors) if interceptors else channel


class Caller:
    """Calls one dependency with a deadline, turning its failures into ServiceErrors."""

    def __init__(self, dependency: str, timeout: float) -> None:
        self.dependency = dependency
        self.timeout = timeout

    def __call__(self, method: Callable[..., R], request: Any) -> R:
        try:
            return method(request, timeout=self.timeout)
        except grpc.RpcError as exc:
            raise from_rpc_error(exc, self.dependency) from exc
