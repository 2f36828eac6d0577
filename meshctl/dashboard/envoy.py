"""The Envoy row: upstream requests, retries, ejections and breakers per cluster, the gateway's responses."""

from __future__ import annotations

from meshctl.dashboard.panels import Row, panel, q
from meshctl.dashboard.promql import ENVOY, ENVOY_HCM, quantile, rate

ROW = Row(
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
)
