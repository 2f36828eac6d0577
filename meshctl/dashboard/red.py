"""The RED rows: the overview, then rate, errors and duration per service and per RPC."""

from __future__ import annotations

from meshctl.dashboard.panels import Query, Row, panel, q
from meshctl.dashboard.promql import NS, SERVER_ERRORS, SVC, SVC_ERRORS, per_replica, quantile, rate


def _latency_by(by: str, legend: str, selector: str = SVC) -> tuple[Query, ...]:
    bucket = "grpc_server_handling_seconds_bucket"
    return tuple(
        q(quantile(value, by, bucket, selector), f"{legend} p{name}")
        for value, name in ((0.5, "50"), (0.95, "95"), (0.99, "99"))
    )


OVERVIEW = Row(
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
)


PER_SERVICE = Row(
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
)


PER_RPC = Row(
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
)
