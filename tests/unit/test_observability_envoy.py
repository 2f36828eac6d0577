"""Envoy's part of observability, as rendered: access logs, grpc_stats, the OpenTelemetry tracer and its
collector cluster (only when a collector is given), the metrics listener; where the launcher sends spans, and
what `make up` prints about them and about events."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from meshctl import envoy_config
from meshctl import envoy_observability as obs
from meshctl.cli import events, observability
from meshctl.launcher import Endpoints, _TracingPlan
from meshctl.topology import DEFAULT_DESCRIPTOR, Topology, load

HCM_TYPE = (
    "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
)


@pytest.fixture(scope="module")
def topology() -> Topology:
    return load()


def _render(topology: Topology, options: obs.Options | None = None) -> dict[str, Any]:
    return envoy_config.render(topology, descriptor_path=DEFAULT_DESCRIPTOR, observe=options)


def _hcms(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        listener["name"]: f["typedConfig"]
        for listener in config["staticResources"]["listeners"]
        for chain in listener["filterChains"]
        for f in chain["filters"]
        if f["typedConfig"]["@type"] == HCM_TYPE
    }


def test_by_default_every_listener_logs_as_json_and_counts_grpc_status_but_nothing_is_traced(
    topology: Topology,
) -> None:
    config = _render(topology)
    hcms = _hcms(config)
    assert set(hcms) == {"public", "internal"}
    for name, hcm in hcms.items():
        assert "tracing" not in hcm
        filters = [f["name"] for f in hcm["httpFilters"]]
        assert filters[-2:] == ["envoy.filters.http.grpc_stats", "envoy.filters.http.router"]
        stats = hcm["httpFilters"][-2]["typedConfig"]
        assert stats.get("statsForAllMethods", False) is False  # callers cannot mint stats
        logs = hcm["accessLog"]
        assert len(logs) == 2  # native gRPC with grpc_status, REST without
        formats = [log["typedConfig"]["logFormat"]["jsonFormat"] for log in logs]
        assert all(f["listener"] == name and f["trace_id"] == "%TRACE_ID%" for f in formats)
        assert "grpc_status" in formats[0] and "grpc_status" not in formats[1]
        assert not any(
            "authorization" in str(v).lower() or "cookie" in str(v).lower()
            for f in formats
            for v in f.values()
        )
    public = [f["name"] for f in hcms["public"]["httpFilters"]]
    assert public.index("envoy.filters.http.grpc_json_transcoder") < public.index(
        "envoy.filters.http.grpc_stats"
    )
    clusters = {c["name"] for c in config["staticResources"]["clusters"]}
    assert obs.COLLECTOR_CLUSTER not in clusters and obs.ADMIN_CLUSTER not in clusters
    assert "layeredRuntime" not in config


def test_a_collector_turns_on_the_tracer_on_both_listeners(topology: Topology, tmp_path: Path) -> None:
    options = obs.Options(collector=obs.Collector("127.0.0.1", 9903), flush_interval_ms=1000, metrics=True)
    config = _render(topology, options)
    hcms = _hcms(config)
    assert set(hcms) == {"public", "internal", "metrics"} and "accessLog" not in hcms.pop("metrics")
    for name, hcm in hcms.items():
        tracing = hcm["tracing"]
        # Public: Envoy samples new requests; internal: only what a service forces (x-client-trace-id), which
        # it does for the calls it records, so the internal hop follows the service's decision.
        assert tracing["randomSampling"] == ({"value": 100.0} if name == "public" else {})
        assert tracing["clientSampling"] == {"value": 100.0} and tracing["spawnUpstreamSpan"] is True
        assert tracing["customTags"] == [{"tag": "shopmesh.listener", "literal": {"value": name}}]
        otel = tracing["provider"]["typedConfig"]
        assert otel["serviceName"] == "shopmesh-envoy"
        assert otel["grpcService"]["envoyGrpc"]["clusterName"] == obs.COLLECTOR_CLUSTER
    (collector,) = [c for c in config["staticResources"]["clusters"] if c["name"] == obs.COLLECTOR_CLUSTER]
    assert collector["type"] == "STATIC"
    assert "http2ProtocolOptions" in str(collector["typedExtensionProtocolOptions"])
    runtime = config["layeredRuntime"]["layers"][0]["staticLayer"]
    assert runtime == {"tracing.opentelemetry.flush_interval_ms": 1000}
    metrics = next(lst for lst in config["staticResources"]["listeners"] if lst["name"] == "metrics")
    assert metrics["address"]["socketAddress"] == {
        "address": "127.0.0.1",
        "portValue": topology.gateway.metrics_port,
    }
    routes = metrics["filterChains"][0]["filters"][0]["typedConfig"]["routeConfig"]["virtualHosts"][0][
        "routes"
    ]
    assert [r["match"]["path"] for r in routes] == ["/stats/prometheus", "/ready"]
    path = tmp_path / "envoy.json"
    envoy_config.write(config, path)
    envoy_config.validate(path)


def test_an_otlp_http_collector_by_name_renders_a_dns_cluster_and_http_exporter(
    topology: Topology, tmp_path: Path
) -> None:
    collector = obs.Collector.from_endpoint("http://otel-collector.observability:4318", "http/protobuf")
    assert collector == obs.Collector("otel-collector.observability", 4318, "http/protobuf")
    config = _render(topology, obs.Options(collector=collector, sampling=10.0))
    otel = _hcms(config)["public"]["tracing"]["provider"]["typedConfig"]
    assert otel["httpService"]["httpUri"]["uri"] == "http://otel-collector.observability:4318/v1/traces"
    (cluster,) = [c for c in config["staticResources"]["clusters"] if c["name"] == obs.COLLECTOR_CLUSTER]
    assert (
        cluster["clusterType"]["name"] == "envoy.clusters.dns"
        and "typedExtensionProtocolOptions" not in cluster
    )
    path = tmp_path / "envoy.json"
    envoy_config.write(config, path)
    envoy_config.validate(path)


@pytest.mark.parametrize(
    ("endpoint", "protocol", "expected"),
    [
        ("http://127.0.0.1:4317", "grpc", obs.Collector("127.0.0.1", 4317)),
        ("collector:4317", "grpc", obs.Collector("collector", 4317)),
        ("http://collector", "grpc", obs.Collector("collector", 4317)),
        (
            "http://collector:4318/v1/traces",
            "http/protobuf",
            obs.Collector("collector", 4318, "http/protobuf"),
        ),
    ],
)
def test_collector_endpoints_parse(endpoint: str, protocol: str, expected: obs.Collector) -> None:
    assert obs.Collector.from_endpoint(endpoint, protocol) == expected


def test_tls_collectors_are_refused() -> None:
    with pytest.raises(ValueError, match="plaintext"):
        obs.Collector.from_endpoint("https://collector:4317")


def test_the_launcher_runs_a_sink_unless_a_collector_is_configured_or_tracing_is_off(
    topology: Topology, tmp_path: Path
) -> None:
    local = _TracingPlan.from_env({}, topology, tmp_path)
    assert (
        local.sink_listen == f"127.0.0.1:{topology.gateway.otlp_port}"
        and local.sink_dir == tmp_path / "traces"
    )
    env = local.service_env({})
    assert env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] == f"http://{local.sink_listen}"
    assert env["OTEL_TRACES_EXPORTER"] == "otlp" and env["OTEL_BSP_SCHEDULE_DELAY"] == "500"
    assert local.envoy_env({"OTEL_RESOURCE_ATTRIBUTES": "a=b"}) == {
        "OTEL_RESOURCE_ATTRIBUTES": "service.instance.id=envoy-0,a=b"
    }
    remote = _TracingPlan.from_env({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel:4317"}, topology, tmp_path)
    assert remote.sink_listen == "" and remote.collector == obs.Collector("otel", 4317)
    assert remote.service_env({}) == {}  # services read the same OTEL_* variables themselves
    for off in ({"OTEL_SDK_DISABLED": "true"}, {"OTEL_TRACES_EXPORTER": "none"}):
        plan = _TracingPlan.from_env(off, topology, tmp_path)
        assert plan.collector is None and plan.sink_listen == "" and plan.envoy_options().collector is None


def test_trace_sampling_reaches_envoy_and_the_services_unless_they_chose_a_sampler(
    topology: Topology, tmp_path: Path
) -> None:
    every = _TracingPlan.from_env({}, topology, tmp_path)
    assert every.envoy_options().sampling == 100.0 and "OTEL_TRACES_SAMPLER" not in every.service_env({})
    some = _TracingPlan.from_env({}, topology, tmp_path, sampling=1.0)
    assert some.envoy_options().sampling == 1.0
    env = some.service_env({})
    assert (
        env["OTEL_TRACES_SAMPLER"] == "parentbased_traceidratio" and env["OTEL_TRACES_SAMPLER_ARG"] == "0.01"
    )
    chosen = {"OTEL_TRACES_SAMPLER": "always_off"}
    assert "OTEL_TRACES_SAMPLER" not in some.service_env(chosen)  # the environment's own choice stands
    remote = _TracingPlan.from_env(
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel:4317"}, topology, tmp_path, 5.0
    )
    assert remote.service_env({}) == {
        "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
        "OTEL_TRACES_SAMPLER_ARG": "0.05",
    }


def test_up_prints_where_traces_go_and_every_scrape_target() -> None:
    endpoints = Endpoints(
        gateway="127.0.0.1:8080",
        internal="127.0.0.1:8081",
        admin="127.0.0.1:9901",
        replicas={"users": ["127.0.0.1:50100", "127.0.0.1:50101"]},
        metrics={"users": ["127.0.0.1:51100", "127.0.0.1:51101"]},
        envoy_metrics="127.0.0.1:9902",
        traces="var/traces",
    )
    text = observability(endpoints)
    assert "Traces: var/traces/spans.jsonl; `make trace` shows the latest one" in text
    for url in ("http://127.0.0.1:51100/metrics", "http://127.0.0.1:51101/metrics",
                "http://127.0.0.1:9902/stats/prometheus"):  # fmt: skip
        assert f"  {url}\n" in text + "\n"


def test_up_prints_the_broker_and_where_e_mails_go() -> None:
    local = Endpoints(
        gateway="127.0.0.1:8080",
        internal="127.0.0.1:8081",
        admin="127.0.0.1:9901",
        replicas={},
        nats="nats://127.0.0.1:4222",
        nats_monitor="127.0.0.1:8222",
        mail_dir="/srv/run/mail",
    )
    assert events(local, {}).splitlines() == [
        "Events: nats://127.0.0.1:4222 (NATS JetStream; monitoring: http://127.0.0.1:8222/jsz)",
        "E-mails: .eml files in /srv/run/mail/ (set SVC_NOTIFICATION_SMTP_URL to send them)",
    ]
    external = replace(local, nats="nats://broker:4222", nats_monitor="")
    secret = "smtp://mailer:hunter2@smtp.example"
    text = events(external, {"SVC_NOTIFICATION_SMTP_URL": secret})
    assert "Events: nats://broker:4222 (external NATS)" in text and "SMTP server" in text
    assert "hunter2" not in text  # the URL may carry a password
