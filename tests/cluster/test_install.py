"""`helm install` of the chart against a live API server, once per configuration of helm/shopmesh/ci, and what the
live server refuses that offline checks let through."""

from __future__ import annotations

import functools
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.cluster.conftest import CHART, CI_VALUES, Cluster, manifest_objects, wait_for

pytestmark = pytest.mark.cluster

RELEASE = "demo"
MATRIX = {"default": None, **CI_VALUES}


def namespace_of(name: str) -> str:
    return f"install-{name}"


@pytest.fixture(scope="module")
def installs(cluster: Cluster) -> Iterator[dict[str, subprocess.CompletedProcess[str]]]:
    """Every configuration installed at once, each in its own namespace: the API server does the work, so
    running the installs side by side takes about as long as the slowest one."""

    def install(name: str) -> subprocess.CompletedProcess[str]:
        values = MATRIX[name]
        return cluster.helm(
            "install", RELEASE, str(CHART), "-n", namespace_of(name), "--create-namespace",
            *(["-f", str(values)] if values else []),
        )  # fmt: skip

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = dict(zip(MATRIX, pool.map(install, MATRIX), strict=True))
    yield results


@pytest.mark.parametrize("name", list(MATRIX))
def test_install_is_accepted_and_every_object_exists(
    cluster: Cluster, installs: dict[str, subprocess.CompletedProcess[str]], name: str
) -> None:
    proc = installs[name]
    assert proc.returncode == 0, proc.stderr
    assert "STATUS: deployed" in proc.stdout
    namespace = namespace_of(name)
    objects = manifest_objects(cluster, RELEASE, namespace)
    assert len(objects) > 10
    # kubectl reads back each object of the stored manifest from the server: any missing one fails the get.
    proc = cluster.kubectl(
        "get", "-n", namespace, "-f", "-", "-o", "name", input=_manifest(cluster, namespace)
    )
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.split()) == len(objects)


@pytest.mark.parametrize("name", list(MATRIX))
def test_the_controllers_reconcile_the_workloads(
    cluster: Cluster, installs: dict[str, subprocess.CompletedProcess[str]], name: str
) -> None:
    """Deployments get a ReplicaSet of their template and StatefulSets their pods from the controller-manager
    (the pods stay Pending: there is no node)."""
    assert installs[name].returncode == 0, installs[name].stderr
    namespace = namespace_of(name)
    objects = manifest_objects(cluster, RELEASE, namespace)
    deployments = sorted(n for kind, n in objects if kind == "Deployment")
    statefulsets = sorted(n for kind, n in objects if kind == "StatefulSet")
    assert deployments

    def reconciled() -> bool:
        owners = {
            (ref["kind"], ref["name"])
            for kind in ("replicasets", "pods")
            for item in cluster.items(kind, "-n", namespace)
            for ref in item["metadata"].get("ownerReferences", [])
        }
        return all(("Deployment", d) in owners for d in deployments) and all(
            ("StatefulSet", s) in owners for s in statefulsets
        )

    wait_for(f"ReplicaSets and pods of {namespace}", reconciled, 60, cluster)
    for deployment in deployments:
        status = wait_for(
            f"{deployment} observed by the deployment controller",
            functools.partial(_observed_status, cluster, "deployment", deployment, namespace),
            30,
            cluster,
        )
        assert status.get("availableReplicas", 0) == 0  # no kubelet: nothing runs, and nothing claims it does


def _observed_status(cluster: Cluster, kind: str, name: str, namespace: str) -> dict[str, object] | None:
    obj = cluster.get(kind, name, "-n", namespace)
    status: dict[str, object] = obj.get("status", {})
    return status if status.get("observedGeneration") == obj["metadata"]["generation"] else None


def _manifest(cluster: Cluster, namespace: str) -> str:
    proc = cluster.helm("get", "manifest", RELEASE, "-n", namespace)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


# -- what only the live server refuses ------------------------------------------------------------------------


def test_a_node_port_already_taken_is_refused_by_the_server(
    cluster: Cluster, installs: dict[str, subprocess.CompletedProcess[str]]
) -> None:
    """ci/nodeport-values.yaml fixes nodePort 30080, which the install of that configuration holds: a second
    release asking for it passes every offline check and is refused by the API server, which alone knows
    which node ports are allocated cluster-wide."""
    assert installs["nodeport"].returncode == 0, installs["nodeport"].stderr
    held = cluster.get("service", f"{RELEASE}-shopmesh-envoy", "-n", namespace_of("nodeport"))
    assert [p["nodePort"] for p in held["spec"]["ports"]] == [30080]
    proc = cluster.helm(
        "install", "second", str(CHART), "-n", "nodeport-taken", "--create-namespace",
        "-f", str(CI_VALUES["nodeport"]),
    )  # fmt: skip
    try:
        assert proc.returncode != 0
        assert "provided port is already allocated" in proc.stderr, proc.stderr
    finally:
        cluster.helm("uninstall", "second", "-n", "nodeport-taken")
    # Leaving the port out lets the server pick a free one: what the chart's docs tell the second release to do.
    proc = cluster.helm(
        "install", "second", str(CHART), "-n", "nodeport-taken",
        "--set", "envoy.service.type=NodePort",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    picked = cluster.get("service", "second-shopmesh-envoy", "-n", "nodeport-taken")["spec"]["ports"][0][
        "nodePort"
    ]
    assert 30000 <= picked <= 32767 and picked != 30080


def test_a_bad_label_value_is_refused_by_the_schema_before_the_server(cluster: Cluster) -> None:
    """values.schema.json refuses a label value the API server would refuse: proven here by skipping the
    schema, when the server refuses the same value itself."""
    args = (
        "install",
        "labels",
        str(CHART),
        "-n",
        "bad-label",
        "--create-namespace",
        "--set-string",
        "commonLabels.team=a_b-c.",
    )
    proc = cluster.helm(*args)
    assert proc.returncode != 0
    assert "at '/commonLabels/team'" in proc.stderr, proc.stderr
    assert cluster.helm("status", "labels", "-n", "bad-label").returncode != 0  # nothing reached the server
    proc = cluster.helm(*args, "--skip-schema-validation")
    try:
        assert proc.returncode != 0
        assert 'Invalid value: "a_b-c."' in proc.stderr, proc.stderr
        assert "metadata.labels" in proc.stderr
    finally:
        cluster.helm("uninstall", "labels", "-n", "bad-label")
