"""Reading service settings from the environment, once, into frozen objects.

Only settings modules call into this; the local launcher and the Helm chart
configure services by setting variables, nothing else.
"""

from __future__ import annotations

import math
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


class SettingsError(ValueError):
    """A variable is set to a value the service cannot use."""


class Env:
    """Typed access to `<PREFIX>_<NAME>` variables, with development defaults."""

    def __init__(self, prefix: str, environ: Mapping[str, str] | None = None) -> None:
        self.prefix = prefix
        self.environ = os.environ if environ is None else environ

    def key(self, name: str) -> str:
        return f"{self.prefix}_{name}" if self.prefix else name

    def raw(self, name: str) -> str | None:
        value = self.environ.get(self.key(name))
        return value if value not in (None, "") else None

    def text(self, name: str, default: str) -> str:
        value = self.raw(name)
        return default if value is None else value

    def integer(self, name: str, default: int, *, minimum: int = 0, maximum: int = 2**31 - 1) -> int:
        value = self.raw(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            raise SettingsError(f"{self.key(name)}={value!r} is not an integer") from None
        if not minimum <= number <= maximum:
            raise SettingsError(f"{self.key(name)}={number} is outside [{minimum}, {maximum}]")
        return number

    def flag(self, name: str, default: bool) -> bool:
        value = self.raw(name)
        if value is None:
            return default
        if value.lower() in ("1", "true", "yes", "on"):
            return True
        if value.lower() in ("0", "false", "no", "off"):
            return False
        raise SettingsError(f"{self.key(name)}={value!r}: use true or false")

    def number(self, name: str, default: float, *, minimum: float = 0.0) -> float:
        value = self.raw(name)
        if value is None:
            return default
        try:
            number = float(value)
        except ValueError:
            raise SettingsError(f"{self.key(name)}={value!r} is not a number") from None
        if not math.isfinite(number) or number < minimum:
            raise SettingsError(f"{self.key(name)}={value!r} must be a finite number >= {minimum}")
        return number


@dataclass(frozen=True)
class EventSettings:
    """The asynchronous half: where the broker is and how consumers retry (meshkit.events)."""

    nats_url: str = ""
    """`SHOPMESH_NATS_URL`; empty (`off`): no broker. The outbox still records every event; nothing is sent."""
    stream_replicas: int = 1
    """Copies JetStream keeps of each stream the services create (3 on a three-node cluster)."""
    max_deliver: int = 8
    """Deliveries of a failing event before it is parked as a dead letter."""
    retry_seconds: float = 0.5
    """Delay before the first redelivery of a failed event; it doubles each time, up to 30 s."""


def load_event_settings(environ: Mapping[str, str] | None = None) -> EventSettings:
    """Reads `SHOPMESH_NATS_URL`, `SHOPMESH_NATS_STREAM_REPLICAS`, `SHOPMESH_EVENTS_MAX_DELIVER`,
    `SHOPMESH_EVENTS_RETRY_SECONDS`."""
    env = Env("", environ)
    url = env.text("SHOPMESH_NATS_URL", "nats://127.0.0.1:4222")
    return EventSettings(
        nats_url="" if url.lower() in ("off", "none") else url,
        stream_replicas=env.integer("SHOPMESH_NATS_STREAM_REPLICAS", 1, minimum=1, maximum=5),
        max_deliver=env.integer("SHOPMESH_EVENTS_MAX_DELIVER", 8, minimum=1, maximum=1000),
        retry_seconds=env.number("SHOPMESH_EVENTS_RETRY_SECONDS", 0.5, minimum=0.01),
    )


@dataclass(frozen=True)
class ServerSettings:
    """What every service process needs: where to listen, its database, its identity."""

    service: str
    """Short service name: users, products, orders or payments."""
    replica: str
    """This process's name among its service's replicas, e.g. `orders-1`."""
    host: str
    port: int
    database_url: str
    workers: int
    """Threads serving RPCs (the server is synchronous)."""
    grace_seconds: float
    """How long in-flight RPCs may finish after SIGTERM."""
    log_level: str
    metrics_port: int = 0
    """Port of the Prometheus endpoint (/metrics) on `host`; 0 picks a free one."""
    db_pool_size: int = 16
    """PostgreSQL connections kept open (default: one per worker); meshkit.db.POOL_OVERFLOW more at peak."""
    events: EventSettings = EventSettings()
    """The broker and consumer retries; the default has no broker (tests building servers in process)."""

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def server(self) -> ServerSettings:
        """Itself: a service with no settings of its own uses ServerSettings as its settings."""
        return self


class ServiceSettings(Protocol):
    """What `meshkit.cli.service_main` needs of a service's settings object."""

    @property
    def server(self) -> ServerSettings: ...


METRICS_PORT_OFFSET = 1000
"""Default metrics port of a service: its gRPC port plus this."""

DEFAULT_WORKERS = 16
"""Threads serving RPCs when `<PREFIX>_WORKERS` is not set (the server is synchronous)."""

GRPC_SERVER_OPTIONS: tuple[tuple[str, int], ...] = (
    # grpcio enables SO_REUSEPORT by default, which lets a second process bind the same port silently; fail
    # loudly instead.
    ("grpc.so_reuseport", 0),
    # Requests are small. Native gRPC is capped here (RESOURCE_EXHAUSTED); REST at the gateway (413).
    ("grpc.max_receive_message_length", 1024 * 1024),
)
"""The options of every service's gRPC server (meshkit.server), and of the bench's bare yardstick server."""


def data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where SQLite files and keys live by default (`SHOPMESH_DATA_DIR`, else ./var/data)."""
    env = Env("", environ)
    return Path(env.text("SHOPMESH_DATA_DIR", "var/data"))


def load_server_settings(
    service: str, prefix: str, default_port: int, environ: Mapping[str, str] | None = None
) -> ServerSettings:
    """Reads `<prefix>_HOST`, `_PORT`, `_DATABASE_URL`, `_WORKERS`, `_DB_POOL_SIZE`, `_GRACE_SECONDS`,
    `_METRICS_PORT`."""
    env = Env(prefix, environ)
    shared = Env("", environ)
    default_db = f"sqlite:///{data_dir(environ) / f'{service}.sqlite3'}"
    port = env.integer("PORT", default_port, maximum=65535)
    workers = env.integer("WORKERS", DEFAULT_WORKERS, minimum=1, maximum=1024)
    return ServerSettings(
        service=service,
        replica=shared.text("SHOPMESH_REPLICA", f"{service}@{socket.gethostname()}"),
        host=env.text("HOST", "127.0.0.1"),
        port=port,
        database_url=env.text("DATABASE_URL", default_db),
        workers=workers,
        grace_seconds=env.number("GRACE_SECONDS", 5.0),
        log_level=shared.text("SHOPMESH_LOG_LEVEL", "INFO").upper(),
        # Beside the gRPC port by default (50300 -> 51300); a gRPC port of 0 (tests) gets a free one too.
        metrics_port=env.integer("METRICS_PORT", port + METRICS_PORT_OFFSET if port else 0, maximum=65535),
        db_pool_size=env.integer("DB_POOL_SIZE", workers, minimum=1, maximum=1024),
        events=load_event_settings(environ),
    )


def env_help(prefix: str, default_port: int, extra: str = "") -> str:
    """The `--help` epilog listing a service's variables."""
    return (
        "environment:\n"
        f"  {prefix}_HOST           address to listen on (default 127.0.0.1)\n"
        f"  {prefix}_PORT           port (default {default_port})\n"
        f"  {prefix}_DATABASE_URL   sqlite:///path (default: a file under $SHOPMESH_DATA_DIR)\n"
        "                            or postgresql://user:password@host:port/database\n"
        f"  {prefix}_WORKERS        RPC threads (default {DEFAULT_WORKERS})\n"
        f"  {prefix}_DB_POOL_SIZE   PostgreSQL connections kept open (default: the workers; 4 more at peak)\n"
        f"  {prefix}_GRACE_SECONDS  drain time after SIGTERM (default 5)\n"
        f"  {prefix}_METRICS_PORT   Prometheus /metrics port (default {default_port + METRICS_PORT_OFFSET})\n"
        f"{extra}"
        "  SHOPMESH_DATA_DIR          where SQLite files and keys live (default var/data)\n"
        "  SHOPMESH_REPLICA           this replica's name in logs and traces\n"
        "  SHOPMESH_LOG_LEVEL         DEBUG, INFO (default), WARNING, ERROR\n"
        "  SHOPMESH_NATS_URL          the NATS JetStream broker (default nats://127.0.0.1:4222; off: none,\n"
        "                            events wait in the outbox)\n"
        "  SHOPMESH_NATS_STREAM_REPLICAS  copies of each stream the service creates (default 1)\n"
        "  SHOPMESH_EVENTS_MAX_DELIVER    deliveries of a failing event before it is parked (default 8)\n"
        "  SHOPMESH_EVENTS_RETRY_SECONDS  first redelivery delay, doubling up to 30 s (default 0.5)\n"
        "  OTEL_TRACES_EXPORTER       otlp, console or none (default: otlp when\n"
        "                            OTEL_EXPORTER_OTLP_ENDPOINT is set, else none); OTEL_* honoured\n"
    )
