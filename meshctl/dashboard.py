"""The Grafana dashboard of the mesh (monitoring/dashboards/shopmesh.json), generated from the definition below.

`python -m meshctl.dashboard` rewrites the JSON; tests/unit/test_dashboard.py fails when it is stale, checks
its Grafana basics, parses every expression with promtool and holds every metric name against what the
replicas and Envoy really export. The chart ships a copy (helm/shopmesh/files/monitoring/dashboards, kept by
`make chart`) as a ConfigMap for Grafana's dashboard sidecar.

What the queries assume is what the rules assume (monitoring/rules/shopmesh.rules.yml): job="shopmesh-<component>"
on every target, `namespace` on every series in a cluster (none locally). A replica's series carry only their
target's labels (`instance`, ...), so the panels that can show one replica join shopmesh_service_info on
`instance` for its `replica` label, which the replica variable selects.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from meshctl.topology import ROOT

PATH = ROOT / "monitoring" / "dashboards" / "shopmesh.json"
UID = "shopmesh-mesh"
DS = {"type": "prometheus", "uid": "${datasource}"}
"""Every panel and query reads the data source the `datasource` variable names."""

# The codes meshkit.calls counts as the server's fault, as the availability SLO does (a client's
# INVALID_ARGUMENT is not an error of the service); the test holds this against meshkit.
SERVER_ERRORS = "UNKNOWN|DEADLINE_EXCEEDED|UNIMPLEMENTED|INTERNAL|UNAVAILABLE|DATA_LOSS"

NS = 'namespace=~"$namespace"'
SVC = f'{NS}, job=~"shopmesh-$service"'
"""A replica's series, for the services chosen (Grafana writes a multi-value `$service` as (a|b))."""
SVC_ERRORS = f'{SVC}, grpc_code=~"{SERVER_ERRORS}"'
ENVOY = f'{NS}, job="shopmesh-envoy", envoy_cluster_name=~"$service"'
ENVOY_HCM = f'{NS}, job="shopmesh-envoy"'
ORDERS = f'{NS}, job="shopmesh-orders"'
SAGA_STEPS = f'{NS}, job=~"shopmesh-(products|payments)", grpc_method=~"ReserveStock|ReleaseStock|Charge|VoidCharge|Refund"'


def per_replica(expr: str) -> str:
    """`expr` (a vector with the target labels) limited to the chosen replicas, with their `replica` label."""
    return (
        f"({expr}) * on (namespace, instance) group_left (replica) "
        f'shopmesh_service_info{{{SVC}, replica=~"$replica"}}'
    )


def rate(metric: str, selector: str = SVC, window: str = "$__rate_interval") -> str:
    return f"rate({metric}{{{selector}}}[{window}])"


def quantile(q: float, by: str, bucket: str, selector: str = SVC, replicas: bool = True) -> str:
    series = rate(bucket, selector)
    if replicas:
        series = per_replica(series)
    return f"histogram_quantile({q}, sum by (le, {by}) ({series}))"


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""
    instant: bool = False


@dataclass(frozen=True)
class Panel:
    title: str
    description: str
    queries: tuple[Query, ...]
    unit: str = "short"
    kind: str = "timeseries"
    width: int = 8
    height: int = 8
    stack: bool = False
    max: float | None = None


@dataclass(frozen=True)
class Row:
    title: str
    panels: tuple[Panel, ...] = field(default_factory=tuple)


def q(expr: str, legend: str = "", instant: bool = False) -> Query:
    return Query(" ".join(expr.split()), legend, instant)


def panel(title: str, description: str, *queries: Query, **options: Any) -> Panel:
    return Panel(title, description, queries, **options)


def _latency_by(by: str, legend: str, selector: str = SVC) -> tuple[Query, ...]:
    bucket = "grpc_server_handling_seconds_bucket"
    return tuple(
        q(quantile(value, by, bucket, selector), f"{legend} p{name}")
        for value, name in ((0.5, "50"), (0.95, "95"), (0.99, "99"))
    )


