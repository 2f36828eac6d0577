"""The mesh's topology (envoy/topology.toml), loaded into frozen objects."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TOPOLOGY = ROOT / "envoy" / "topology.toml"
DEFAULT_DESCRIPTOR = ROOT / "gen" / "descriptor.binpb"


@dataclass(frozen=True)
class Gateway:
    bind: str
    public_port: int
    internal_port: int
    admin_port: int
    reflection_service: str
    open_rpcs: tuple[str, ...]
    """Public RPCs callable without a token (`package.Service/Method`); every other one needs one."""
    jwt_issuer: str
    jwt_audience: str
    login_rpc: str
    login_rate_per_client: int
    """Logins per second one client address may make."""
    route_rate_limit: int
    """Calls per second one public RPC takes from all callers together."""
    max_request_bytes: int
    """Larger request bodies are refused (413 / RESOURCE_EXHAUSTED) before they reach a service."""
    metrics_port: int = 0
    """Envoy's metrics listener (/stats/prometheus and /ready only); 0: none."""
    otlp_port: int = 0
    """The local trace sink `make up` runs (OTLP/gRPC, loopback) when no collector is configured."""
    jwks_cache_seconds: int = 300
    """How long Envoy keeps the users service's JWKS; it refetches it in the background 5 s before that, so a
    signing key must be published at least this long before it signs (SVC_USER_JWT_PUBLISH_AHEAD_SECONDS)."""
    public_cache_seconds: tuple[tuple[str, int], ...] = ()
    """Open RPCs (`package.Service/Method`) whose anonymous answers browsers and CDNs may reuse, and for how
    many seconds (Cache-Control: public, max-age); every other answer is private, no-store."""
    trust_client_trace_id: bool = False
    """Whether a client's x-client-trace-id may force a trace at the public listener (off: Envoy removes it
    before its tracing decision, so nobody outside can make the mesh record, and pay for, their requests)."""


@dataclass(frozen=True)
class Broker:
    """The local NATS JetStream node `make up` runs (loopback) unless SHOPMESH_NATS_URL names another."""

    port: int
    """Client connections (nats://)."""
    monitor_port: int
    """HTTP monitoring: /healthz, /jsz, /varz."""


@dataclass(frozen=True)
class Service:
    name: str
    """Short name: users, products, orders, payments, notifications (also the Envoy cluster name, if any)."""
    module: str
    """Python module run as `python -m <module>`."""
    env_prefix: str
    grpc_services: tuple[str, ...]
    """The APIs it serves; empty for an event consumer, whose port answers health checks only and which
    Envoy has no cluster or route for."""
    port: int
    replicas: int
    timeout: float
    """Seconds a call may take through Envoy, all attempts included."""
    connect_timeout: float
    retries: int
    """How many times Envoy retries a failed call (see envoy_policies.RETRY_ON)."""
    read_per_try_timeout: float
    """Seconds one attempt of a read (Get*, List*) may take before Envoy tries another replica."""
    max_requests: int
    """Circuit breaker: calls in flight to the service, across its replicas."""
    max_pending_requests: int
    """Circuit breaker: calls waiting for a connection to the service."""
    metrics_offset: int = 1000
    """Replica i serves Prometheus metrics on port + i + metrics_offset."""

    @property
    def behind_gateway(self) -> bool:
        """Whether Envoy routes to it (it serves an API)."""
        return bool(self.grpc_services)

    def ports(self) -> list[int]:
        return [self.port + i for i in range(self.replicas)]

    def metrics_ports(self) -> list[int]:
        return [p + self.metrics_offset for p in self.ports()]


