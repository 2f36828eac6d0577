"""Envoy's resilience policies for the mesh: retries, timeouts, health checks, outlier detection, circuit
breakers, and the local replies callers see when Envoy itself answers.

`envoy_config` assembles listeners and clusters; everything that decides how a call survives a failure lives
here. "notes §N" cites the team's Envoy 1.40 notes (envoy-notes.md: facts verified on the target machine).
"""

from __future__ import annotations

from envoy_data_plane.envoy.config.accesslog.v3 import (
    AccessLogFilter,
    AndFilter,
    ComparisonFilter,
    ComparisonFilterOp,
    MetadataFilter,
    ResponseFlagFilter,
    StatusCodeFilter,
)
from envoy_data_plane.envoy.config.cluster.v3 import (
    CircuitBreakers,
    CircuitBreakersThresholds,
    CircuitBreakersThresholdsRetryBudget,
    ClusterCommonLbConfig,
    ClusterLbPolicy,
    ClusterLeastRequestLbConfig,
    OutlierDetection,
)
from envoy_data_plane.envoy.config.core.v3 import (
    DataSource,
    HealthCheck,
    HealthCheckGrpcHealthCheck,
    RoutingPriority,
    RuntimeUInt32,
    SubstitutionFormatString,
)
from envoy_data_plane.envoy.config.route.v3 import (
    HedgePolicy,
    RetryPolicy,
    RetryPolicyRetryBackOff,
    RetryPolicyRetryHostPredicate,
    RouteAction,
    RouteActionMaxStreamDuration,
)
from envoy_data_plane.envoy.extensions.filters.network.http_connection_manager.v3 import (
    LocalReplyConfig,
    ResponseMapper,
)
from envoy_data_plane.envoy.extensions.retry.host.previous_hosts.v3 import PreviousHostsPredicate
from envoy_data_plane.envoy.type.matcher.v3 import (
    MetadataMatcher,
    MetadataMatcherPathSegment,
    ValueMatcher,
)
from envoy_data_plane.envoy.type.v3 import Percent
from envoy_data_plane.google.protobuf import Any as AnyProto
from envoy_data_plane.google.protobuf import Struct

from meshctl.envoy_parts import IS_REST, sec
from meshctl.topology import Service


def is_read(method: str) -> bool:
    """AIP standard reads (Get*, List*): safe to retry after a per-try timeout and to hedge."""
    return method.startswith(("Get", "List"))


# -- routes -------------------------------------------------------------------

# What Envoy retries. `unavailable` is grpc-status 14 in the response headers (a replica whose database is
# down, a dependency outage), `cancelled` grpc-status 1 (a replica shutting down cancels its calls), `reset` covers a replica dying mid-call and per-try timeouts,
# `connect-failure`/`refused-stream` a replica that is gone or saturated (notes §2.2). Writes are retried as
# well because every mutating RPC is idempotent: by request_id, reservation id, charge key, or by the gateway's
# x-request-id, which stays the same across Envoy's retries of one client request.
RETRY_ON = "unavailable,cancelled,reset,connect-failure,refused-stream"


def retry_policy(service: Service, method: str) -> RetryPolicy:
    read = is_read(method)
    return RetryPolicy(
        retry_on=RETRY_ON,
        num_retries=service.retries,
        # A read that hangs is cut short and tried on another replica; a write gets the whole route timeout,
        # so a slow checkout is not raced by a second attempt of itself.
        per_try_timeout=sec(service.read_per_try_timeout if read else service.timeout),
        # Jittered exponential back-off up to 1 s: three retries span the couple of seconds a health check needs
        # to bring a restarted replica back, while spreading the retries of many callers.
        retry_back_off=RetryPolicyRetryBackOff(base_interval=sec(0.05), max_interval=sec(1)),
        # Retry on another replica where there is one; with one replica it falls back to the same (notes §2.2).
        retry_host_predicate=[
            RetryPolicyRetryHostPredicate(
                name="envoy.retry_host_predicates.previous_hosts",
                typed_config=AnyProto.pack(PreviousHostsPredicate()),
            )
        ],
        host_selection_retry_max_attempts=5,
    )


def route_action(service: Service, method: str) -> RouteAction:
    return RouteAction(
        cluster=service.name,
        timeout=sec(service.timeout),  # spans all attempts
        # The caller's grpc-timeout is honoured (capped) and answered with DEADLINE_EXCEEDED just before the caller
        # gives up, rather than a retriable UNAVAILABLE (notes §2.3). max_stream_duration too: once
        # grpc_timeout_header_max is set, Envoy no longer applies the route timeout to requests without a
        # grpc-timeout header (REST, deadline-less gRPC; envoy#15530), which would wait forever on a stuck replica.
        max_stream_duration=RouteActionMaxStreamDuration(
            max_stream_duration=sec(service.timeout),
            grpc_timeout_header_max=sec(service.timeout),
            grpc_timeout_header_offset=sec(0.05),
        ),
        retry_policy=retry_policy(service, method),
        # A read whose attempt times out keeps running while a second one races it (notes §2.2).
        hedge_policy=HedgePolicy(hedge_on_per_try_timeout=True) if is_read(method) else None,
    )