ROWS: tuple[Row, ...] = (
    Row(
        "Overview",
        (
            panel(
                "Requests",
                "Calls the chosen replicas finished, per second (health checks and reflection are not counted).",
                q(f"sum({per_replica(rate('grpc_server_handled_total'))})", "calls/s"),
                unit="reqps",
                kind="stat",
                width=6,
                height=5,
            ),
            panel(
                "Server errors",
                f"Share of calls that ended in a server error ({SERVER_ERRORS.replace('|', ', ')}): what the "
                "availability SLO counts. A client's mistake (INVALID_ARGUMENT, NOT_FOUND, ...) is not one.",
                q(
                    f"(sum({per_replica(rate('grpc_server_handled_total', SVC_ERRORS))}) or vector(0)) "
                    f"/ sum({per_replica(rate('grpc_server_handled_total'))})",
                    "errors",
                ),
                unit="percentunit",
                kind="stat",
                width=6,
                height=5,
            ),
            panel(
                "Replicas up",
                "Scrape targets of the chosen services answering (a replica down is ShopmeshTargetDown).",
                q(f"sum(up{{{SVC}}})", "up"),
                q(f"count(up{{{SVC}}})", "targets"),
                kind="stat",
                width=6,
                height=5,
            ),
            panel(
                "Firing alerts",
                "The shopmesh alerts firing now (monitoring/rules), with their severity.",
                q('ALERTS{alertname=~"Shopmesh.+", alertstate="firing"}', "{{alertname}}", instant=True),
                kind="table",
                width=6,
                height=5,
            ),
        ),
    ),
    Row(
        "RED per service",
        (
            panel(
                "Requests by service",
                "Calls finished per second, by gRPC service.",
                q(
                    f"sum by (grpc_service) ({per_replica(rate('grpc_server_handled_total'))})",
                    "{{grpc_service}}",
                ),
                unit="reqps",
            ),
            panel(
                "Errors by service and code",
                "Calls that did not end OK, per second, by service and status code (client errors included).",
                q(
                    "sum by (grpc_service, grpc_code) "
                    f"""({per_replica(rate("grpc_server_handled_total", SVC + ', grpc_code!="OK"'))})""",
                    "{{grpc_service}} {{grpc_code}}",
                ),
                unit="reqps",
                stack=True,
            ),
            panel(
                "Latency by service",
                "Server-side handling time, p50/p95/p99, from grpc_server_handling_seconds.",
                *_latency_by("grpc_service", "{{grpc_service}}"),
                unit="s",
            ),
        ),
    ),
    Row(
        "RED per RPC",
        (
            panel(
                "Requests by RPC",
                "Calls finished per second, by method.",
                q(
                    f"sum by (grpc_method) ({per_replica(rate('grpc_server_handled_total'))})",
                    "{{grpc_method}}",
                ),
                unit="reqps",
            ),
            panel(
                "Errors by RPC and code",
                "Calls that did not end OK, per second, by method and status code.",
                q(
                    "sum by (grpc_method, grpc_code) "
                    f"""({per_replica(rate("grpc_server_handled_total", SVC + ', grpc_code!="OK"'))})""",
                    "{{grpc_method}} {{grpc_code}}",
                ),
                unit="reqps",
                stack=True,
            ),
            panel(
                "Server error ratio by RPC (SLI, 5m)",
                "The availability SLI the burn-rate alerts read (shopmesh:rpc_error_ratio:rate5m); the SLO "
                "allows 0.5 %.",
                q(f"shopmesh:rpc_error_ratio:rate5m{{{NS}}}", "{{grpc_method}}"),
                unit="percentunit",
            ),
            *(
                panel(
                    f"Latency p{name} by RPC",
                    f"Server-side handling time, {name}th percentile, by method. The SLO: 99 % of reads "
                    "(Get*, List*) under 500 ms, of writes under 2.5 s.",
                    q(
                        quantile(value, "grpc_method", "grpc_server_handling_seconds_bucket"),
                        "{{grpc_method}}",
                    ),
                    unit="s",
                )
                for value, name in ((0.5, "50"), (0.95, "95"), (0.99, "99"))
            ),
            panel(
                "Slow call ratio by RPC (SLI, 5m)",
                "Share of calls over the RPC's latency target (shopmesh:rpc_slow_ratio:rate5m); the SLO allows "
                "1 %.",
                q(f"shopmesh:rpc_slow_ratio:rate5m{{{NS}}}", "{{grpc_method}} ({{latency_target}})"),
                unit="percentunit",
            ),
        ),
    ),
    Row(
        "Checkout saga",
        (
            panel(
                "Orders by outcome",
                "Orders finished per second: OrderConfirmed, OrderFailed (card declined, or refunded after an "
                "interrupted checkout) and OrderCancelled, counted when the orders outbox publishes them.",
                q(
                    "sum by (type) "
                    f"""({rate("shopmesh_events_published_total", ORDERS + ', type=~"shopmesh[.]order[.].+"')})""",
                    "{{type}}",
                ),
                unit="ops",
                stack=True,
            ),
            panel(
                "CreateOrder by status code",
                "What buyers got: OK, FAILED_PRECONDITION (out of stock, declined), UNAVAILABLE (an outage "
                "settled; the client may retry with the same request_id), ...",
                q(
                    "sum by (grpc_code) "
                    f"""({rate("grpc_server_handled_total", ORDERS + ', grpc_method="CreateOrder"')})""",
                    "{{grpc_code}}",
                ),
                unit="reqps",
                stack=True,
            ),
            panel(
                "CreateOrder latency",
                "The whole saga (reserve stock, charge, confirm), p50/p95/p99; its SLO target is 2.5 s.",
                *(
                    q(
                        quantile(
                            value,
                            "grpc_method",
                            "grpc_server_handling_seconds_bucket",
                            ORDERS + ', grpc_method="CreateOrder"',
                            replicas=False,
                        ),
                        f"p{name}",
                    )
                    for value, name in ((0.5, "50"), (0.95, "95"), (0.99, "99"))
                ),
                unit="s",
            ),
            panel(
                "Saga steps: stock and payments",
                "The calls the saga makes and its compensations (ReleaseStock, VoidCharge, Refund), by code.",
                q(
                    f"sum by (grpc_method, grpc_code) ({rate('grpc_server_handled_total', SAGA_STEPS)})",
                    "{{grpc_method}} {{grpc_code}}",
                ),
                unit="reqps",
                width=16,
            ),
        ),
    ),
    Row(
        "Envoy",
        (
            panel(
                "Upstream requests by cluster",
                "Requests Envoy sent to each service's replicas, per second (every attempt, retries included).",
                q(
                    f"sum by (envoy_cluster_name) ({rate('envoy_cluster_upstream_rq_total', ENVOY)})",
                    "{{envoy_cluster_name}}",
                ),
                unit="reqps",
            ),
            panel(
                "Upstream responses by class",
                "Replicas' HTTP status classes per cluster (gRPC errors travel as 200 with a grpc-status).",
                q(
                    "sum by (envoy_cluster_name, envoy_response_code_class) "
                    f"({rate('envoy_cluster_upstream_rq_xx', ENVOY)})",
                    "{{envoy_cluster_name}} {{envoy_response_code_class}}xx",
                ),
                unit="reqps",
            ),
            panel(
                "Retries",
                "Retries per second by cluster, and those the retry budget or limit refused.",
                q(
                    f"sum by (envoy_cluster_name) ({rate('envoy_cluster_upstream_rq_retry', ENVOY)})",
                    "{{envoy_cluster_name}} retried",
                ),
                q(
                    f"sum by (envoy_cluster_name) ({rate('envoy_cluster_upstream_rq_retry_success', ENVOY)})",
                    "{{envoy_cluster_name}} retry succeeded",
                ),
                q(
                    f"sum by (envoy_cluster_name) ({rate('envoy_cluster_upstream_rq_retry_overflow', ENVOY)} "
                    f"+ {rate('envoy_cluster_upstream_rq_retry_limit_exceeded', ENVOY)})",
                    "{{envoy_cluster_name}} refused",
                ),
                unit="reqps",
            ),
            panel(
                "Outlier ejections",
                "Replicas ejected now, and ejections enforced per minute (ShopmeshEnvoyOutlierEjections).",
                q(
                    f"max by (envoy_cluster_name) (envoy_cluster_outlier_detection_ejections_active{{{ENVOY}}})",
                    "{{envoy_cluster_name}} ejected",
                ),
                q(
                    f"60 * sum by (envoy_cluster_name) "
                    f"({rate('envoy_cluster_outlier_detection_ejections_enforced_total', ENVOY)})",
                    "{{envoy_cluster_name}} ejections/min",
                ),
            ),
            panel(
                "Open circuit breakers",
                "1 while a cluster's breaker is open (requests, pending requests, connections, retries); "
                "ShopmeshEnvoyCircuitBreakerOpen. Overflows: requests refused for it.",
                *(
                    q(
                        f"max by (envoy_cluster_name) (envoy_cluster_circuit_breakers_default_{kind}_open{{{ENVOY}}})",
                        f"{{{{envoy_cluster_name}}}} {kind}",
                    )
                    for kind in ("rq", "rq_pending", "cx", "rq_retry")
                ),
                q(
                    f"sum by (envoy_cluster_name) ({rate('envoy_cluster_upstream_rq_pending_overflow', ENVOY)})",
                    "{{envoy_cluster_name}} pending overflow/s",
                ),
            ),
            panel(
                "Healthy replicas per cluster",
                "Replicas Envoy's health checks see serving, of all it knows (ShopmeshGatewayNoHealthyReplica).",
                q(
                    f"max by (envoy_cluster_name) (envoy_cluster_membership_healthy{{{ENVOY}}})",
                    "{{envoy_cluster_name}} healthy",
                ),
                q(
                    f"max by (envoy_cluster_name) (envoy_cluster_membership_total{{{ENVOY}}})",
                    "{{envoy_cluster_name}} total",
                ),
            ),
            panel(
                "Gateway responses by class",
                "Responses per listener (public, internal) by HTTP status class, Envoy's own replies included.",
                q(
                    "sum by (envoy_http_conn_manager_prefix, envoy_response_code_class) "
                    f"({rate('envoy_http_downstream_rq_xx', ENVOY_HCM)})",
                    "{{envoy_http_conn_manager_prefix}} {{envoy_response_code_class}}xx",
                ),
                unit="reqps",
            ),
            panel(
                "Gateway latency",
                "Time from a request's first byte to the response's last, per listener, p50/p99.",
                *(
                    q(
                        quantile(
                            value,
                            "envoy_http_conn_manager_prefix",
                            "envoy_http_downstream_rq_time_bucket",
                            ENVOY_HCM,
                            replicas=False,
                        )
                        + " / 1000",
                        f"{{{{envoy_http_conn_manager_prefix}}}} p{name}",
                    )
                    for value, name in ((0.5, "50"), (0.99, "99"))
                ),
                unit="s",
            ),
            panel(
                "Upstream timeouts",
                "Requests that hit the route's timeout or a per-try timeout, per second.",
                q(
                    f"sum by (envoy_cluster_name) ({rate('envoy_cluster_upstream_rq_timeout', ENVOY)})",
                    "{{envoy_cluster_name}} timeout",
                ),
                q(
                    f"sum by (envoy_cluster_name) ({rate('envoy_cluster_upstream_rq_per_try_timeout', ENVOY)})",
                    "{{envoy_cluster_name}} per-try timeout",
                ),
                unit="reqps",
            ),
        ),
    ),
    Row(
        "Events pipeline",
        (
            panel(
                "Outbox backlog",
                "Events committed and not yet acknowledged by JetStream, per service (every replica reads its "
                "service's one outbox).",
                q(f"max by (job) (shopmesh_outbox_backlog_rows{{{SVC}}})", "{{job}}"),
            ),
            panel(
                "Outbox oldest event age",
                "Age of the oldest unpublished event (ShopmeshOutboxBacklogAging over 60 s, Stuck over 15 min).",
                q(f"max by (job) (shopmesh_outbox_oldest_age_seconds{{{SVC}}})", "{{job}}"),
                unit="s",
            ),
            panel(
                "Published events",
                "Events JetStream acknowledged per second by type, and publish attempts that failed.",
                q(f"sum by (type) ({rate('shopmesh_events_published_total')})", "{{type}}"),
                q(f"sum by (job) ({rate('shopmesh_events_publish_errors_total')})", "{{job}} errors"),
                unit="ops",
            ),
            panel(
                "Consumer lag",
                "Events in the stream each durable consumer has not been delivered yet, and those delivered but "
                "not acknowledged (ShopmeshConsumerLagging).",
                q(f"max by (consumer) (shopmesh_events_consumer_pending{{{SVC}}})", "{{consumer}} pending"),
                q(
                    f"max by (consumer) (shopmesh_events_consumer_ack_pending{{{SVC}}})",
                    "{{consumer}} unacked",
                ),
            ),
            panel(
                "Deliveries by outcome",
                "processed, duplicate (already processed), retry (failed, redelivered later), parked.",
                q(
                    f"sum by (consumer, outcome) ({rate('shopmesh_events_consumed_total')})",
                    "{{consumer}} {{outcome}}",
                ),
                q(
                    f"sum by (consumer) ({rate('shopmesh_events_redeliveries_total')})",
                    "{{consumer}} redelivered",
                ),
                unit="ops",
            ),
            panel(
                "Dead letters",
                "Events parked per hour by consumer (ShopmeshDeadLetters; `python -m svc_<name> dead-letters "
                "list` shows them).",
                q(
                    f"sum by (consumer) (increase(shopmesh_events_dead_letters_total{{{SVC}}}[1h]))",
                    "{{consumer}}",
                ),
            ),
            panel(
                "Broker link",
                "Replicas connected to NATS, of those scraped (ShopmeshBrokerDisconnected).",
                q(f"sum by (job) (shopmesh_events_broker_connected{{{SVC}}})", "{{job}} connected"),
                q(f"count by (job) (shopmesh_events_broker_connected{{{SVC}}})", "{{job}} replicas"),
            ),
            panel(
                "Catalog cache hit ratio",
                "Catalog reads answered from the products replicas' cache, by kind (product, page).",
                q(
                    f"sum by (cache) ({rate('shopmesh_cache_hits_total')}) / (sum by (cache) "
                    f"({rate('shopmesh_cache_hits_total')}) + sum by (cache) ({rate('shopmesh_cache_misses_total')}))",
                    "{{cache}}",
                ),
                unit="percentunit",
                max=1,
            ),
            panel(
                "Catalog cache",
                "Entries by kind, evictions and resets per minute, and replicas whose cache is live "
                "(ShopmeshCatalogCacheNotLive).",
                q(f"sum by (cache) (shopmesh_cache_entries{{{SVC}}})", "{{cache}} entries"),
                q(
                    f"60 * sum by (cache) ({rate('shopmesh_cache_evictions_total')})",
                    "{{cache}} evictions/min",
                ),
                q(f"60 * sum({rate('shopmesh_cache_resets_total')})", "resets/min"),
                q(f"sum(shopmesh_cache_live{{{SVC}}})", "live replicas"),
            ),
        ),
    ),
    Row(
        "Databases",
        (
            panel(
                "Connection pool saturation",
                "Connections in a transaction over the pool's size, per replica (ShopmeshDatabasePoolSaturated "
                "at 90 % for 10 min). Over 100 %: overflow connections are open.",
                q(
                    per_replica(f"shopmesh_db_pool_checked_out{{{SVC}}} / shopmesh_db_pool_size{{{SVC}}}"),
                    "{{replica}}",
                ),
                unit="percentunit",
            ),
            panel(
                "Connections in use",
                "Checked out (in a transaction) and overflow connections, per replica.",
                q(per_replica(f"shopmesh_db_pool_checked_out{{{SVC}}}"), "{{replica}} in use"),
                q(per_replica(f"clamp_min(shopmesh_db_pool_overflow{{{SVC}}}, 0)"), "{{replica}} overflow"),
            ),
            panel(
                "Idle connections",
                "Connections open and waiting in the pool, per replica.",
                q(per_replica(f"shopmesh_db_pool_checked_in{{{SVC}}}"), "{{replica}}"),
            ),
        ),
    ),
    Row(
        "Processes",
        (
            panel(
                "CPU",
                "CPU seconds per second, per replica (1 = one core).",
                q(per_replica(rate("process_cpu_seconds_total")), "{{replica}}"),
            ),
            panel(
                "Resident memory",
                "RSS per replica.",
                q(per_replica(f"process_resident_memory_bytes{{{SVC}}}"), "{{replica}}"),
                unit="bytes",
            ),
            panel(
                "Restarts",
                "Process restarts in the last hour, per replica (ShopmeshReplicaRestarted, CrashLooping at 3), "
                "and Envoy's.",
                q(per_replica(f"changes(process_start_time_seconds{{{SVC}}}[1h])"), "{{replica}}"),
                q(f"resets(envoy_server_uptime{{{ENVOY_HCM}}}[1h])", "envoy {{instance}}"),
            ),
            panel(
                "Open file descriptors",
                "Descriptors in use over the limit, per replica.",
                q(per_replica(f"process_open_fds{{{SVC}}} / process_max_fds{{{SVC}}}"), "{{replica}}"),
                unit="percentunit",
            ),
            panel(
                "Envoy memory",
                "Envoy's heap in use, per pod.",
                q(f"envoy_server_memory_allocated{{{ENVOY_HCM}}}", "{{instance}}"),
                unit="bytes",
            ),
        ),
    ),
)


