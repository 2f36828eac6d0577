"""The chart's scrape wiring: with `observability.prometheus.scrape`, every service serves /metrics on the
annotated port, Envoy's pods are annotated for its metrics listener, and the NetworkPolicies let the scraper in."""

from __future__ import annotations

import json
from typing import Any

from tests.helm.conftest import find, render
from tests.helm.test_chart import FULLNAME, MESH, TOPOLOGY


def _ingress_ports(policy: dict[str, Any]) -> set[int]:
    return {p["port"] for rule in policy["spec"]["ingress"] for p in rule.get("ports", [])}


def test_scraping_annotates_services_and_envoy_and_opens_their_metrics_ports() -> None:
    docs = render(
        "--set", "observability.prometheus.scrape=true", "--set", "observability.prometheus.port=9464"
    )
    for service in TOPOLOGY.services:
        template = find(docs, "Deployment", f"{FULLNAME}-{service.name}")["spec"]["template"]
        container = template["spec"]["containers"][0]
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env[f"{service.env_prefix}_METRICS_PORT"] == "9464"
        assert {"name": "metrics", "containerPort": 9464, "protocol": "TCP"} in container["ports"]
        assert template["metadata"]["annotations"]["prometheus.io/port"] == "9464"
        assert 9464 in _ingress_ports(find(docs, "NetworkPolicy", f"{FULLNAME}-{service.name}"))
    envoy = find(docs, "Deployment", f"{FULLNAME}-envoy")["spec"]["template"]
    metrics_port = MESH["gateway"]["metricsPort"]
    assert envoy["metadata"]["annotations"]["prometheus.io/scrape"] == "true"
    assert envoy["metadata"]["annotations"]["prometheus.io/port"] == str(metrics_port)
    assert envoy["metadata"]["annotations"]["prometheus.io/path"] == "/stats/prometheus"
    assert metrics_port in _ingress_ports(find(docs, "NetworkPolicy", f"{FULLNAME}-envoy"))
    # The listener behind that port exposes only the two read-only admin endpoints.
    config = json.loads(find(docs, "ConfigMap", f"{FULLNAME}-envoy")["data"]["envoy.json"])
    (metrics,) = [lst for lst in config["staticResources"]["listeners"] if lst["name"] == "metrics"]
    assert metrics["address"]["socketAddress"] == {"address": "0.0.0.0", "portValue": metrics_port}
    vhost = metrics["filterChains"][0]["filters"][0]["typedConfig"]["routeConfig"]["virtualHosts"][0]
    assert [r["match"]["path"] for r in vhost["routes"]] == ["/stats/prometheus", "/ready"]
    assert config["admin"]["address"]["socketAddress"]["address"] == "127.0.0.1"


def test_without_scraping_envoy_is_not_annotated_and_its_metrics_port_stays_closed() -> None:
    docs = render()
    envoy = find(docs, "Deployment", f"{FULLNAME}-envoy")["spec"]["template"]
    assert "prometheus.io/scrape" not in envoy["metadata"].get("annotations", {})
    assert MESH["gateway"]["metricsPort"] not in _ingress_ports(
        find(docs, "NetworkPolicy", f"{FULLNAME}-envoy")
    )
