"""The chart's runtime pieces against the real mesh, without a cluster: Envoy runs the config the chart renders
(DNS clusters and all, pointed at this mesh's services), the chart's Envoy probe and drain commands run against
it, the `helm test` pod's command checks the gateway, and the init container's database wait works."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from devkit.ports import free_ports
from meshctl import envoy_config
from meshctl.kubernetes import outside_image
from tests.e2e.conftest import RunningMesh
from tests.helm.conftest import find, render

pytestmark = pytest.mark.e2e

FULLNAME = "demo-shopmesh"
ADMIN = "127.0.0.1:9901"


class ChartEnvoy:
    def __init__(self, docs: list[dict[str, Any]], public: int, admin: int) -> None:
        self.docs = docs
        self.public = public
        self.admin = admin

    def _container(self) -> dict[str, Any]:
        deployment = find(self.docs, "Deployment", f"{FULLNAME}-envoy")
        container: dict[str, Any] = deployment["spec"]["template"]["spec"]["containers"][0]
        return container

    def run_admin_command(self, command: list[str]) -> subprocess.CompletedProcess[str]:
        """A chart's `python -c` exec command, run here against this Envoy's admin port."""
        assert command[:2] == ["python", "-c"] and ADMIN in command[2]
        script = command[2].replace(ADMIN, f"127.0.0.1:{self.admin}")
        return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)

    def readiness(self) -> subprocess.CompletedProcess[str]:
        return self.run_admin_command(self._container()["readinessProbe"]["exec"]["command"])

    def pre_stop(self) -> subprocess.CompletedProcess[str]:
        return self.run_admin_command(self._container()["lifecycle"]["preStop"]["exec"]["command"])


def _loopback_config(
    config: dict[str, Any], mesh: RunningMesh, public: int, internal: int, admin: int
) -> None:
    """The chart's config with loopback binds and ports, and each cluster's host swapped for `localhost` (still a
    DNS name: the DNS cluster type the headless Services need is what runs) on this mesh's service port."""
    config["admin"]["address"]["socketAddress"]["portValue"] = admin
    ports = {"public": public, "internal": internal}
    config["staticResources"]["listeners"] = [
        listener for listener in config["staticResources"]["listeners"] if listener["name"] in ports
    ]  # the metrics listener's fixed port may be taken here
    for listener in config["staticResources"]["listeners"]:
        listener["address"]["socketAddress"] = {"address": "127.0.0.1", "portValue": ports[listener["name"]]}
    for cluster in config["staticResources"]["clusters"]:
        if cluster["name"] == "jwks":  # Envoy's own internal listener, which serves the token keys
            (locality,) = cluster["loadAssignment"]["endpoints"]
            (endpoint,) = locality["lbEndpoints"]
            endpoint["endpoint"]["address"]["socketAddress"]["portValue"] = internal
        # Other in-pod clusters (e.g. envoy_admin, behind the metrics listener) stay as they are.
        if cluster["name"] not in mesh.endpoints.replicas:
            continue
        assert cluster["clusterType"]["name"] == "envoy.clusters.dns"
        (replica,) = mesh.endpoints.replicas[cluster["name"]][:1]
        port = int(replica.rsplit(":", 1)[1])
        (locality,) = cluster["loadAssignment"]["endpoints"]
        (endpoint,) = locality["lbEndpoints"]
        endpoint["endpoint"]["address"]["socketAddress"] = {"address": "localhost", "portValue": port}


@pytest.fixture(scope="module")
def chart_envoy(mesh: RunningMesh, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChartEnvoy]:
    docs = render("--set", "envoy.drainSeconds=1")
    config = json.loads(outside_image(find(docs, "ConfigMap", f"{FULLNAME}-envoy")["data"]["envoy.json"]))
    public, internal, admin = free_ports(3)
    _loopback_config(config, mesh, public, internal, admin)
    path = tmp_path_factory.mktemp("chart-envoy") / "envoy.json"
    envoy_config.write(config, path)
    log = path.with_suffix(".log").open("w")
    process = subprocess.Popen(
        [envoy_config.default_envoy(), "-c", str(path), "--disable-hot-restart", "--log-level", "warning"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    envoy = ChartEnvoy(docs, public, admin)
    try:
        deadline = time.monotonic() + 30
        while envoy.readiness().returncode != 0:  # the chart's own readiness probe
            assert process.poll() is None, f"Envoy exited: {path.with_suffix('.log').read_text()}"
            assert time.monotonic() < deadline, "the chart's readiness probe never passed"
            time.sleep(0.2)
        yield envoy
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def _check_gateway_command(url: str, deadline: str) -> list[str]:
    """The `helm test` pod's command, pointed at `url`."""
    pod = find(render(), "Pod", f"{FULLNAME}-test-gateway")
    command: list[str] = pod["spec"]["containers"][0]["command"]
    assert command[4] == f"http://{FULLNAME}-envoy:8080"
    command = [sys.executable, *command[1:4], url, *command[5:]]
    command[command.index("--deadline") + 1] = deadline
    return command


def test_helm_test_command_passes_through_the_charts_envoy(chart_envoy: ChartEnvoy) -> None:
    proc = subprocess.run(
        _check_gateway_command(f"http://127.0.0.1:{chart_envoy.public}", "60"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for check in (
        "REST users",  # with a token from a throwaway account: signing up and logging in work too
        "REST products",
        "REST orders",
        "REST payments",
        "gRPC products ListProducts",
    ):
        assert f"ok   {check}" in proc.stdout


def test_helm_test_command_fails_when_the_gateway_is_not_there() -> None:
    (port,) = free_ports(1)
    proc = subprocess.run(
        _check_gateway_command(f"http://127.0.0.1:{port}", "1"), capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 1
    assert "FAIL REST users" in proc.stdout


def test_envoy_pre_stop_drains_and_stays_within_the_grace_period(chart_envoy: ChartEnvoy) -> None:
    started = time.monotonic()
    proc = chart_envoy.pre_stop()
    took = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr
    assert 1 <= took < 10  # the drain wait (envoy.drainSeconds=1), well within terminationGracePeriodSeconds


def test_wait_for_database(mesh: RunningMesh) -> None:
    command = [
        sys.executable,
        "-m",
        "meshctl.kubernetes",
        "wait-for-database",
        "SHOPMESH_TEST_DB",
        "--deadline",
    ]
    up = subprocess.run(
        [*command, "10"],
        env={**os.environ, "SHOPMESH_TEST_DB": mesh.db_urls["users"]},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert up.returncode == 0, up.stderr
    (port,) = free_ports(1)
    down = subprocess.run(
        [*command, "1"],
        env={**os.environ, "SHOPMESH_TEST_DB": f"postgresql://nobody:x@127.0.0.1:{port}/none"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert down.returncode == 1
    assert "database not ready" in down.stderr
    assert "nobody:x" not in down.stderr  # no credentials in the logs