def _variable(name: str, label: str, query: str, *, multi: bool, all_value: str | None) -> dict[str, Any]:
    variable: dict[str, Any] = {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DS,
        "definition": query,
        "query": {"qryType": 1, "query": query, "refId": f"{name}-variable"},
        "refresh": 2,
        "sort": 1,
        "includeAll": True,
        "multi": multi,
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "hide": 0,
        "regex": "",
        "options": [],
    }
    if all_value is not None:
        variable["allValue"] = all_value
    return variable


def templating() -> list[dict[str, Any]]:
    return [
        {
            "name": "datasource",
            "label": "Data source",
            "type": "datasource",
            "query": "prometheus",
            "refresh": 1,
            "hide": 0,
            "regex": "",
            "current": {},
            "options": [],
        },
        # Locally there is no namespace label: ".*" also matches its absence.
        _variable("namespace", "Namespace", "label_values(shopmesh_service_info, namespace)",
                  multi=False, all_value=".*"),
        # No allValue: "All" is the list of services, so job=~"shopmesh-$service" never matches Envoy or the
        # broker's exporter.
        _variable("service", "Service", f"label_values(shopmesh_service_info{{{NS}}}, service)",
                  multi=True, all_value=None),
        _variable("replica", "Replica",
                  f'label_values(shopmesh_service_info{{{NS}, service=~"$service"}}, replica)',
                  multi=True, all_value=".*"),
    ]  # fmt: skip


