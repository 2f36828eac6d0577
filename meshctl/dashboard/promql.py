"""The PromQL pieces the panels are built from: the label selectors the dashboard's variables fill in, rates,
quantiles and the join that gives a replica's series its `replica` label.

What the queries assume is what the rules assume (monitoring/rules/shopmesh.rules.yml): job="shopmesh-<component>"
on every target, `namespace` on every series in a cluster (none locally). A replica's series carry only their
target's labels (`instance`, ...), so the panels that can show one replica join shopmesh_service_info on
`instance` for its `replica` label, which the replica variable selects.
"""

from __future__ import annotations

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
