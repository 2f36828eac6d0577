"""`meshctl up --monitoring` end to end: the local Prometheus scrapes every replica and Envoy with the
repository's rules loaded, and a replica stopped for good makes ShopmeshTargetDown fire in Prometheus' API.

The rules are the shipped ones except every `for:`, shortened here (the shipped 2 minutes would make the test
wait for them); the mesh runs on SQLite, as `make up` does.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from devkit.ports import free_block, free_port
from meshctl import monitoring, topology
from meshctl.launcher import Mesh

pytestmark = pytest.mark.e2e

FOR = "2s"


def _fast_rules(directory: Path) -> tuple[Path, ...]:
    paths = []
    for path in monitoring.RULES:
        doc = yaml.safe_load(path.read_text())
        for group in doc["groups"]:
            for rule in group["rules"]:
                if "for" in rule:
                    rule["for"] = FOR
        out = directory / path.name
        out.write_text(yaml.safe_dump(doc, sort_keys=False))
        paths.append(out)
    return tuple(paths)


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    run_dir = tmp_path_factory.mktemp("monitoring")
    options = monitoring.Options(
        port=free_port(), rule_files=_fast_rules(tmp_path_factory.mktemp("rules")), scrape_interval="1s"
    )
    launcher = Mesh(topology.load().packed(free_block(70)), run_dir, monitoring=options)
    launcher.start()
    try:
        yield launcher
    finally:
        launcher.stop()


def _api(mesh: Mesh, path: str) -> Any:
    with urllib.request.urlopen(f"http://{mesh.endpoints.prometheus}/api/v1/{path}", timeout=5) as reply:
        body = json.load(reply)
    assert body["status"] == "success", body
    return body["data"]


def _eventually(check: Callable[[], Any], within: float, what: str) -> Any:
    deadline = time.monotonic() + within
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"not within {within:.0f} s: {what}")
        time.sleep(0.5)


def _firing(mesh: Mesh, alertname: str, **labels: str) -> list[dict[str, Any]]:
    return [
        a
        for a in _api(mesh, "alerts")["alerts"]
        if a["labels"]["alertname"] == alertname
        and a["state"] == "firing"
        and all(a["labels"].get(k) == v for k, v in labels.items())
    ]


def test_prometheus_scrapes_every_replica_and_envoy_with_the_rules_loaded(mesh: Mesh) -> None:
    expected = {
        (f"shopmesh-{service}", address)
        for service, addresses in mesh.endpoints.metrics.items()
        for address in addresses
    } | {("shopmesh-envoy", mesh.endpoints.envoy_metrics)}

    def all_up() -> bool:
        targets = _api(mesh, "targets")["activeTargets"]
        seen = {(t["labels"]["job"], t["labels"]["instance"]) for t in targets if t["health"] == "up"}
        return seen == expected

    _eventually(all_up, 60, "every replica and Envoy scraped")
    groups = {g["name"] for g in _api(mesh, "rules")["groups"]}
    shipped = {g["name"] for p in monitoring.RULES for g in yaml.safe_load(p.read_text())["groups"]}
    assert groups == shipped
    # The recording rules produce the SLIs from the replicas' metrics.
    _eventually(
        lambda: _api(mesh, "query?query=up%7Bjob%3D%22shopmesh-orders%22%7D")["result"], 30, "a query answers"
    )
    assert _firing(mesh, "ShopmeshTargetDown") == []


def test_a_replica_stopped_for_good_fires_target_down(mesh: Mesh) -> None:
    victim = "orders-1"
    address = mesh.endpoints.metrics["orders"][1]
    mesh.kill(victim)  # stays down: the supervisor does not restart a process killed through the mesh
    (alert,) = _eventually(
        lambda: _firing(mesh, "ShopmeshTargetDown", job="shopmesh-orders", instance=address),
        60,
        f"ShopmeshTargetDown firing for {victim} ({address})",
    )
    assert alert["labels"]["severity"] == "warning"
    assert address in alert["annotations"]["summary"]
    # Its sibling still serves: the service is not down.
    assert _firing(mesh, "ShopmeshServiceDown", job="shopmesh-orders") == []