# -- clusters -----------------------------------------------------------------

# Ejection tuned for 2-3 replicas (notes §3.2): three consecutive gateway failures (UNAVAILABLE, DEADLINE_EXCEEDED
# in trailers-only replies) eject a replica, and so does a single local-origin failure (connection refused or
# reset): least-request balancing sees a dead replica as the least loaded one and would keep sending it retries
# until it is ejected. Application errors (INTERNAL, UNIMPLEMENTED) never eject. max_ejection_percent 50 lets one of two replicas go (the 10% default
# ejects nothing below 10 hosts). A passing active health check ends an ejection early, so a replica that was
# restarted rejoins within a health-check interval instead of leaving its peer alone for the ejection time.
OUTLIER_DETECTION = OutlierDetection(
    split_external_local_origin_errors=True,
    consecutive_local_origin_failure=1,
    enforcing_consecutive_local_origin_failure=100,
    consecutive_gateway_failure=3,
    enforcing_consecutive_gateway_failure=100,
    consecutive_5xx=5,
    enforcing_consecutive_5xx=0,
    interval=sec(1),
    base_ejection_time=sec(5),
    max_ejection_time=sec(60),
    max_ejection_percent=50,
)


def health_check(service: Service) -> HealthCheck:
    """grpc.health.v1 against the service's name: NOT_SERVING (its database is down) takes a replica out."""
    if not service.behind_gateway:
        raise ValueError(f"{service.name} serves no API: Envoy has no cluster to health-check it in")
    return HealthCheck(
        timeout=sec(1),
        interval=sec(2),
        no_traffic_interval=sec(2),
        unhealthy_threshold=2,
        healthy_threshold=1,
        grpc_health_check=HealthCheckGrpcHealthCheck(service_name=service.grpc_services[0]),
    )


def circuit_breakers(service: Service) -> CircuitBreakers:
    """Caps on what one cluster may have in flight; beyond them callers get UNAVAILABLE at once.

    Over HTTP/2 `max_requests` is the real concurrency cap (streams). The retry budget replaces the
    max_retries breaker (default 3 concurrent retries, easy to hit with a few replicas): retries may add at most
    20% to the active requests, so an outage cannot turn into a retry storm, and at least 10 may run at once,
    enough for every call in flight on a replica that just died at the loads of a small deployment.
    """
    return CircuitBreakers(
        thresholds=[
            CircuitBreakersThresholds(
                priority=RoutingPriority.DEFAULT,
                max_connections=service.max_requests,
                max_pending_requests=service.max_pending_requests,
                max_requests=service.max_requests,
                retry_budget=CircuitBreakersThresholdsRetryBudget(
                    budget_percent=Percent(value=20.0), min_retry_concurrency=10
                ),
                track_remaining=True,
            )
        ]
    )


def cluster_policies(service: Service) -> dict[str, object]:
    """Balancing, health checking, ejection and breakers of a service's cluster, as `Cluster` keyword arguments."""
    return {
        # P2C least-request: gRPC request cost is uneven; it clearly beat ROUND_ROBIN in the notes (§4.2).
        "lb_policy": ClusterLbPolicy.LEAST_REQUEST,
        "least_request_lb_config": ClusterLeastRequestLbConfig(choice_count=2),
        "health_checks": [health_check(service)],
        "outlier_detection": OUTLIER_DETECTION,
        "circuit_breakers": circuit_breakers(service),
        "common_lb_config": ClusterCommonLbConfig(
            # No panic routing: when no replica is healthy, fail fast rather than spray unhealthy ones.
            healthy_panic_threshold=Percent(value=0.0),
            # Apply health changes (a replica ejected, failing its check, or back) at once. By default Envoy
            # merges them for 1 s before the worker threads see them, so for a second after a replica dies
            # retries keep being sent to it, and a replica that just came up gets no traffic.
            update_merge_window=sec(0),
        ),
    }


# -- local replies ------------------------------------------------------------

