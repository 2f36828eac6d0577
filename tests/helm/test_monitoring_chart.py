"""The chart's Prometheus Operator objects (observability.prometheus.rules / podMonitors): off by default; on, a
PrometheusRule holding exactly the repository's rules, and PodMonitors whose selectors pick the right pods, on
ports those pods declare, labelling each target job=shopmesh-<component> as the rules expect."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes_validate import utils as kv_utils

from meshctl import kubernetes
from tests.helm.conftest import KUBE_VERSIONS, NAMESPACE, find, helm, of_kind, render, template_args
from tests.helm.test_chart import FULLNAME, MESH, SERVICES

ROOT = Path(__file__).resolve().parents[2]
RULES = sorted((ROOT / "monitoring" / "rules").glob("*.yml"))
ON = (
    "--set", "observability.prometheus.scrape=true",
    "--set", "observability.prometheus.podMonitors.enabled=true",
    "--set", "observability.prometheus.rules.enabled=true",
    "--set", "observability.prometheus.podMonitors.labels.release=kube-prometheus-stack",
    "--set", "observability.prometheus.rules.labels.release=kube-prometheus-stack",
)  # fmt: skip
OPERATOR_KINDS = ("PrometheusRule", "PodMonitor", "ServiceMonitor")


@pytest.fixture(scope="module")
def docs() -> list[dict[str, Any]]:
    return render(*ON)


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expr in selector.get("matchExpressions", []):
        assert expr["operator"] == "In", expr
        if labels.get(expr["key"]) not in expr["values"]:
            return False
    return True


def _pods(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Pod templates of every Deployment and StatefulSet, by workload name."""
    return {
        d["metadata"]["name"]: d["spec"]["template"]
        for d in docs
        if d["kind"] in ("Deployment", "StatefulSet")
    }


def _job(endpoint: dict[str, Any], pod_labels: dict[str, str]) -> str:
    """The job label Prometheus gives a target after the endpoint's relabelings (replace, the default action)."""
    job = "<operator's default>"
    for step in endpoint.get("relabelings", []):
        assert step.get("action", "replace") == "replace"
        if step["targetLabel"] != "job":
            continue
        meta = {
            f"__meta_kubernetes_pod_label_{re.sub(r'[^a-zA-Z0-9_]', '_', k)}": v
            for k, v in pod_labels.items()
        }
        value = ";".join(meta.get(s, "") for s in step.get("sourceLabels", []))
        match = re.fullmatch(step.get("regex", "(.*)"), value)
        assert match
        job = match.expand(step["replacement"].replace("$1", r"\1"))
    return job


def test_nothing_of_the_operator_by_default() -> None:
    docs = render()
    assert [d for d in docs if d["kind"] in OPERATOR_KINDS] == []
    assert not [d for d in docs if "nats-exporter" in d["metadata"]["name"]]


def test_the_prometheus_rule_holds_the_repositorys_rules(docs: list[dict[str, Any]]) -> None:
    rule = find(docs, "PrometheusRule", FULLNAME)
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    expected = [g for path in RULES for g in yaml.safe_load(path.read_text())["groups"]]
    assert rule["spec"] == {"groups": expected}
    # The chart's copies are the repository's files, byte for byte (`make chart` refreshes them).
    for path in RULES:
        copy = kubernetes.CHART_DIR / "files" / "monitoring" / path.name
        assert copy.read_text() == path.read_text(), f"{copy} is stale: run `make chart`"
    copies = {p.name for p in (kubernetes.CHART_DIR / "files" / "monitoring").glob("*.yml")}
    assert copies == {p.name for p in RULES}


def test_rules_alone_need_no_pod_monitors() -> None:
    docs = render("--set", "observability.prometheus.rules.enabled=true")
    assert [d["kind"] for d in docs if d["kind"] in OPERATOR_KINDS] == ["PrometheusRule"]


def test_the_services_pod_monitor_scrapes_every_replica_as_its_service(docs: list[dict[str, Any]]) -> None:
    monitor = find(docs, "PodMonitor", f"{FULLNAME}-services")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["path"] == "/metrics"
    assert (endpoint["interval"], endpoint["scrapeTimeout"]) == ("30s", "10s")
    selected = {
        n: p for n, p in _pods(docs).items() if _selects(monitor["spec"]["selector"], p["metadata"]["labels"])
    }
    assert set(selected) == {f"{FULLNAME}-{s}" for s in SERVICES}
    for name, pod in selected.items():
        service = name.removeprefix(f"{FULLNAME}-")
        ports = {p["name"]: p["containerPort"] for p in pod["spec"]["containers"][0]["ports"]}
        assert ports[endpoint["port"]] == 9464
        assert _job(endpoint, pod["metadata"]["labels"]) == f"shopmesh-{service}"


