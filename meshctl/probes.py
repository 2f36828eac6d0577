"""Is a process healthy, and is a port free: the checks the launcher, the supervisor and `meshctl status` share."""

from __future__ import annotations

import errno
import socket
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


class MeshError(RuntimeError):
    """The mesh could not be brought up (the message says which process and why)."""


@dataclass(frozen=True)
class Probe:
    """How to tell a process is healthy, from the supervisor or from another process (`meshctl status`):
    `grpc` (grpc.health.v1 SERVING at host:port), `http` (200 from the URL) or `tcp` (accepts at host:port)."""

    kind: str
    target: str

    def check(self, timeout: float = 0.5) -> bool:
        if self.kind == "grpc":
            # A refused connection is far cheaper to find than a gRPC channel is to build: the launcher polls
            # ten starting replicas every 50 ms on the cores they start on.
            return accepts(self.target, timeout) and grpc_serving(self.target, timeout)
        if self.kind == "http":
            try:
                with urllib.request.urlopen(self.target, timeout=timeout) as reply:
                    return bool(reply.status == 200)
            except OSError:  # refused, or an HTTPError (503 while starting)
                return False
        return accepts(self.target, timeout)


def grpc_serving(address: str, timeout: float = 0.5) -> bool:
    with grpc.insecure_channel(address) as channel:
        try:
            stub: Any = health_pb2_grpc.HealthStub(channel)  # the stubs package lacks its methods
            reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=timeout)
        except grpc.RpcError:
            return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def accepts(address: str, timeout: float = 0.5) -> bool:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            return True
    except OSError:
        return False


def can_listen(host: str, port: int) -> bool:
    """False when something listens there; a MeshError when nothing could (an address not on this host...)."""
    host = host.strip("[]")
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        # As the servers bind: SO_REUSEADDR (a port in TIME_WAIT after a previous run is free), and IPv6 only
        # for an IPv6 address (Envoy does not accept IPv4 on `::`, so an IPv4 listener does not conflict).
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if sock.family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise MeshError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    return True


def wait_until(
    ready: Callable[[], bool], deadline: float, failure: str, check: Callable[[], None] = lambda: None
) -> None:
    """Polls `ready` every 50 ms until it holds; MeshError(`failure`) past `deadline` (monotonic). `check`
    runs between polls and may raise first (the supervisor's: a child died while we waited)."""
    while not ready():
        check()
        if time.monotonic() > deadline:
            raise MeshError(failure)
        time.sleep(0.05)