# HTTP status of an Envoy-generated reply -> the gRPC code its REST JSON body carries. Explicit because gRPC's own
# HTTP mapping turns 400 into INTERNAL, and a client's mistake is never INTERNAL.
LOCAL_REPLY_GRPC_CODES = {
    400: 3,  # INVALID_ARGUMENT: malformed JSON body, unknown query parameter, bad HTTP/1 request
    401: 16,  # UNAUTHENTICATED
    403: 7,  # PERMISSION_DENIED
    404: 5,  # NOT_FOUND: no such REST path or verb
    405: 12,  # UNIMPLEMENTED
    408: 4,  # DEADLINE_EXCEEDED
    # INVALID_ARGUMENT rather than RESOURCE_EXHAUSTED: the same body will always be too large, and
    # RESOURCE_EXHAUSTED (like 429) tells clients to back off and retry.
    413: 3,
    415: 3,
    429: 8,  # RESOURCE_EXHAUSTED
    431: 3,
    500: 13,  # INTERNAL
    501: 12,  # UNIMPLEMENTED
    502: 14,  # UNAVAILABLE
    503: 14,  # UNAVAILABLE: no healthy upstream, upstream reset, circuit breaker overflow
    504: 4,  # DEADLINE_EXCEEDED: route / stream timeout
}
UNKNOWN = 2

# Envoy's own texts for these ("upstream connect error or disconnect/reset before headers. reset reason:
# overflow", "no healthy upstream") do not say which service or what to do.
READABLE_FAILURES = {
    "UO": "the %UPSTREAM_CLUSTER% service is at its concurrency limit (circuit breaker open); retry later",
    "UH": "no healthy replica of the %UPSTREAM_CLUSTER% service; retry later",
}


def _status_is(status: int) -> AccessLogFilter:
    value = RuntimeUInt32(default_value=status)  # no runtime_key: always the default
    return AccessLogFilter(
        status_code_filter=StatusCodeFilter(
            comparison=ComparisonFilter(op=ComparisonFilterOp.EQ, value=value)
        )
    )


def _status_at_most(status: int) -> AccessLogFilter:
    value = RuntimeUInt32(default_value=status)
    return AccessLogFilter(
        status_code_filter=StatusCodeFilter(
            comparison=ComparisonFilter(op=ComparisonFilterOp.LE, value=value)
        )
    )


def _both(a: AccessLogFilter, b: AccessLogFilter) -> AccessLogFilter:
    return AccessLogFilter(and_filter=AndFilter(filters=[a, b]))


_REST = IS_REST


def _json_body(code: int, message: str = "%LOCAL_REPLY_BODY%") -> SubstitutionFormatString:
    return SubstitutionFormatString(
        json_format=Struct.from_dict({"code": code, "message": message, "details": []}),
        content_type="application/json",
    )


# jwt_authn answers 403 for a well-signed token of the wrong audience and 401 for every other bad token; it records
# each refusal under this key of its dynamic metadata (JwtProvider.failed_status_in_metadata).
JWT_FILTER = "envoy.filters.http.jwt_authn"
JWT_FAILURE_KEY = "jwt_failure"


def _token_refused() -> AccessLogFilter:
    refused = MetadataMatcher(
        filter=JWT_FILTER,
        path=[MetadataMatcherPathSegment(key=JWT_FAILURE_KEY)],
        value=ValueMatcher(present_match=True),
    )
    return AccessLogFilter(metadata_filter=MetadataFilter(matcher=refused, match_if_key_not_found=False))


def local_reply_config(*, rest: bool) -> LocalReplyConfig:
    """Readable texts for breaker overflow and no healthy replica; with `rest`, JSON bodies for REST callers.

    For a native gRPC request a body override becomes the grpc-message of Envoy's trailers-only reply (the
    grpc-status still follows the HTTP status: 503 -> UNAVAILABLE). For a REST request every local reply becomes
    {"code", "message", "details"} like the transcoder's converted gRPC errors, keeping the HTTP status.
    """
    mappers = []
    for flag, text in READABLE_FAILURES.items():
        flagged = AccessLogFilter(response_flag_filter=ResponseFlagFilter(flags=[flag]))
        if rest:
            mappers.append(
                ResponseMapper(filter=_both(flagged, _REST), body_format_override=_json_body(14, text))
            )
        mappers.append(
            ResponseMapper(
                filter=flagged,
                body_format_override=SubstitutionFormatString(
                    text_format_source=DataSource(inline_string=text)
                ),
            )
        )
    if rest:
        # Any token jwt_authn refuses is "not a valid token for this API": 401 / UNAUTHENTICATED, never 403.
        mappers += [
            ResponseMapper(
                filter=_both(_token_refused(), _REST), status_code=401, body_format_override=_json_body(16)
            ),
            ResponseMapper(filter=_token_refused(), status_code=401),
        ]
        mappers += [
            ResponseMapper(filter=_both(_status_is(status), _REST), body_format_override=_json_body(code))
            for status, code in LOCAL_REPLY_GRPC_CODES.items()
        ]
        # A matching mapper without overrides leaves the reply alone: the routes' direct responses (GET /docs,
        # envoy_docs) are local replies too, and a success is no error to rewrite.
        mappers.append(ResponseMapper(filter=_status_at_most(399)))
        mappers.append(ResponseMapper(filter=_REST, body_format_override=_json_body(UNKNOWN)))
    return LocalReplyConfig(mappers=mappers)
