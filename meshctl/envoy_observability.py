"""What Envoy contributes to observability, layered onto the bootstrap `envoy_config` renders.

`instrument(bootstrap, topology, options)` adds, to every HTTP connection manager (public and internal
listener):

* a JSON access log on stdout, one line per request, in the shape of the services' log lines
  (monitoring/log-line.schema.json), with the trace id (`%TRACE_ID%`), the gRPC status, the
  upstream cluster and replica, and no header a secret could travel in (no `authorization`, no cookies);
* `envoy.filters.http.grpc_stats` just before the router (after the transcoder, so REST calls are counted by
  their gRPC status too): ``cluster.<service>.grpc.{success,failure,total,<code>}``. Per-cluster, not
  per-method: `stats_for_all_methods` lets any caller mint stats (notes §5.4), and per-method RED comes from the
  services' own /metrics;
* with a collector, the OpenTelemetry tracer (notes §5.3): Envoy continues a client's W3C `traceparent`,
  records an ingress span and one egress span per attempt (`spawn_upstream_span`), and passes `traceparent`
  on, so orders -> internal listener -> products is one trace. Envoy's own decision (not the traceparent's
  sampled flag) says whether a request is recorded: on the public listener `sampling` percent of requests, plus
  every one a client forces with `x-client-trace-id`; on the internal listener only the calls a service forces
  that way, which it does exactly for the calls it records itself (`meshkit.telemetry.ClientTracing`), so a
  trace is kept or dropped as a whole;

and to the bootstrap:

* Envoy's own log as JSON lines of the same shape (`APPLICATION_LOG_FORMAT`);
* the ``otel_collector`` cluster (OTLP/gRPC over HTTP/2, or OTLP/HTTP) when tracing is on;
* a ``metrics`` listener exposing only ``/stats/prometheus`` and ``/ready`` of the loopback-only admin
  interface (notes §5.5), so Prometheus can scrape Envoy without reaching its mutating endpoints.

Without a collector (`Options.collector is None`, the Helm chart's default) no tracer and no cluster is
rendered: the same renderer serves `make up` (the local sink) and the chart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from envoy_data_plane.envoy.config.accesslog.v3 import (
    AccessLog,
)
from envoy_data_plane.envoy.config.bootstrap.v3 import (
    Bootstrap,
    BootstrapApplicationLogConfig,
    BootstrapApplicationLogConfigLogFormat,
    LayeredRuntime,
    RuntimeLayer,
    RuntimeLayerAdminLayer,
)
from envoy_data_plane.envoy.config.cluster.v3 import Cluster
from envoy_data_plane.envoy.config.core.v3 import (
    GrpcService,
    GrpcServiceEnvoyGrpc,
    Http2ProtocolOptions,
    HttpService,
    HttpUri,
    SubstitutionFormatString,
    TypedExtensionConfig,
)
from envoy_data_plane.envoy.config.listener.v3 import Filter, FilterChain, Listener
from envoy_data_plane.envoy.config.route.v3 import (
    Route,
    RouteAction,
    RouteConfiguration,
    RouteMatch,
    VirtualHost,
)
from envoy_data_plane.envoy.config.trace.v3 import OpenTelemetryConfig, TracingHttp
from envoy_data_plane.envoy.extensions.access_loggers.stream.v3 import StdoutAccessLog
from envoy_data_plane.envoy.extensions.filters.http.grpc_stats.v3 import FilterConfig as GrpcStatsConfig
from envoy_data_plane.envoy.extensions.filters.http.router.v3 import Router
from envoy_data_plane.envoy.extensions.filters.network.http_connection_manager.v3 import (
    HttpConnectionManager,
    HttpConnectionManagerTracing,
    HttpFilter,
)
from envoy_data_plane.envoy.extensions.tracers.opentelemetry.resource_detectors.v3 import (
    EnvironmentResourceDetectorConfig,
)
from envoy_data_plane.envoy.extensions.upstreams.http.v3 import (
    HttpProtocolOptions,
    HttpProtocolOptionsExplicitHttpConfig,
)
from envoy_data_plane.envoy.type.tracing.v3 import CustomTag, CustomTagLiteral
from envoy_data_plane.envoy.type.v3 import Percent
from envoy_data_plane.google.protobuf import Any as AnyProto
from envoy_data_plane.google.protobuf import Struct

from meshctl.envoy_parts import IS_NATIVE_GRPC, IS_REST, address, sec, single_host_cluster
from meshctl.topology import Topology

HCM_NAME = "envoy.filters.network.http_connection_manager"
ROUTER_NAME = "envoy.filters.http.router"
COLLECTOR_CLUSTER = "otel_collector"
ADMIN_CLUSTER = "envoy_admin"
SERVICE_NAME = "shopmesh-envoy"
METRICS_PATHS = ("/stats/prometheus", "/ready")

LOG_SERVICE = "envoy"
"""The `service` of Envoy's log lines (the replicas write their service's name)."""

# Envoy's access-log line, in the shape of every process's lines (monitoring/log-line.schema.json: time, level,
# service, replica, logger, message, event, trace_id), so a log collector indexes all of them the same way; the
# rest is what `meshkit.logs.pretty` and the tests read. Empty values (no trace, no upstream host, no gRPC
# status) are left out, as the services leave out what they do not have. Nothing here can carry a credential:
# no authorization/cookie header, no body; paths hold resource names only.
ACCESS_LOG_FORMAT: dict[str, Any] = {
    "time": "%START_TIME(%Y-%m-%dT%H:%M:%S.%3fZ)%",
    "level": "INFO",
    "service": LOG_SERVICE,
    # The pod's name in Kubernetes, as a replica's `replica` is.
    "replica": "%HOSTNAME%",
    "logger": "envoy.access",
    "event": "access",
    "message": "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %RESPONSE_CODE%",
    "method": "%REQ(:METHOD)%",
    "path": "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%",
    "protocol": "%PROTOCOL%",
    "response_code": "%RESPONSE_CODE%",
    "grpc_status": "%GRPC_STATUS%",
    "response_flags": "%RESPONSE_FLAGS%",
    "duration_ms": "%DURATION%",
    "upstream_cluster": "%UPSTREAM_CLUSTER%",
    "upstream_host": "%UPSTREAM_HOST%",
    "attempts": "%UPSTREAM_REQUEST_ATTEMPT_COUNT%",
    "bytes_received": "%BYTES_RECEIVED%",
    "bytes_sent": "%BYTES_SENT%",
    "downstream": "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%",
    "request_id": "%REQ(X-REQUEST-ID)%",
    "trace_id": "%TRACE_ID%",
    "user_agent": "%REQ(USER-AGENT)%",
}

# Envoy's own log (stderr: warnings, errors, what --log-level lets through) as JSON lines of the same shape. spdlog
# flags: its clock is local time, hence the offset (%z) rather than a Z; its level names are lower case; it has
# no host name (no `replica`; a collector in Kubernetes adds the pod's). Lines from before the bootstrap is
# read (a configuration Envoy rejects) stay text.
APPLICATION_LOG_FORMAT: dict[str, str] = {
    "time": "%Y-%m-%dT%T.%e%z",
    "level": "%l",
    "service": LOG_SERVICE,
    "logger": "envoy.%n",
    "message": "%j",
    "source": "%g:%#",
}


@dataclass(frozen=True)
class Collector:
    """Where Envoy sends spans: an OTLP receiver (a real collector, or `make up`'s local sink)."""

    host: str
    port: int
    protocol: str = "grpc"
    """`grpc` (OTLP/gRPC, HTTP/2) or `http/protobuf` (OTLP/HTTP, POST /v1/traces)."""

    @classmethod
    def from_endpoint(cls, endpoint: str, protocol: str = "grpc") -> Collector:
        """`http://host:4317`, `host:4317` or `https://...` (TLS is not supported for Envoy's exporter here)."""
        text = endpoint.strip()
        if text.startswith("https://"):
            raise ValueError(f"{endpoint}: Envoy's trace exporter is rendered for plaintext collectors only")
        text = text.removeprefix("http://").split("/", 1)[0]
        host, sep, port = text.rpartition(":")
        if not sep or not port.isdigit():
            default = 4318 if protocol == "http/protobuf" else 4317
            host, port = text, str(default)
        if protocol not in ("grpc", "http/protobuf"):
            raise ValueError(f"OTLP protocol {protocol!r}: choose grpc or http/protobuf")
        return cls(host.strip("[]"), int(port), protocol)


@dataclass(frozen=True)
class Options:
    """Observability choices of one rendering."""

    collector: Collector | None = None
    """None: no tracing at all (the chart's default)."""
    sampling: float = 100.0
    """Percent of requests the public listener records (Envoy's decision wins over a `traceparent`'s sampled
    flag); a client forces a trace with `x-client-trace-id`."""
    flush_interval_ms: int | None = None
    """How often Envoy sends buffered spans (Envoy's default: 5000 ms, or every 5 spans)."""
    access_log: bool = True
    metrics: bool = False
    """Render the metrics listener on `topology.gateway.metrics_port` (`make up` and the chart do)."""
    metrics_bind: str = "127.0.0.1"


# For REST, %GRPC_STATUS% would be derived from the HTTP status (400 -> INTERNAL), so those lines leave it out.
_REST, _GRPC = IS_REST, IS_NATIVE_GRPC


def access_logs(listener: str) -> list[AccessLog]:
    """One JSON line per request: native gRPC calls with their grpc_status, REST calls without it."""
    logs = []
    for condition, keep_grpc in ((_GRPC, True), (_REST, False)):
        fmt = {"listener": listener, **ACCESS_LOG_FORMAT}
        if not keep_grpc:
            fmt.pop("grpc_status")
        config = StdoutAccessLog(
            log_format=SubstitutionFormatString(json_format=Struct.from_dict(fmt), omit_empty_values=True)
        )
        logs.append(
            AccessLog(
                name="envoy.access_loggers.stdout", filter=condition, typed_config=AnyProto.pack(config)
            )
        )
    return logs


def grpc_stats_filter() -> HttpFilter:
    config = GrpcStatsConfig(emit_filter_state=True, enable_upstream_stats=True, stats_for_all_methods=False)
    return HttpFilter(name="envoy.filters.http.grpc_stats", typed_config=AnyProto.pack(config))


def tracing(listener: str, options: Options) -> HttpConnectionManagerTracing | None:
    collector = options.collector
    if collector is None:
        return None
    if collector.protocol == "http/protobuf":
        exporter: dict[str, Any] = {
            "http_service": HttpService(
                http_uri=HttpUri(
                    uri=f"http://{collector.host}:{collector.port}/v1/traces",
                    cluster=COLLECTOR_CLUSTER,
                    timeout=sec(1),
                )
            )
        }
    else:
        exporter = {
            "grpc_service": GrpcService(
                envoy_grpc=GrpcServiceEnvoyGrpc(cluster_name=COLLECTOR_CLUSTER), timeout=sec(1)
            )
        }
    otel = OpenTelemetryConfig(
        service_name=SERVICE_NAME,
        # OTEL_RESOURCE_ATTRIBUTES of Envoy's process (the launcher sets service.instance.id) join the resource.
        resource_detectors=[
            TypedExtensionConfig(
                name="envoy.tracers.opentelemetry.resource_detectors.environment",
                typed_config=AnyProto.pack(EnvironmentResourceDetectorConfig()),
            )
        ],
        **exporter,
    )
    return HttpConnectionManagerTracing(
        random_sampling=Percent(value=0.0 if listener == INTERNAL_LISTENER else options.sampling),
        client_sampling=Percent(value=100.0),
        spawn_upstream_span=True,
        custom_tags=[CustomTag(tag="shopmesh.listener", literal=CustomTagLiteral(value=listener))],
        provider=TracingHttp(name="envoy.tracers.opentelemetry", typed_config=AnyProto.pack(otel)),
    )


INTERNAL_LISTENER = "internal"
"""envoy_config's listener for service-to-service calls."""


def _with_grpc_stats(filters: list[HttpFilter]) -> list[HttpFilter]:
    """grpc_stats right before the router: it must see the request after the transcoder made it gRPC."""
    if any(f.name == "envoy.filters.http.grpc_stats" for f in filters):
        return filters
    at = next((i for i, f in enumerate(filters) if f.name == ROUTER_NAME), len(filters))
    return [*filters[:at], grpc_stats_filter(), *filters[at:]]


def instrument_hcm(hcm: HttpConnectionManager, listener: str, options: Options) -> HttpConnectionManager:
    hcm.http_filters = _with_grpc_stats(list(hcm.http_filters))
    if options.access_log:
        hcm.access_log = [*hcm.access_log, *access_logs(listener)]
    traced = tracing(listener, options)
    if traced is not None:
        hcm.tracing = traced
    return hcm


def _collector_cluster(collector: Collector) -> Cluster:
    extra: dict[str, Any] = {}
    if collector.protocol == "grpc":  # OTLP/gRPC needs HTTP/2 (notes §5.3); OTLP/HTTP stays on HTTP/1.1
        protocol = HttpProtocolOptions(
            explicit_http_config=HttpProtocolOptionsExplicitHttpConfig(
                http2_protocol_options=Http2ProtocolOptions()
            )
        )
        extra["typed_extension_protocol_options"] = {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": AnyProto.pack(protocol)
        }
    return single_host_cluster(COLLECTOR_CLUSTER, collector.host, collector.port, 1, **extra)


def _admin_cluster(admin_port: int) -> Cluster:
    return single_host_cluster(ADMIN_CLUSTER, "127.0.0.1", admin_port, 0.25)


def metrics_listener(bind: str, port: int) -> Listener:
    """Only /stats/prometheus and /ready of the admin interface, on a port Prometheus may reach (§5.5)."""
    routes = [
        Route(name=path, match=RouteMatch(path=path), route=RouteAction(cluster=ADMIN_CLUSTER))
        for path in METRICS_PATHS
    ]
    hcm = HttpConnectionManager(
        stat_prefix="metrics",
        route_config=RouteConfiguration(
            name="metrics", virtual_hosts=[VirtualHost(name="metrics", domains=["*"], routes=routes)]
        ),
        http_filters=[HttpFilter(name=ROUTER_NAME, typed_config=AnyProto.pack(Router()))],
    )
    return Listener(
        name="metrics",
        address=address(bind, port),
        filter_chains=[FilterChain(filters=[Filter(name=HCM_NAME, typed_config=AnyProto.pack(hcm))])],
    )


def instrument(bootstrap: Bootstrap, topology: Topology, options: Options) -> Bootstrap:
    """Adds access logs, grpc_stats, tracing, the collector cluster and the metrics listener (see above)."""
    resources = bootstrap.static_resources
    assert resources is not None
    for listener in resources.listeners:
        for chain in listener.filter_chains:
            for network_filter in chain.filters:
                if network_filter.name != HCM_NAME or network_filter.typed_config is None:
                    continue
                hcm = network_filter.typed_config.unpack()
                assert isinstance(hcm, HttpConnectionManager)
                network_filter.typed_config = AnyProto.pack(instrument_hcm(hcm, listener.name, options))
    if options.collector is not None:
        resources.clusters = [*resources.clusters, _collector_cluster(options.collector)]
        if options.flush_interval_ms is not None:
            runtime = {"tracing.opentelemetry.flush_interval_ms": options.flush_interval_ms}
            bootstrap.layered_runtime = LayeredRuntime(
                layers=[
                    RuntimeLayer(name="static", static_layer=Struct.from_dict(runtime)),
                    RuntimeLayer(name="admin", admin_layer=RuntimeLayerAdminLayer()),
                ]
            )
    bootstrap.application_log_config = BootstrapApplicationLogConfig(
        log_format=BootstrapApplicationLogConfigLogFormat(
            json_format=Struct.from_dict(APPLICATION_LOG_FORMAT)
        )
    )
    gw = topology.gateway
    if options.metrics and gw.metrics_port:
        resources.listeners = [*resources.listeners, metrics_listener(options.metrics_bind, gw.metrics_port)]
        resources.clusters = [*resources.clusters, _admin_cluster(gw.admin_port)]
    return bootstrap
