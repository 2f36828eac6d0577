"""Small building blocks every part of the Envoy configuration uses (durations, addresses)."""

from __future__ import annotations

import ipaddress
from datetime import timedelta

from envoy_data_plane.envoy.config.core.v3 import Address, SocketAddress


def sec(seconds: float) -> timedelta:
    """A protobuf Duration, as the typed Envoy objects take it."""
    return timedelta(seconds=seconds)


def address(host: str, port: int) -> Address:
    return Address(socket_address=SocketAddress(address=host, port_value=port))


def is_ip(host: str) -> bool:
    """Whether `host` is an IP address (else a DNS name)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
