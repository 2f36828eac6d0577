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
from devkit.kube.node import clean_leftovers, mounts_under, pids_mentioning, running_node
from meshctl.cli import purchase

STATE = "state.json"
LOG = "cluster.log"
UP_DEADLINE = 900.0  # a first run builds three images
DOWN_DEADLINE = 600.0  # a stop while starting waits for the step under way (an image build, a kubectl call)
SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
RELEASE = NAMESPACE = "shopmesh"


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


class _Stopped(Exception):
    """SIGTERM, SIGINT or SIGHUP before the cluster was up: unwind, which tears down what started."""


def _running(directory: Path) -> int | None:
    """The pid of the `serve` process holding `directory`, if it runs (a pid the state file names that now
    belongs to another process is none)."""
    try:
        pid = int(json.loads((directory / STATE).read_text())["pid"])
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return pid if b"devkit.kube" in command and b"serve" in command else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(ChildProcessError):
        # Our own child: reap it once it exits, or kill(0) would keep finding its zombie.
        return os.waitpid(pid, os.WNOHANG) == (0, 0)
    return True


def _fresh(directory: Path) -> None:
    """An empty directory for a new cluster. What a run killed outright (SIGKILL, no teardown) left behind goes
    first: its node's processes, mounts, cgroups, rules and bridge, then the control plane's processes."""
    clean_leftovers(directory / "node")
    for pid in pids_mentioning(f"{directory}/"):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    for mount in reversed(mounts_under(str(directory.resolve()) + "/")):
        subprocess.run(["umount", "-l", mount], check=False, capture_output=True)
    shutil.rmtree(directory, ignore_errors=True)
    # 0700: it holds the cluster's keys and the admin's token.
    directory.mkdir(mode=0o700, parents=True)
    (directory / "controlplane").mkdir(mode=0o700)
    (directory / "node").mkdir(mode=0o700)


def serve(directory: Path, replicas: int) -> int:
    if (pid := _running(directory)) is not None and pid != os.getpid():
        print(f"make cluster: pid {pid} already runs a cluster in {_shown(directory)}", file=sys.stderr)
        return 1
    stop = threading.Event()

    def _on_signal(_signum: int, _frame: FrameType | None) -> None:
        # While starting or serving, unwind at once: the context managers tear down what started. Only once: a
        # second signal must not interrupt that teardown.
        if not stop.is_set():
            stop.set()
            raise _Stopped

    for signum in SIGNALS:
        signal.signal(signum, _on_signal)
    _fresh(directory)
    state = directory / STATE
    state.write_text(json.dumps({"pid": os.getpid(), "ready": False}))
    try:
        with running_control_plane(directory / "controlplane") as cluster:
            with running_node(cluster, directory / "node") as node:
                try:
                    release = chart.install(node, RELEASE, NAMESPACE, replicas=replicas)
                    text = walkthrough(release)
                    state.write_text(json.dumps({"pid": os.getpid(), "ready": True, "walkthrough": text}))
                    print(text, flush=True)
                    while True:
                        time.sleep(1)
                        node.alive()
                except _Stopped:
                    pass
                finally:
                    # The teardown must finish: no signal interrupts it.
                    for signum in SIGNALS:
                        signal.signal(signum, signal.SIG_IGN)
                print(
                    "make cluster: stopping (helm uninstall, then the node and the control plane)", flush=True
                )
                if cluster.helm("status", RELEASE, "-n", NAMESPACE).returncode == 0:
                    chart.uninstall(chart.Release(node, RELEASE, NAMESPACE, chart.fullname(RELEASE)))
    except _Stopped:  # before the node was up
        print("make cluster: stopped while starting", flush=True)
    except ClusterError as exc:
        print(f"make cluster: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        state.unlink(missing_ok=True)
    print("make cluster: stopped", flush=True)
    return 0


def up(directory: Path, replicas: int) -> int:
    log_path = directory.parent / f"{directory.name}.log"
    pid = _running(directory)
    if pid is None:
        directory.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("wb") as log:
            pid = subprocess.Popen(
                [sys.executable, "-m", "devkit.kube", "serve", "--dir", str(directory), "--replicas", str(replicas)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=ROOT, start_new_session=True,
            ).pid  # fmt: skip
        print(
            f"make cluster: starting (pid {pid}, log {_shown(log_path)}); a first run builds images",
            flush=True,
        )
    end = time.monotonic() + UP_DEADLINE
    while time.monotonic() < end:
        with contextlib.suppress(OSError, ValueError):
            current = json.loads((directory / STATE).read_text())
            if current.get("ready") and current.get("pid") == pid:
                print(current["walkthrough"])
                return 0
        if not _alive(pid):
            print(log_path.read_text(errors="replace")[-6000:], file=sys.stderr)
            print(f"make cluster: failed; the whole log is {_shown(log_path)}", file=sys.stderr)
            return 1
        time.sleep(1)
    print(
        f"make cluster: not ready after {UP_DEADLINE:.0f} s, stopping it; see {_shown(log_path)}",
        file=sys.stderr,
    )
    down(directory)
    return 1


def down(directory: Path) -> int:
    pid = _running(directory)
    if pid is None:
        print("make cluster-down: no cluster runs")
        return 0
    os.kill(pid, signal.SIGTERM)
    end = time.monotonic() + DOWN_DEADLINE
    while time.monotonic() < end:
        if not _alive(pid):
            print("make cluster-down: stopped")
            return 0
        time.sleep(0.5)
    print(f"make cluster-down: pid {pid} still runs after {DOWN_DEADLINE:.0f} s", file=sys.stderr)
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
    if args.replicas < 1:
        parser.error("--replicas must be at least 1")
    if os.geteuid() != 0:
        parser.error("the node runs containerd and kubelet and writes iptables rules: run it as root")
    directory = args.dir.resolve()
    if args.command == "up":
        return up(directory, args.replicas)
    if args.command == "serve":
        return serve(directory, args.replicas)
    return down(directory)


__all__ = ["main", "walkthrough"]