def test_the_envoy_pod_monitor_scrapes_its_metrics_listener(docs: list[dict[str, Any]]) -> None:
    monitor = find(docs, "PodMonitor", f"{FULLNAME}-envoy")
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["path"] == "/stats/prometheus"
    selected = {
        n: p for n, p in _pods(docs).items() if _selects(monitor["spec"]["selector"], p["metadata"]["labels"])
    }
    assert list(selected) == [f"{FULLNAME}-envoy"]
    pod = selected[f"{FULLNAME}-envoy"]
    ports = {p["name"]: p["containerPort"] for p in pod["spec"]["containers"][0]["ports"]}
    assert ports[endpoint["port"]] == MESH["gateway"]["metricsPort"]
    # The Envoy rules select this job: Envoy's metric names are shared with every other Envoy.
    assert _job(endpoint, pod["metadata"]["labels"]) == "shopmesh-envoy"
    assert 'job="shopmesh-envoy"' in (RULES[0].read_text())


def test_the_broker_is_scraped_through_its_exporter(docs: list[dict[str, Any]]) -> None:
    exporter = find(docs, "Deployment", f"{FULLNAME}-nats-exporter")
    container = exporter["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "docker.io/natsio/prometheus-nats-exporter:0.20.1"
    monitor_port = MESH["broker"]["monitorPort"]
    # It reads the StatefulSet's one pod by its stable name, on the monitoring port.
    assert container["args"][-1] == (
        f"http://{FULLNAME}-nats-0.{FULLNAME}-nats-headless.{NAMESPACE}.svc.cluster.local:{monitor_port}"
    )
    nats = find(docs, "StatefulSet", f"{FULLNAME}-nats")
    nats_ports = {
        p["name"]: p["containerPort"] for p in nats["spec"]["template"]["spec"]["containers"][0]["ports"]
    }
    assert nats_ports["monitor"] == monitor_port
    assert nats["spec"]["serviceName"] == f"{FULLNAME}-nats-headless"
    monitor = find(docs, "PodMonitor", f"{FULLNAME}-nats")
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    selected = {
        n: p for n, p in _pods(docs).items() if _selects(monitor["spec"]["selector"], p["metadata"]["labels"])
    }
    assert list(selected) == [f"{FULLNAME}-nats-exporter"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports[endpoint["port"]] == 7777 and endpoint["path"] == "/metrics"
    assert _job(endpoint, exporter["spec"]["template"]["metadata"]["labels"]) == "shopmesh-nats"


def test_network_policies_let_the_exporter_read_the_broker_and_nothing_else(
    docs: list[dict[str, Any]],
) -> None:
    exporter_labels = find(docs, "Deployment", f"{FULLNAME}-nats-exporter")["spec"]["template"]["metadata"][
        "labels"
    ]
    nats_labels = find(docs, "StatefulSet", f"{FULLNAME}-nats")["spec"]["template"]["metadata"]["labels"]
    monitor_port = MESH["broker"]["monitorPort"]
    # Which policies let the exporter into the broker's monitoring port: only the chart's addition.
    allowing = []
    for policy in of_kind(docs, "NetworkPolicy"):
        if not _selects(policy["spec"]["podSelector"], nats_labels):
            continue
        for rule in policy["spec"].get("ingress", []):
            peers = rule.get("from", [])
            ports = {p["port"] for p in rule.get("ports", [])}
            if monitor_port in ports and any(_selects(p["podSelector"], exporter_labels) for p in peers):
                allowing.append(policy["metadata"]["name"])
            if monitor_port in ports:
                # No one but the exporter gets the monitoring port (kubelet probes are not subject to policies).
                assert peers and all(_selects(p["podSelector"], exporter_labels) for p in peers)
    assert allowing == [f"{FULLNAME}-nats-monitoring"]
    own = find(docs, "NetworkPolicy", f"{FULLNAME}-nats-exporter")
    assert _selects(own["spec"]["podSelector"], exporter_labels)
    assert own["spec"]["policyTypes"] == ["Ingress", "Egress"]
    egress_ports = {p["port"] for rule in own["spec"]["egress"] for p in rule["ports"]}
    assert egress_ports == {monitor_port, 53}


@pytest.mark.parametrize("version", KUBE_VERSIONS)
def test_the_kubernetes_objects_validate(docs: list[dict[str, Any]], version: str) -> None:
    """The operator's kinds have no schema in kubernetes-validate; everything else must pass strictly."""
    for doc in docs:
        if doc["kind"] not in OPERATOR_KINDS:
            kv_utils.validate(doc, version, strict=True)


def test_without_the_bundled_broker_there_is_no_exporter() -> None:
    docs = render(*ON, "--set", "nats.enabled=false", "--set", "nats.url=nats://nats.nats.svc:4222")
    assert {d["metadata"]["name"] for d in of_kind(docs, "PodMonitor")} == {
        f"{FULLNAME}-services",
        f"{FULLNAME}-envoy",
    }
    assert not [d for d in docs if "nats-exporter" in d["metadata"]["name"]]


def test_pod_monitors_need_the_scrape_ports() -> None:
    proc = helm(*template_args("--set", "observability.prometheus.podMonitors.enabled=true"))
    assert proc.returncode != 0
    assert "podMonitors.enabled needs observability.prometheus.scrape=true" in proc.stderr


# -- the Grafana dashboard -------------------------------------------------------------------------------------

DASHBOARDS = sorted((ROOT / "monitoring" / "dashboards").glob("*.json"))
GRAFANA_ON = ("--set", "observability.grafana.dashboards.enabled=true")


def _dashboard_maps(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [d for d in of_kind(docs, "ConfigMap") if "-dashboard-" in d["metadata"]["name"]]


def test_no_dashboard_by_default() -> None:
    assert _dashboard_maps(render()) == []
    assert _dashboard_maps(render(*ON)) == []  # the rules and monitors do not bring it


def test_the_dashboard_config_map_holds_the_repositorys_json_in_the_sidecars_convention() -> None:
    (config_map,) = _dashboard_maps(render(*GRAFANA_ON))
    meta = config_map["metadata"]
    assert meta["name"] == f"{FULLNAME}-dashboard-shopmesh"
    assert meta["namespace"] == NAMESPACE
    assert meta["labels"]["grafana_dashboard"] == "1"
    assert meta["labels"]["app.kubernetes.io/component"] == "monitoring"
    assert "annotations" not in meta  # no folder asked for: the sidecar's default
    (path,) = DASHBOARDS
    assert config_map["data"] == {"shopmesh.json": path.read_text().rstrip("\n")}
    assert json.loads(config_map["data"]["shopmesh.json"]) == json.loads(path.read_text())
    # The chart's copy is the repository's file, byte for byte (`make chart` refreshes it).
    copy = kubernetes.CHART_DIR / "files" / "monitoring" / "dashboards" / path.name
    assert copy.read_text() == path.read_text(), f"{copy} is stale: run `make chart`"


def test_the_sidecars_label_namespace_and_folder_are_values() -> None:
    (config_map,) = _dashboard_maps(
        render(
            *GRAFANA_ON,
            "--set", "observability.grafana.dashboards.label=grafana.example/dashboard",
            "--set", "observability.grafana.dashboards.labelValue=shop",
            "--set", "observability.grafana.dashboards.namespace=monitoring",
            "--set", "observability.grafana.dashboards.folder=Shop floor",
            "--set", "observability.grafana.dashboards.folderAnnotation=grafana.example/folder",
            "--set", "observability.grafana.dashboards.labels.team=payments",
            "--set", "observability.grafana.dashboards.annotations.owner=sre",
        )
    )  # fmt: skip
    meta = config_map["metadata"]
    assert meta["namespace"] == "monitoring"
    assert meta["labels"]["grafana.example/dashboard"] == "shop" and "grafana_dashboard" not in meta["labels"]
    assert meta["labels"]["team"] == "payments"
    assert meta["annotations"] == {"grafana.example/folder": "Shop floor", "owner": "sre"}


def test_a_label_the_api_server_refuses_is_refused_by_the_schema() -> None:
    result = helm(*template_args(*GRAFANA_ON, "--set", "observability.grafana.dashboards.labelValue=-bad-"))
    assert result.returncode != 0 and "labelValue" in result.stderr


@pytest.mark.parametrize("version", KUBE_VERSIONS)
def test_the_dashboard_config_map_validates(version: str) -> None:
    (config_map,) = _dashboard_maps(
        render(*GRAFANA_ON, "--set", "observability.grafana.dashboards.folder=Shop")
    )
    kv_utils.validate(config_map, version, strict=True)
    # Far below the API server's 1 MiB per object.
    assert len(json.dumps(config_map)) < 512 * 1024
