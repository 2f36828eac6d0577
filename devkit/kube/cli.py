"""`make cluster` / `make cluster-down`: the Helm chart on a real one-node Kubernetes on this machine.

The cluster the tests run (devkit.kube: etcd, kube-apiserver, controller-manager and scheduler on 127.0.0.1;
containerd, kubelet, kube-proxy and CoreDNS as one node; images built from the Dockerfile) with the chart
installed on it, for trying the chart out by hand: `kubectl get pods`, `helm upgrade`, deleting pods, draining.

`up` starts `serve` in the background and returns once the chart is Available, printing how to reach it;
`serve` is the same in the foreground (Ctrl-C stops it); `down` stops the background one, which uninstalls the
chart and leaves no process, mount, cgroup or network device behind. Needs root: the node runs containerd and
kubelet and writes iptables rules. Everything lives under --dir; the pods reach only loopback and the node's own
bridge (devkit/kube/node.py's network rule), the gateway is the Envoy Service's ClusterIP, which this host
routes to that bridge.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import FrameType

from devkit.kube import chart
from devkit.kube.controlplane import BIN, ROOT, ClusterError, running_control_plane
from devkit.kube.node import mounts_under, running_node
from meshctl.cli import purchase

STATE = "state.json"
LOG = "cluster.log"
UP_DEADLINE = 900.0  # a first run builds three images


def _shown(path: Path) -> str:
    return os.path.relpath(path, ROOT) if path.is_relative_to(ROOT) else str(path)


def walkthrough(release: chart.Release) -> str:
    """Where the chart is and a purchase through its Envoy Service, with the first admin granted by
    `kubectl exec … grant-admin` as docs/kubernetes.md says."""
    cluster = release.node.cluster
    kubectl = f"{_shown(BIN / 'kubectl')} --kubeconfig {_shown(cluster.kubeconfig)} -n {release.namespace}"
    gateway = release.gateway()
    admin = f"{kubectl} exec deploy/{release.fullname}-users -- python -m svc_user grant-admin $EMAIL"
    return f"""
shopmesh is installed on a one-node Kubernetes (release {release.name}, namespace {release.namespace}).
Gateway (gRPC and REST): http://{gateway}  (the {release.gateway_service} Service's ClusterIP)
  export KUBECONFIG={cluster.kubeconfig}
  {_shown(BIN / "kubectl")} -n {release.namespace} get pods
  {_shown(BIN / "helm")} -n {release.namespace} test {release.name}
Stop: make cluster-down
{purchase(f"http://{gateway}", "curl", "-plaintext", gateway, admin)}"""


def _running(directory: Path) -> int | None:
    """The pid of the `serve` process holding `directory`, if it runs."""
    try:
        pid = int(json.loads((directory / STATE).read_text())["pid"])
        os.kill(pid, 0)
    except (OSError, ValueError, KeyError):
        return None
    return pid


def _fresh(directory: Path) -> None:
    """An empty directory for a new cluster; what a killed run left mounted there is unmounted first."""
    for mount in reversed(mounts_under(str(directory.resolve()) + "/")):
        subprocess.run(["umount", "-l", mount], check=False, capture_output=True)
    shutil.rmtree(directory, ignore_errors=True)
    (directory / "controlplane").mkdir(parents=True)
    (directory / "node").mkdir()


def serve(directory: Path, replicas: int, out: list[str] | None = None) -> int:
    stop = threading.Event()

    def _on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    _fresh(directory)
    state = directory / STATE
    state.write_text(json.dumps({"pid": os.getpid(), "ready": False}))
    try:
        with running_control_plane(directory / "controlplane") as cluster:
            with running_node(cluster, directory / "node") as node:
                release = chart.install(node, "shopmesh", "shopmesh", replicas=replicas)
                text = walkthrough(release)
                state.write_text(json.dumps({"pid": os.getpid(), "ready": True, "walkthrough": text}))
                print(text, flush=True)
                while not stop.wait(1):
                    node.alive()
                print(
                    "make cluster: stopping (helm uninstall, then the node and the control plane)", flush=True
                )
                chart.uninstall(release)
    except ClusterError as exc:
        print(f"make cluster: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        state.unlink(missing_ok=True)
    print("make cluster: stopped", flush=True)
    return 0


def up(directory: Path, replicas: int) -> int:
    if (pid := _running(directory)) is not None:
        print(json.loads((directory / STATE).read_text()).get("walkthrough") or f"starting (pid {pid})")
        return 0
    directory.mkdir(parents=True, exist_ok=True)
    log_path = directory.parent / f"{directory.name}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "devkit.kube", "serve", "--dir", str(directory), "--replicas", str(replicas)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=ROOT, start_new_session=True,
        )  # fmt: skip
    print(
        f"make cluster: starting (pid {proc.pid}, log {_shown(log_path)}); a first run builds images",
        flush=True,
    )
    end = time.monotonic() + UP_DEADLINE
    while time.monotonic() < end:
        if proc.poll() is not None:
            print(log_path.read_text(errors="replace")[-6000:], file=sys.stderr)
            print(f"make cluster: failed (exit {proc.returncode})", file=sys.stderr)
            return 1
        with contextlib.suppress(OSError, ValueError):
            current = json.loads((directory / STATE).read_text())
            if current.get("ready"):
                print(current["walkthrough"])
                return 0
        time.sleep(1)
    print(f"make cluster: not ready after {UP_DEADLINE:.0f} s; see {_shown(log_path)}", file=sys.stderr)
    return 1


def down(directory: Path) -> int:
    pid = _running(directory)
    if pid is None:
        print("make cluster-down: no cluster runs")
        return 0
    os.kill(pid, signal.SIGTERM)
    end = time.monotonic() + 240
    while time.monotonic() < end:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            print("make cluster-down: stopped")
            return 0
        time.sleep(0.5)
    print(f"make cluster-down: pid {pid} still runs after 240 s", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devkit.kube",
        description="The Helm chart on a real one-node Kubernetes on this machine (make cluster, make cluster-down).",
    )
    parser.add_argument("command", choices=["up", "serve", "down"],
                        help="up: start in the background and wait until the chart is Available; serve: the same in "
                             "the foreground (Ctrl-C stops it); down: stop the background one")  # fmt: skip
    parser.add_argument("--dir", type=Path, default=ROOT / "var" / "cluster",
                        help="where the cluster keeps everything (default: var/cluster)")  # fmt: skip
    parser.add_argument("--replicas", type=int, default=1, help="pods per service (default: 1)")
    args = parser.parse_args(argv)
    if args.command != "down" and os.geteuid() != 0:
        parser.error("the node runs containerd and kubelet and writes iptables rules: run it as root")
    if args.replicas < 1:
        parser.error("--replicas must be at least 1")
    if args.command == "up":
        return up(args.dir, args.replicas)
    if args.command == "serve":
        return serve(args.dir, args.replicas)
    return down(args.dir)


__all__ = ["main", "walkthrough"]
