"""Tests for meshctl.envoy_config: public-method discovery, rendered routes/clusters, Envoy validation."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from envoy_data_plane.envoy.config.cluster.v3 import OutlierDetection

from meshctl import envoy_config
from meshctl.envoy_policies import LOCAL_REPLY_GRPC_CODES
from meshctl.topology import DEFAULT_DESCRIPTOR, DEFAULT_TOPOLOGY, Topology, load

INTERNAL_METHODS = {
    "shopmesh.product.v1.ProductService": {"ReserveStock", "ReleaseStock"},
    "shopmesh.payment.v1.PaymentService": {"Charge", "Refund"},
}
REFLECTION = ["/grpc.reflection.v1.ServerReflection/", "/grpc.reflection.v1alpha.ServerReflection/"]


@pytest.fixture(scope="module")
def topology() -> Topology:
    return load()


@pytest.fixture(scope="module")
def config(topology: Topology) -> dict[str, Any]:
    return envoy_config.render(topology, descriptor_path=DEFAULT_DESCRIPTOR)


def _hcm(config: dict[str, Any], listener: str) -> dict[str, Any]:
    (found,) = [x for x in config["staticResources"]["listeners"] if x["name"] == listener]
    (chain,) = found["filterChains"]
    (network_filter,) = chain["filters"]
    return network_filter["typedConfig"]


def _routes(config: dict[str, Any], listener: str) -> list[dict[str, Any]]:
    (vhost,) = _hcm(config, listener)["routeConfig"]["virtualHosts"]
    assert vhost["domains"] == ["*"]
    # The /docs routes answer from files (direct_response; tests/unit/test_envoy_docs.py): none goes upstream.
    return [r for r in vhost["routes"] if "directResponse" not in r]


def _cluster(config: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [c for c in config["staticResources"]["clusters"] if c["name"] == name]
    return found


def _write_and_validate(config: dict[str, Any], path: Path) -> None:
    envoy_config.write(config, path)
    envoy_config.validate(path)


def test_public_methods_from_real_descriptor() -> None:
    public = envoy_config.public_methods(DEFAULT_DESCRIPTOR)
    assert public["shopmesh.product.v1.ProductService"] == [
        "CreateProduct",
        "GetProduct",
        "ListProducts",
        "UpdateProduct",
    ]
    assert public["shopmesh.order.v1.OrderService"] == [
        "CancelOrder",
        "CreateOrder",
        "GetOrder",
        "ListOrders",
    ]
    assert public["shopmesh.user.v1.UserService"] == ["CreateUser", "GetJwks", "GetUser", "Login"]
    assert public["shopmesh.payment.v1.PaymentService"] == ["GetPayment"]
    for service, internal in INTERNAL_METHODS.items():
        assert not internal & set(public[service])


def test_default_config_passes_envoy_validate(config: dict[str, Any], tmp_path: Path) -> None:
    assert "localReplyConfig" in _hcm(config, "public")  # validated along with the rest
    path = tmp_path / "envoy.json"
    _write_and_validate(config, path)
    assert path.read_text().endswith("}\n")


def test_public_listener_routes_only_public_methods_and_reflection(
    config: dict[str, Any], topology: Topology
) -> None:
    routes = _routes(config, "public")
    # The publicly cacheable RPCs have a second route for requests with a token (see the caching test).
    authorized = [r["match"]["path"] for r in routes if "headers" in r["match"]]
    assert authorized == [f"/{rpc}" for rpc, _ in topology.gateway.public_cache_seconds]
    routes = [r for r in routes if "headers" not in r["match"]]
    paths = {r["match"]["path"]: r["route"]["cluster"] for r in routes if "path" in r["match"]}
    prefixes = {r["match"]["prefix"]: r["route"] for r in routes if "prefix" in r["match"]}
    assert len(paths) + len(prefixes) == len(routes)  # nothing matched by any other means

    expected = {
        f"/{grpc}/{method}": svc.name
        for svc in topology.services
        for grpc in svc.grpc_services
        for method in envoy_config.public_methods(DEFAULT_DESCRIPTOR)[grpc]
    }
    health_check = "/grpc.health.v1.Health/Check"
    assert paths == {**expected, health_check: topology.gateway.reflection_service}
    assert "/shopmesh.product.v1.ProductService/GetProduct" in paths
    for service, internal in INTERNAL_METHODS.items():
        assert not {f"/{service}/{m}" for m in internal} & set(paths)

    assert sorted(prefixes) == sorted([*REFLECTION, "/grpc.health.v1.Health/"])  # Watch: a stream
    for action in prefixes.values():
        assert action == {"cluster": topology.gateway.reflection_service, "timeout": "0s"}


def _action(config: dict[str, Any], listener: str, path: str) -> dict[str, Any]:
    (route,) = [
        r for r in _routes(config, listener) if r["match"].get("path") == path and "headers" not in r["match"]
    ]
    return dict(route["route"])


def test_anonymous_catalog_reads_are_public_and_everything_else_private(
    config: dict[str, Any], topology: Topology
) -> None:
    (vhost,) = _hcm(config, "public")["routeConfig"]["virtualHosts"]
    assert vhost["responseHeadersToAdd"] == [
        {"header": {"key": "cache-control", "value": "private, no-store"}, "appendAction": "ADD_IF_ABSENT"}
    ]
    cached = dict(topology.gateway.public_cache_seconds)
    assert set(cached) == {
        "shopmesh.product.v1.ProductService/GetProduct",
        "shopmesh.product.v1.ProductService/ListProducts",
    }
    for rpc, seconds in cached.items():
        routes = [r for r in _routes(config, "public") if r["match"].get("path") == f"/{rpc}"]
        authorized, anonymous = routes  # the first match wins: a request with a token takes the private one
        assert authorized["match"]["headers"] == [{"name": "authorization", "presentMatch": True}]
        assert "responseHeadersToAdd" not in authorized and authorized["route"] == anonymous["route"]
        assert anonymous["responseHeadersToAdd"] == [
            {
                "header": {"key": "cache-control", "value": f"public, max-age={seconds}"},
                "appendAction": "ADD_IF_ABSENT",
            }
        ]
    create = [r for r in _routes(config, "public") if r["match"].get("path", "").endswith("/CreateProduct")]
    assert len(create) == 1 and "responseHeadersToAdd" not in create[0]
    internal = _hcm(config, "internal")["routeConfig"]["virtualHosts"][0]
    assert "responseHeadersToAdd" not in internal  # service-to-service answers carry no HTTP caching advice


def test_only_open_rpcs_may_be_publicly_cached(tmp_path: Path) -> None:
    text = DEFAULT_TOPOLOGY.read_text().replace(
        '"shopmesh.product.v1.ProductService/GetProduct" = 5',
        '"shopmesh.order.v1.OrderService/GetOrder" = 5',
    )
    path = tmp_path / "topology.toml"
    path.write_text(text)
    with pytest.raises(ValueError, match=r"need a token: shopmesh\.order\.v1\.OrderService/GetOrder"):
        load(path)


def test_route_policy_of_a_read(config: dict[str, Any]) -> None:
    action = _action(config, "public", "/shopmesh.order.v1.OrderService/GetOrder")
    assert action["cluster"] == "orders"
    assert action["timeout"] == "30s"
    assert action["maxStreamDuration"] == {
        "maxStreamDuration": "30s",
        "grpcTimeoutHeaderMax": "30s",
        "grpcTimeoutHeaderOffset": "0.050s",
    }
    retry = action["retryPolicy"]
    assert retry["retryOn"] == "unavailable,cancelled,reset,connect-failure,refused-stream"
    assert retry["numRetries"] == 3
    assert retry["perTryTimeout"] == "2s"
    assert retry["retryBackOff"] == {"baseInterval": "0.050s", "maxInterval": "1s"}
    assert retry["retryHostPredicate"][0]["name"] == "envoy.retry_host_predicates.previous_hosts"
    assert int(retry["hostSelectionRetryMaxAttempts"]) == 5  # int64: a string in proto3 JSON
    assert action["hedgePolicy"] == {"hedgeOnPerTryTimeout": True}


def test_route_policy_of_a_write_gives_one_attempt_the_whole_timeout(config: dict[str, Any]) -> None:
    action = _action(config, "public", "/shopmesh.order.v1.OrderService/CreateOrder")
    retry = action["retryPolicy"]
    assert retry["retryOn"] == "unavailable,cancelled,reset,connect-failure,refused-stream"
    assert retry["perTryTimeout"] == action["timeout"] == "30s"
    assert "hedgePolicy" not in action
    internal = _action(config, "internal", "/shopmesh.payment.v1.PaymentService/Charge")
    assert internal["cluster"] == "payments" and internal["retryPolicy"]["perTryTimeout"] == "10s"


def test_public_listener_filters(config: dict[str, Any], topology: Topology) -> None:
    hcm = _hcm(config, "public")
    assert hcm["statPrefix"] == "public"
    assert hcm["useRemoteAddress"] is True
    assert hcm.get("codecType", "AUTO") == "AUTO"  # AUTO is the default, so proto3 JSON omits it
    names = [f["name"] for f in hcm["httpFilters"]]
    # grpc_stats (envoy_observability) right before the router, after the transcoder.
    assert names[-2:] == ["envoy.filters.http.grpc_stats", "envoy.filters.http.router"]
    transcoder = hcm["httpFilters"][names.index("envoy.filters.http.grpc_json_transcoder")]
    t = transcoder["typedConfig"]
    assert t["protoDescriptor"] == str(DEFAULT_DESCRIPTOR.resolve())
    assert t["services"] == [g for s in topology.services for g in s.grpc_services]
    assert not t.get("autoMapping")
    assert t["convertGrpcStatus"] is True
    assert t["printOptions"] == {"alwaysPrintPrimitiveFields": True, "preserveProtoFieldNames": True}
    assert t["requestValidationOptions"] == {
        "rejectUnknownMethod": True,
        "rejectUnknownQueryParameters": True,
        "rejectBindingBodyFieldCollisions": True,
    }
    assert (t["maxRequestBodySize"], t["maxResponseBodySize"]) == (1 << 20, 4 << 20)


def _jwt_providers(config: dict[str, Any]) -> list[dict[str, Any]]:
    filters = _hcm(config, "public")["httpFilters"]
    (jwt,) = [f for f in filters if f["name"] == "envoy.filters.http.jwt_authn"]
    return list(jwt["typedConfig"]["providers"].values())


def test_public_security_filters_in_order(config: dict[str, Any], topology: Topology) -> None:
    filters = _hcm(config, "public")["httpFilters"]
    names = [f["name"] for f in filters]
    # Strip forged identity first; cap bodies before transcoding; rate limit before paying for signatures.
    order = [
        "envoy.filters.http.header_mutation",
        "envoy.filters.http.buffer",
        "envoy.filters.http.grpc_json_transcoder",
        "envoy.filters.http.local_ratelimit",
        "envoy.filters.http.jwt_authn",
    ]
    assert [n for n in names if n in order] == order
    strip = filters[0]["typedConfig"]["mutations"]["requestMutations"]
    assert strip[0] == {"removeOnMatch": {"keyMatcher": {"prefix": "x-shopmesh-"}}}
    unforwardable = re.compile(strip[1]["removeOnMatch"]["keyMatcher"]["safeRegex"]["regex"])
    dropped = {"+", "a+b", "x-note-bin", "grpc-trace-bin", "-bin", "x:y", "caf\u00e9", "a b"}
    kept = {
        ":path",
        ":authority",
        "authorization",
        "content-type",
        "x-request-id",
        "traceparent",
        "grpc-timeout",
    }
    assert {
        key for key in dropped | kept if unforwardable.fullmatch(key)
    } == dropped  # Envoy matches the whole key
    buffer = filters[1]["typedConfig"]
    assert buffer["extensionConfig"]["typedConfig"]["maxRequestBytes"] == topology.gateway.max_request_bytes
    (skip,) = buffer["xdsMatcher"]["matcherList"]["matchers"]
    assert skip["predicate"]["singlePredicate"]["valueMatch"] == {
        "prefix": "application/grpc"
    }  # gRPC skips it
    (provider,) = _jwt_providers(config)
    assert (provider["issuer"], provider["audiences"]) == (
        topology.gateway.jwt_issuer,
        [topology.gateway.jwt_audience],
    )
    assert provider["forwardPayloadHeader"] == "x-shopmesh-jwt-payload" and not provider.get("forward")
    rules = filters[names.index("envoy.filters.http.jwt_authn")]["typedConfig"]["rules"]
    open_paths = {r["match"]["path"] for r in rules if "path" in r["match"] and "requires" not in r}
    assert open_paths == {f"/{rpc}" for rpc in topology.gateway.open_rpcs} | {"/docs"}  # + the API reference
    assert rules[-1] == {"match": {"prefix": "/"}, "requires": {"providerName": "shopmesh"}}


REST_ONLY = {
    "orFilter": {
        "filters": [
            {
                "headerFilter": {
                    "header": {
                        "name": "content-type",
                        "stringMatch": {"prefix": "application/grpc"},
                        "invertMatch": True,
                        "treatMissingHeaderAsEmpty": True,
                    }
                }
            },
            {"headerFilter": {"header": {"name": "x-envoy-original-path", "presentMatch": True}}},
        ]
    }
}


def _readable_mappers(mappers: list[dict[str, Any]], rest: bool) -> list[dict[str, Any]]:
    """The mappers rewording breaker overflow (UO) and no healthy upstream (UH): REST (JSON) then gRPC (text)."""
    readable = mappers[: 4 if rest else 2]
    flags = []
    for mapper in readable:
        flag_filter = (
            mapper["filter"]["andFilter"]["filters"][0]
            if "andFilter" in mapper["filter"]
            else mapper["filter"]
        )
        flags.append(flag_filter["responseFlagFilter"]["flags"][0])
    assert flags == (["UO", "UO", "UH", "UH"] if rest else ["UO", "UH"])
    for mapper in readable:
        body = mapper["bodyFormatOverride"]
        text = (
            body["jsonFormat"]["message"]
            if "jsonFormat" in body
            else body["textFormatSource"]["inlineString"]
        )
        assert "%UPSTREAM_CLUSTER% service" in text
    return readable


def test_breaker_and_no_healthy_upstream_replies_are_readable(config: dict[str, Any]) -> None:
    public = _readable_mappers(_hcm(config, "public")["localReplyConfig"]["mappers"], rest=True)
    assert public[0]["bodyFormatOverride"]["jsonFormat"]["code"] == 14
    assert public[0]["filter"]["andFilter"]["filters"][1] == REST_ONLY
    internal = _hcm(config, "internal")["localReplyConfig"]["mappers"]
    assert len(_readable_mappers(internal, rest=False)) == len(internal)


def test_every_refused_token_is_a_401(config: dict[str, Any]) -> None:
    # jwt_authn's 403 (wrong audience) included: both mappers key on its failure metadata.
    rest_json, grpc_mapper = _hcm(config, "public")["localReplyConfig"]["mappers"][4:6]
    refused = {
        "metadataFilter": {
            "matcher": {
                "filter": "envoy.filters.http.jwt_authn",
                "path": [{"key": "jwt_failure"}],
                "value": {"presentMatch": True},
            },
            "matchIfKeyNotFound": False,
        }
    }
    assert rest_json["filter"]["andFilter"]["filters"] == [refused, REST_ONLY]
    assert rest_json["statusCode"] == 401 and rest_json["bodyFormatOverride"]["jsonFormat"]["code"] == 16
    assert grpc_mapper == {"filter": refused, "statusCode": 401}
    (provider,) = _jwt_providers(config)
    assert provider["failedStatusInMetadata"] == "jwt_failure"


def test_public_local_replies_to_rest_become_json_status(config: dict[str, Any]) -> None:
    local_reply = _hcm(config, "public")["localReplyConfig"]
    assert "bodyFormat" not in local_reply  # unmatched (gRPC) local replies keep Envoy's default
    *by_status, successes, fallback = local_reply["mappers"][6:]
    # Successful local replies (the /docs files) keep their body: a mapper that matches and changes nothing.
    assert successes == {
        "filter": {"statusCodeFilter": {"comparison": {"op": "LE", "value": {"defaultValue": 399}}}}
    }
    codes = {}
    for mapper in by_status:
        status_filter, rest = mapper["filter"]["andFilter"]["filters"]
        assert rest == REST_ONLY
        comparison = status_filter["statusCodeFilter"]["comparison"]
        assert comparison.get("op", "EQ") == "EQ"  # EQ is the default, so proto3 JSON omits it
        codes[comparison["value"]["defaultValue"]] = mapper["bodyFormatOverride"]["jsonFormat"]["code"]
    assert codes == LOCAL_REPLY_GRPC_CODES
    assert (codes[400], codes[404], codes[413], codes[503], codes[504]) == (3, 5, 3, 14, 4)
    assert not {13, 2} & {codes[s] for s in codes if s < 500}  # a client's mistake is never INTERNAL/UNKNOWN
    assert fallback["filter"] == REST_ONLY
    assert fallback["bodyFormatOverride"]["jsonFormat"]["code"] == 2
    for mapper in [*by_status, fallback]:
        assert "statusCode" not in mapper  # the HTTP status is kept
        body = mapper["bodyFormatOverride"]
        assert body["contentType"] == "application/json"
        assert body["jsonFormat"] == {
            "code": body["jsonFormat"]["code"],
            "message": "%LOCAL_REPLY_BODY%",
            "details": [],
        }


def test_internal_listener_routes_every_rpc(config: dict[str, Any], topology: Topology) -> None:
    hcm = _hcm(config, "internal")
    assert [f["name"] for f in hcm["httpFilters"]][-2:] == [
        "envoy.filters.http.grpc_stats",
        "envoy.filters.http.router",
    ]
    routes = _routes(config, "internal")
    every = envoy_config.rpc_methods(DEFAULT_DESCRIPTOR)
    assert {r["match"]["path"]: r["route"]["cluster"] for r in routes} == {
        f"/{g}/{m}": s.name for s in topology.services for g in s.grpc_services for m in every[g]
    }
    assert "/shopmesh.payment.v1.PaymentService/VoidCharge" in {r["match"]["path"] for r in routes}
    assert all("retryPolicy" in r["route"] and "maxStreamDuration" in r["route"] for r in routes)
    (listener,) = [x for x in config["staticResources"]["listeners"] if x["name"] == "internal"]
    assert listener["address"]["socketAddress"] == {"address": "127.0.0.1", "portValue": 8081}


def test_clusters(config: dict[str, Any], topology: Topology) -> None:
    names = [c["name"] for c in config["staticResources"]["clusters"]]
    assert names == [
        *(s.name for s in topology.gateway_services),
        "jwks",
    ]  # jwks: Envoy's own internal listener
    products = _cluster(config, "products")
    assert products["type"] == "STATIC"
    assert products["connectTimeout"] == "1s"
    assert products["lbPolicy"] == "LEAST_REQUEST"
    assert products["leastRequestLbConfig"] == {"choiceCount": 2}
    http2 = products["typedExtensionProtocolOptions"][
        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
    ]
    assert http2["explicitHttpConfig"]["http2ProtocolOptions"] == {
        "maxConcurrentStreams": 100,
        "connectionKeepalive": {"interval": "30s", "timeout": "5s"},
    }
    (hc,) = products["healthChecks"]
    assert hc["grpcHealthCheck"] == {"serviceName": "shopmesh.product.v1.ProductService"}
    assert (hc["timeout"], hc["interval"], hc["noTrafficInterval"]) == ("1s", "2s", "2s")
    assert (hc["unhealthyThreshold"], hc["healthyThreshold"]) == (2, 1)
    outlier = products["outlierDetection"]
    assert outlier["splitExternalLocalOriginErrors"] is True
    assert (outlier["consecutiveGatewayFailure"], outlier["enforcingConsecutiveGatewayFailure"]) == (3, 100)
    local_origin = (
        outlier["consecutiveLocalOriginFailure"],
        outlier["enforcingConsecutiveLocalOriginFailure"],
    )
    assert local_origin == (1, 100)
    assert (outlier["consecutive5xx"], outlier["enforcingConsecutive5xx"]) == (5, 0)  # the casing fix applied
    assert outlier["maxEjectionPercent"] == 50 and outlier["baseEjectionTime"] == "5s"
    (breaker,) = products["circuitBreakers"]["thresholds"]
    assert (breaker["maxRequests"], breaker["maxPendingRequests"]) == (256, 128)
    assert breaker["retryBudget"] == {"budgetPercent": {"value": 20.0}, "minRetryConcurrency": 10}
    assert products["commonLbConfig"] == {
        "healthyPanicThreshold": {},
        "updateMergeWindow": "0s",
    }  # 0%: no panic
    (locality,) = products["loadAssignment"]["endpoints"]
    sockets = [e["endpoint"]["address"]["socketAddress"] for e in locality["lbEndpoints"]]
    assert sockets == [{"address": "127.0.0.1", "portValue": p} for p in topology.service("products").ports()]


def test_a_service_without_an_api_gets_no_cluster_route_or_health_check(
    config: dict[str, Any], topology: Topology, tmp_path: Path
) -> None:
    notifications = topology.service("notifications")
    assert not notifications.behind_gateway and notifications not in topology.gateway_services
    assert [s.name for s in topology.gateway_services] == ["users", "products", "orders", "payments"]
    clusters = config["staticResources"]["clusters"]
    assert "notifications" not in {c["name"] for c in clusters}
    routed = {r["route"]["cluster"] for listener in ("public", "internal") for r in _routes(config, listener)}
    assert routed == {s.name for s in topology.gateway_services}
    checked = [hc["grpcHealthCheck"]["serviceName"] for c in clusters for hc in c.get("healthChecks", [])]
    assert len(checked) == len(topology.gateway_services) and all(checked)
    # Not a replica port anywhere: Envoy never connects to it.
    rendered = json.dumps(config)
    assert all(
        f'"portValue": {p}' not in rendered for p in notifications.ports() + notifications.metrics_ports()
    )
    # The chart lists every service's endpoints: one without an API is accepted and left out.
    everyone = {s.name: [(f"{s.name}.svc", s.port)] for s in topology.services}
    charted = envoy_config.render(topology, descriptor_path=DEFAULT_DESCRIPTOR, endpoints=everyone)
    assert [c["name"] for c in charted["staticResources"]["clusters"]] == [c["name"] for c in clusters]
    _write_and_validate(charted, tmp_path / "envoy.json")


def test_topology_ports_include_the_broker_when_packed_or_shifted(topology: Topology) -> None:
    broker = topology.broker
    assert (broker.port, broker.monitor_port) == (4222, 8222)
    ports = topology.ports()
    assert ports[4222] == "the NATS broker" and ports[8222] == "the NATS broker's monitoring"
    assert ports[50500] == "notifications-0" and ports[51501] == "notifications-1's metrics"
    packed = topology.packed(20000)
    assert (packed.broker.port, packed.broker.monitor_port) == (20005, 20006)
    assert packed.packed_span == 60 and all(20000 <= p < 20060 for p in packed.ports())
    assert len(packed.ports()) == len(topology.ports())  # no two on one port
    shifted = topology.shifted(7)
    assert sorted(shifted.ports()) == [p + 7 for p in sorted(ports)]


def test_replicas_and_admin_stay_on_loopback(topology: Topology) -> None:
    wide = topology.with_gateway(bind="0.0.0.0").with_service("users", replicas=3)
    config = envoy_config.render(wide, descriptor_path=DEFAULT_DESCRIPTOR)
    assert config["admin"]["address"]["socketAddress"] == {"address": "127.0.0.1", "portValue": 9901}
    (public,) = [x for x in config["staticResources"]["listeners"] if x["name"] == "public"]
    assert public["address"]["socketAddress"]["address"] == "0.0.0.0"
    (locality,) = _cluster(config, "users")["loadAssignment"]["endpoints"]
    assert [e["endpoint"]["address"]["socketAddress"]["portValue"] for e in locality["lbEndpoints"]] == [
        50100,
        50101,
        50102,
    ]


def test_dns_endpoint_gives_dns_cluster_that_validates(topology: Topology, tmp_path: Path) -> None:
    endpoints = {"orders": [("orders-headless.shop.svc.cluster.local", 50300)]}
    config = envoy_config.render(topology, descriptor_path=DEFAULT_DESCRIPTOR, endpoints=endpoints)
    orders = _cluster(config, "orders")
    assert "type" not in orders
    assert orders["clusterType"] == {
        "name": "envoy.clusters.dns",
        "typedConfig": {
            "@type": "type.googleapis.com/envoy.extensions.clusters.dns.v3.DnsCluster",
            "dnsRefreshRate": "5s",
            "respectDnsTtl": True,
            "dnsLookupFamily": "V4_ONLY",
        },
    }
    assert _cluster(config, "products")["type"] == "STATIC"
    _write_and_validate(config, tmp_path / "envoy.json")


def test_unknown_endpoint_service_is_rejected(topology: Topology) -> None:
    with pytest.raises(ValueError, match="prodcts"):
        envoy_config.build_bootstrap(
            topology, descriptor_path=DEFAULT_DESCRIPTOR, endpoints={"prodcts": [("127.0.0.1", 1)]}
        )


def test_fix_keys_renames_miscased_keys_only() -> None:
    raw = {"outlierDetection": {"consecutive5Xx": 5, "enforcingConsecutive5Xx": 0}, "x": ["consecutive5Xx"]}
    assert envoy_config.fix_keys(raw) == {
        "outlierDetection": {"consecutive5xx": 5, "enforcingConsecutive5xx": 0},
        "x": ["consecutive5Xx"],  # values are not keys
    }
    assert envoy_config.fix_keys([{"traceId128Bit": True}, {"s2AAddress": "a"}]) == [
        {"traceId128bit": True},
        {"s2aAddress": "a"},
    ]


def test_casing_fix_makes_outlier_detection_loadable(topology: Topology, tmp_path: Path) -> None:
    bootstrap = envoy_config.build_bootstrap(topology, descriptor_path=DEFAULT_DESCRIPTOR)
    bootstrap.static_resources.clusters[0].outlier_detection = OutlierDetection(
        consecutive_5xx=5, enforcing_consecutive_5xx=0
    )
    raw = bootstrap.to_dict()
    assert raw["staticResources"]["clusters"][0]["outlierDetection"] == {
        "consecutive5Xx": 5,
        "enforcingConsecutive5Xx": 0,
    }
    with pytest.raises(envoy_config.EnvoyValidationError, match="consecutive5Xx"):
        _write_and_validate(raw, tmp_path / "broken.json")
    _write_and_validate(envoy_config.fix_keys(raw), tmp_path / "fixed.json")
