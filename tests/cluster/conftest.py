"""The cluster tier's fixtures: a real Kubernetes control plane (devkit.kube.controlplane), started once for
tests/cluster on 127.0.0.1 and stopped when its last test is done (package scope: the rest of the suite does not
run beside it), and one real node on it (devkit.kube.node) for the tests that run pods.
Every test installs into a namespace of its own.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import yaml

from devkit.kube.controlplane import CHART, ROOT, Cluster, running_control_plane, wait_for
from devkit.kube.node import Node, running_node

__all__ = ["CHART", "CI_VALUES", "ROOT", "TAINT", "Cluster", "Node", "manifest_objects", "wait_for"]

CI_VALUES = {p.name.removesuffix("-values.yaml"): p for p in sorted((CHART / "ci").glob("*-values.yaml"))}
# Only the pods that tolerate it run on the node (the tests that run pods), not the chart's that the tier-1 tests
# install side by side with nothing to run them.
TAINT = {"key": "shopmesh.test/node", "effect": "NoSchedule"}


@pytest.fixture(scope="package")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_control_plane(tmp_path_factory.mktemp("cluster")) as running:
        yield running


@pytest.fixture(scope="package")
def node(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    with running_node(cluster, tmp_path_factory.mktemp("node"), taints=[TAINT]) as running:
        yield running


def manifest_objects(cluster: Cluster, release: str, namespace: str) -> list[tuple[str, str]]:
    """(kind, name) of every object of a release, from the manifest helm stored."""
    proc = cluster.helm("get", "manifest", release, "-n", namespace)
    assert proc.returncode == 0, proc.stderr
    return [(d["kind"], d["metadata"]["name"]) for d in yaml.safe_load_all(proc.stdout) if d]
