"""Small building blocks every part of the Envoy configuration uses: durations, addresses, how a cluster finds
its hosts, single-host clusters, and the one test of "this is a REST request"."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from envoy_data_plane.envoy.config.accesslog.v3 import AccessLogFilter, AndFilter, HeaderFilter, OrFilter
from envoy_data_plane.envoy.config.cluster.v3 import Cluster, ClusterCustomClusterType, ClusterDiscoveryType
from envoy_data_plane.envoy.config.core.v3 import Address, SocketAddress
from envoy_data_plane.envoy.config.endpoint.v3 import (
    ClusterLoadAssignment,
    Endpoint,
    LbEndpoint,
    LocalityLbEndpoints,
)
from envoy_data_plane.envoy.config.route.v3 import HeaderMatcher
from envoy_data_plane.envoy.extensions.clusters.common.dns.v3 import DnsLookupFamily
from envoy_data_plane.envoy.extensions.clusters.dns.v3 import DnsCluster
from envoy_data_plane.envoy.type.matcher.v3 import StringMatcher
from envoy_data_plane.google.protobuf import Any as AnyProto

# The gRPC infrastructure services every replica serves: routed to any service (grpcurl list/describe, probes) and
# open without a token.
REFLECTION_PREFIXES = ("/grpc.reflection.v1.ServerReflection/", "/grpc.reflection.v1alpha.ServerReflection/")
HEALTH_PREFIX = "/grpc.health.v1.Health/"


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


def discovery(hosts: Iterable[str]) -> dict[str, Any]:
    """How a cluster finds its endpoints: listed as they are when every host is an IP address; else by DNS, for
    Kubernetes headless Services (one A record per ready pod). The DnsCluster extension replaces the deprecated
    STRICT_DNS dns_* fields; V4_ONLY because AUTO prefers AAAA and grpcio listens on IPv4."""
    if all(is_ip(host) for host in hosts):
        return {"type": ClusterDiscoveryType.STATIC}
    dns = DnsCluster(dns_refresh_rate=sec(5), respect_dns_ttl=True, dns_lookup_family=DnsLookupFamily.V4_ONLY)
    return {
        "cluster_type": ClusterCustomClusterType(name="envoy.clusters.dns", typed_config=AnyProto.pack(dns))
    }


def single_host_cluster(name: str, host: str, port: int, connect_timeout: float, **extra: Any) -> Cluster:
    """A cluster of one endpoint (the trace collector, Envoy's own admin and internal listeners)."""
    return Cluster(
        name=name,
        connect_timeout=sec(connect_timeout),
        **discovery([host]),
        **extra,
        load_assignment=ClusterLoadAssignment(
            cluster_name=name,
            endpoints=[
                LocalityLbEndpoints(lb_endpoints=[LbEndpoint(endpoint=Endpoint(address=address(host, port)))])
            ],
        ),
    )


def _has_header(name: str, *, present: bool = True) -> AccessLogFilter:
    return AccessLogFilter(
        header_filter=HeaderFilter(
            header=HeaderMatcher(name=name, present_match=True, invert_match=not present)
        )
    )


def _grpc_content(grpc: bool) -> AccessLogFilter:
    matcher = HeaderMatcher(
        name="content-type",
        string_match=StringMatcher(prefix="application/grpc"),
        invert_match=not grpc,
        treat_missing_header_as_empty=True,  # GET has no content-type
    )
    return AccessLogFilter(header_filter=HeaderFilter(header=matcher))


IS_REST = AccessLogFilter(
    or_filter=OrFilter(filters=[_grpc_content(False), _has_header("x-envoy-original-path")])
)
"""A REST request: a non-gRPC content type (or none) until the transcoder rewrites it to application/grpc, and
x-envoy-original-path after that (replies made then: a bad JSON body, 503, 504). Envoy strips that header from
external requests, so a native gRPC client cannot send it."""
IS_NATIVE_GRPC = AccessLogFilter(
    and_filter=AndFilter(filters=[_grpc_content(True), _has_header("x-envoy-original-path", present=False)])
)
"""The complement of IS_REST: a native gRPC call."""
