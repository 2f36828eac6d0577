"""Rendering the Helm chart offline: the pinned helm (tools/go-tools.txt), a cache of rendered manifests."""

from __future__ import annotations

import functools
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes_validate import utils as kv_utils

ROOT = Path(__file__).resolve().parents[2]
HELM = ROOT / ".tools" / "bin" / "helm"
CHART = ROOT / "helm" / "shopmesh"
RELEASE, NAMESPACE = "demo", "shop"

# chart-testing convention: helm/shopmesh/ci/<name>-values.yaml, each a configuration the chart must support.
CI_VALUES = {p.name.removesuffix("-values.yaml"): p for p in sorted((CHART / "ci").glob("*-values.yaml"))}
MATRIX: dict[str, Path | None] = {"default": None, **CI_VALUES}


def kube_versions() -> list[str]:
    """The two most recent Kubernetes minor versions kubernetes-validate ships schemas for, oldest first."""
    minors = sorted(
        {kv_utils.major_minor(v) for v in kv_utils.all_versions()},
        key=lambda v: tuple(map(int, v.split("."))),
    )
    return minors[-2:]


KUBE_VERSIONS = kube_versions()
# kubernetes-validate re-reads (and re-parses) its schema files for every manifest; they never change, so read
# each once. The validation itself is the library's.
kv_utils.schema_contents = functools.cache(kv_utils.schema_contents)
# helm built with `go install` assumes Kubernetes 1.20 unless told (release builds stamp it at link time).
HELM_KUBE_VERSION = f"{KUBE_VERSIONS[-1]}.0"


def helm(*args: str) -> subprocess.CompletedProcess[str]:
    assert HELM.is_file(), f"{HELM} is missing: `make install` builds it (tools/go-tools.txt)"
    return subprocess.run([str(HELM), *args], capture_output=True, text=True, check=False, cwd=ROOT)


def template_args(*extra: str, release: str = RELEASE, chart: Path = CHART) -> list[str]:
    return [
        "template",
        release,
        str(chart),
        "--namespace",
        NAMESPACE,
        "--kube-version",
        HELM_KUBE_VERSION,
        *extra,
    ]


@functools.cache
def _render(args: tuple[str, ...]) -> str:
    proc = helm(*template_args(*args))
    assert proc.returncode == 0, f"helm template {' '.join(args)} failed:\n{proc.stderr}"
    # The C loader: the Envoy ConfigMap alone is ~100 kB of YAML.
    docs = [doc for doc in yaml.load_all(proc.stdout, Loader=yaml.CSafeLoader) if doc]
    return json.dumps(docs)


def render(*args: str) -> list[dict[str, Any]]:
    """`helm template` with extra arguments (-f FILE, --set K=V), parsed; cached per argument list (each call
    returns a fresh copy, so a test may change what it gets)."""
    docs: list[dict[str, Any]] = json.loads(_render(tuple(args)))
    return docs


def render_matrix(name: str) -> list[dict[str, Any]]:
    path = MATRIX[name]
    return render() if path is None else render("-f", str(path))


def find(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def of_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def pod_specs(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every pod spec the chart creates, by `Kind/name`."""
    specs = {}
    for doc in docs:
        name = f"{doc['kind']}/{doc['metadata']['name']}"
        if doc["kind"] in ("Deployment", "StatefulSet"):
            specs[name] = doc["spec"]["template"]["spec"]
        elif doc["kind"] == "Pod":
            specs[name] = doc["spec"]
    return specs


@pytest.fixture(scope="session")
def default_docs() -> list[dict[str, Any]]:
    return render()
