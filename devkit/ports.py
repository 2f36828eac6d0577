"""Free TCP ports on loopback."""

from __future__ import annotations

import random
import socket
from collections.abc import Iterable
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_ports(count: int) -> list[int]:
    """`count` distinct free ports (held open together so none repeats)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def port_is_free(port: int) -> bool:
    """Whether a server could listen on `port` (servers set SO_REUSEADDR, so TIME_WAIT is fine)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _ephemeral_range() -> tuple[int, int]:
    try:
        text = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text()
        low, high = (int(x) for x in text.split())
    except (OSError, ValueError):
        low, high = 32768, 60999
    return low, high


def free_block(size: int) -> int:
    """The first port of `size` consecutive free ports, below the ephemeral range.

    Outgoing connections (Envoy to its upstreams, clients to Envoy) take ephemeral ports at any moment, so a
    block chosen there could be taken between this check and the servers binding it.
    """
    low, _ = _ephemeral_range()
    rng = random.Random()
    for _ in range(500):
        base = rng.randrange(10000, max(10001, low - size))
        if all(port_is_free(base + i) for i in range(size)):
            return base
    raise RuntimeError(f"no block of {size} free ports found")


def nobody_listens(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return True
    return False


def free_offset(ports: Iterable[int]) -> int:
    """An offset at which every one of `ports` is free: `meshctl up --port-offset` for a mesh beside others."""
    wanted = list(ports)
    rng = random.Random()
    for _ in range(200):
        offset = rng.randrange(1000, 9000)
        if all(p + offset < 65536 and port_is_free(p + offset) for p in wanted):
            return offset
    raise RuntimeError("no free port offset")