def _panel_json(p: Panel, panel_id: int, x: int, y: int) -> dict[str, Any]:
    targets = [
        {
            "refId": chr(ord("A") + i),
            "datasource": DS,
            "expr": query.expr,
            "legendFormat": query.legend or "__auto",
            "range": not query.instant,
            "instant": query.instant,
            **({"format": "table"} if p.kind == "table" else {}),
        }
        for i, query in enumerate(p.queries)
    ]
    defaults: dict[str, Any] = {"unit": p.unit}
    if p.max is not None:
        defaults["max"] = p.max
    if p.kind == "timeseries":
        defaults["custom"] = {"fillOpacity": 10, "stacking": {"mode": "normal" if p.stack else "none"}}
        options: dict[str, Any] = {
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "multi", "sort": "desc"},
        }
    elif p.kind == "stat":
        options = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}}
    else:
        options = {"showHeader": True}
    return {
        "id": panel_id,
        "type": p.kind,
        "title": p.title,
        "description": p.description,
        "datasource": DS,
        "gridPos": {"x": x, "y": y, "w": p.width, "h": p.height},
        "targets": targets,
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": options,
    }


def _layout() -> Iterator[dict[str, Any]]:
    """Rows one under the other, each row's panels left to right, wrapping at Grafana's 24 columns."""
    panel_id, y = 0, 0
    for row in ROWS:
        panel_id += 1
        yield {
            "id": panel_id,
            "type": "row",
            "title": row.title,
            "collapsed": False,
            "gridPos": {"x": 0, "y": y, "w": 24, "h": 1},
            "panels": [],
        }
        y += 1
        x, line_height = 0, 0
        for p in row.panels:
            if x + p.width > 24:
                x, y, line_height = 0, y + line_height, 0
            panel_id += 1
            yield _panel_json(p, panel_id, x, y)
            x += p.width
            line_height = max(line_height, p.height)
        y += line_height


def build() -> dict[str, Any]:
    """The dashboard model Grafana imports."""
    return {
        "uid": UID,
        "title": "shopmesh",
        "description": "RED per service and RPC, the checkout saga, Envoy, the events pipeline, databases and "
        "processes of a shopmesh mesh (generated by meshctl/dashboard.py).",
        "tags": ["shopmesh", "grpc", "envoy"],
        "editable": True,
        "graphTooltip": 1,
        "schemaVersion": 39,
        "version": 1,
        "time": {"from": "now-1h", "to": "now"},
        "refresh": "30s",
        "timezone": "browser",
        "links": [],
        "annotations": {
            "list": [
                {
                    "builtIn": 1,
                    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                    "enable": True,
                    "hide": True,
                    "iconColor": "rgba(0, 211, 255, 1)",
                    "name": "Annotations & Alerts",
                    "type": "dashboard",
                }
            ]
        },
        "templating": {"list": templating()},
        "panels": list(_layout()),
    }


def render() -> str:
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    text = render()
    if PATH.is_file() and PATH.read_text() == text:
        return 0
    PATH.parent.mkdir(parents=True, exist_ok=True)
    PATH.write_text(text)
    print(f"wrote {PATH.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
