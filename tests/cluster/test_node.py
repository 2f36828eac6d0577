"""Real pods on the one node of devkit/kube/node.py (containerd + runc + kubelet on this machine), the shopmesh
image run as the chart's pods run it: uid/gid 10001, read-only root with an emptyDir on /tmp, every capability
dropped, no privilege escalation, seccomp RuntimeDefault.

These pods run on hostNetwork, bound to 127.0.0.1 only, tolerate the node's taints, and name the node, as
they did before the node had a pod network; test_network.py runs pods on that network.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from devkit.kube.node import mounts_under
from devkit.ports import free_block
from tests.cluster.conftest import Node, wait_for
from tests.cluster.pods import chart_pod

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(1800)]

NAMESPACE = "node-pods"


def pod(node: Node, name: str, command: list[str], **container: Any) -> dict[str, Any]:
    """On hostNetwork, naming the node and tolerating every taint (see the module docstring)."""
    once = {} if "readinessProbe" in container else {"restartPolicy": "Never"}
    return chart_pod(
        node, NAMESPACE, name, {"command": command, **container},
        nodeName=node.name, hostNetwork=True, tolerations=[{"operator": "Exists"}],
        terminationGracePeriodSeconds=2, **once,
    )  # fmt: skip


@pytest.fixture(scope="module")
def namespace(node: Node) -> str:
    proc = node.cluster.kubectl("create", "namespace", NAMESPACE)
    assert proc.returncode == 0, proc.stderr
    return NAMESPACE


def status(node: Node, name: str) -> dict[str, Any]:
    result: dict[str, Any] = node.cluster.get("pod", name, "-n", NAMESPACE).get("status", {})
    return result


def test_a_command_of_the_image_runs_to_succeeded(node: Node, namespace: str) -> None:
    node.apply(pod(node, "help", ["python", "-m", "svc_user", "--help"]))

    def finished() -> str:
        node.alive()
        phase: str = status(node, "help").get("phase", "")
        return phase if phase in ("Succeeded", "Failed") else ""

    assert wait_for("the help pod to finish", finished, 120) == "Succeeded", node.logs("kubelet")
    (state,) = status(node, "help")["containerStatuses"]
    assert state["state"]["terminated"]["exitCode"] == 0
    assert state["image"] == node.image
    logs = node.cluster.kubectl("logs", "help", "-n", namespace)
    assert logs.returncode == 0, logs.stderr
    assert logs.stdout.startswith("usage: python -m svc_user"), logs.stdout


def _pod_cgroups(node: Node, uid: str) -> list[Path]:
    return [p for top in node.cgroup_dirs() if top.exists() for p in top.rglob(f"pod{uid}")]


def _pod_processes(node: Node, uid: str) -> set[int]:
    pids: set[int] = set()
    for cgroup in _pod_cgroups(node, uid):
        for procs in cgroup.rglob("cgroup.procs"):
            pids |= {int(p) for p in procs.read_text().split()}
    return pids


def test_a_serving_pod_becomes_ready_answers_logs_and_exec_and_goes_without_a_trace(
    node: Node, namespace: str
) -> None:
    port = free_block(1)
    probe = {"httpGet": {"host": "127.0.0.1", "port": port, "path": "/index.html"}, "periodSeconds": 1}
    serve = ["python", "-m", "http.server", "--bind", "127.0.0.1", "--directory", "/app/gen/docs", str(port)]
    node.apply(pod(node, "serve", serve, readinessProbe=probe))

    def ready() -> bool:
        node.alive()
        conditions = status(node, "serve").get("conditions", [])
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

    wait_for("the serving pod to be Ready", ready, 120)
    uid = node.cluster.get("pod", "serve", "-n", namespace)["metadata"]["uid"]

    # kubectl logs: the API server asks the kubelet (its client certificate, the kubelet's webhook authz) for
    # what the container wrote, here the readiness probes http.server logged.
    logs = node.cluster.kubectl("logs", "serve", "-n", namespace)
    assert logs.returncode == 0, logs.stderr
    assert '"GET /index.html HTTP/1.1" 200' in logs.stdout, logs.stdout

    # kubectl exec: a shell in the running container, which is the chart's unprivileged, read-only one.
    script = "id -u; id -g; grep ^CapEff /proc/self/status; grep ^Seccomp: /proc/self/status; touch /app/x 2>&1; touch /tmp/y && echo tmp"
    ex = node.cluster.kubectl("exec", "serve", "-n", namespace, "--", "sh", "-c", script)
    assert ex.returncode == 0, ex.stderr
    lines = ex.stdout.splitlines()
    assert lines[:2] == ["10001", "10001"], ex.stdout
    assert lines[2].split() == ["CapEff:", "0000000000000000"], ex.stdout
    assert lines[3].split() == ["Seccomp:", "2"], ex.stdout  # 2: a filter (RuntimeDefault), 0 would be none
    assert "Read-only file system" in lines[4] and lines[5] == "tmp", ex.stdout

    # What the pod is made of on this machine: processes in its cgroup (pause and http.server), the containers'
    # rootfs and shm mounts under containerd's state, the pod's cgroup directories.
    pids = _pod_processes(node, uid)
    assert len(pids) >= 2, pids
    containers = {p.name for c in _pod_cgroups(node, uid) for p in c.iterdir() if p.is_dir()}
    assert len(containers) >= 2, containers
    mounts = [m for m in mounts_under(str(node.directory)) if any(c in m for c in containers) or uid in m]
    assert mounts, mounts_under(str(node.directory))

    proc = node.cluster.kubectl("delete", "pod", "serve", "-n", namespace, "--wait=true", "--timeout=60s")
    assert proc.returncode == 0, proc.stderr

    def gone() -> bool:
        node.alive()
        alive = [pid for pid in pids if Path(f"/proc/{pid}").exists()]
        left = [m for m in mounts_under(str(node.directory)) if any(c in m for c in containers) or uid in m]
        assert not alive and not left and not _pod_cgroups(node, uid), (alive, left, _pod_cgroups(node, uid))
        return True

    wait_for("the pod's processes, mounts and cgroups to go", gone, 60)