@dataclass(frozen=True)
class Topology:
    gateway: Gateway
    services: tuple[Service, ...]
    broker: Broker

    @property
    def gateway_services(self) -> tuple[Service, ...]:
        """The services Envoy has a cluster and routes for."""
        return tuple(s for s in self.services if s.behind_gateway)

    @property
    def packed_span(self) -> int:
        """How many consecutive ports `packed(base)` uses."""
        return 10 * (len(self.services) + 1)

    def service(self, name: str) -> Service:
        for svc in self.services:
            if svc.name == name:
                return svc
        raise KeyError(name)

    def ports(self) -> dict[int, str]:
        """Every port the mesh listens on, with what listens there."""
        gw = self.gateway
        found = {
            gw.public_port: "Envoy's public listener",
            gw.internal_port: "Envoy's internal listener",
            gw.admin_port: "Envoy's admin interface",
        }
        if gw.metrics_port:
            found[gw.metrics_port] = "Envoy's metrics listener"
        if gw.otlp_port:
            found[gw.otlp_port] = "the local trace sink"
        found[self.broker.port] = "the NATS broker"
        found[self.broker.monitor_port] = "the NATS broker's monitoring"
        for svc in self.services:
            for i, (port, metrics) in enumerate(zip(svc.ports(), svc.metrics_ports(), strict=True)):
                found[port] = f"{svc.name}-{i}"
                found[metrics] = f"{svc.name}-{i}'s metrics"
        return found

    def packed(self, base: int) -> Topology:
        """Every port inside [base, base + packed_span): the gateway's on base..base+4, the broker's on base+5
        and base+6, service i's replicas on base + 10(i+1) + r and their metrics 5 above. For meshes started
        beside others (tests, bench)."""
        packed = self.with_gateway(
            public_port=base,
            internal_port=base + 1,
            admin_port=base + 2,
            metrics_port=base + 3,
            otlp_port=base + 4,
        )
        packed = replace(packed, broker=Broker(port=base + 5, monitor_port=base + 6))
        for i, svc in enumerate(self.services):
            packed = packed.with_service(svc.name, port=base + 10 * (i + 1), metrics_offset=5)
        return packed

    def with_gateway(self, **changes: Any) -> Topology:
        return replace(self, gateway=replace(self.gateway, **changes))

    def shifted(self, offset: int) -> Topology:
        """Every port moved by `offset`, to run a second mesh beside the first."""
        gw = self.gateway
        return replace(
            self,
            gateway=replace(
                gw,
                public_port=gw.public_port + offset,
                internal_port=gw.internal_port + offset,
                admin_port=gw.admin_port + offset,
                metrics_port=gw.metrics_port + offset if gw.metrics_port else 0,
                otlp_port=gw.otlp_port + offset if gw.otlp_port else 0,
            ),
            services=tuple(replace(s, port=s.port + offset) for s in self.services),
            broker=Broker(port=self.broker.port + offset, monitor_port=self.broker.monitor_port + offset),
        )

    def with_service(self, name: str, **changes: Any) -> Topology:
        return replace(
            self, services=tuple(replace(s, **changes) if s.name == name else s for s in self.services)
        )


class TopologyError(ValueError):
    """The topology file is inconsistent."""


def load(path: Path = DEFAULT_TOPOLOGY) -> Topology:
    data = tomllib.loads(path.read_text())
    defaults = data.get("defaults", {})
    gw = data["gateway"]
    cached = tuple(sorted(gw.get("public_cache_seconds", {}).items()))
    if closed := [rpc for rpc, _ in cached if rpc not in gw["open_rpcs"]]:
        raise ValueError(f"gateway.public_cache_seconds names RPCs that need a token: {', '.join(closed)}")
    if negative := [rpc for rpc, seconds in cached if not isinstance(seconds, int) or seconds < 0]:
        raise ValueError(f"gateway.public_cache_seconds wants whole seconds >= 0: {', '.join(negative)}")
    gateway = Gateway(**{**gw, "open_rpcs": tuple(gw["open_rpcs"]), "public_cache_seconds": cached})
    services = []
    for name, raw in data["services"].items():
        merged = {**defaults, **raw}
        services.append(
            Service(
                name=name,
                module=merged["module"],
                env_prefix=merged["env_prefix"],
                grpc_services=tuple(merged["grpc_services"]),
                port=int(merged["port"]),
                replicas=int(merged.get("replicas", 1)),
                timeout=float(merged["timeout"]),
                connect_timeout=float(merged["connect_timeout"]),
                retries=int(merged["retries"]),
                read_per_try_timeout=float(merged["read_per_try_timeout"]),
                max_requests=int(merged["max_requests"]),
                max_pending_requests=int(merged["max_pending_requests"]),
                metrics_offset=int(merged.get("metrics_offset", 1000)),
            )
        )
    if "broker" not in data:
        raise TopologyError(f"{path}: no [broker] section (port, monitor_port)")
    broker = Broker(port=int(data["broker"]["port"]), monitor_port=int(data["broker"]["monitor_port"]))
    topology = Topology(gateway, tuple(services), broker)
    if gateway.reflection_service not in {s.name for s in topology.gateway_services}:
        raise TopologyError(
            f"gateway.reflection_service {gateway.reflection_service!r} is not a service with an API"
        )
    return topology
