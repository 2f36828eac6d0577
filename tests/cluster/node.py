"""One real Kubernetes node on this machine for the cluster tier: containerd (runc) and kubelet against the tier-1
control plane of conftest.py, everything under one temp directory, every endpoint a unix socket or 127.0.0.1.

- containerd runs as a plain process (no systemd) with its root, state, sockets and config in the directory;
  `restrict_oom_score_adj = true` because this sandbox refuses a negative oom_score_adj (else runc fails with
  "can't get final child's PID from pipe: EOF"); runc, because crun refuses the hybrid cgroup layout.
- The pod sandbox image (tools/install-node.sh) and the shopmesh image (tools/build-image.sh's `podman save`
  archive) are imported into containerd's k8s.io namespace; the node never pulls.
- kubelet (cgroupfs, no systemd) is named 127.0.0.1 by --hostname-override: it refuses --node-ip=127.0.0.1, and
  an IP as hostname is reported as the node's InternalIP unvalidated. It authenticates with a client certificate
  of the fixture's CA (CN system:node:127.0.0.1, O system:nodes: the Node authorizer and NodeRestriction apply),
  serves on 127.0.0.1 with a certificate of the same CA, and authenticates and authorizes the API server's calls
  (logs, exec) by webhook. Its pod cgroups live under a cgroup root of its own, removed at the end.
- There is no CNI config, so the node stays NotReady: only hostNetwork pods that tolerate its taints run.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import secrets
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from devkit.ports import free_block
from tests.cluster.conftest import BIN, KUBELET_CLIENT, ROOT, Cluster, issue, load_ca, wait_for

NAME = "127.0.0.1"
PAUSE_IMAGE = "localhost/shopmesh-pause:1"
PAUSE_TAR = ROOT / ".tools" / "images" / "pause.tar"
IMAGES_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "shopmesh" / "images"
CGROUPS = Path("/sys/fs/cgroup")


@dataclass
class Node:
    """The running node: its name, the shopmesh image it holds, and the processes that make it."""

    cluster: Cluster
    directory: Path
    image: str
    cgroup_root: str
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    name: str = NAME

    @property
    def socket(self) -> Path:
        return self.directory / "containerd.sock"

    def ctr(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["ctr", "--address", str(self.socket), "-n", "k8s.io", *args],
            capture_output=True,
            text=True,
            timeout=120,
        )

    def logs(self, component: str, lines: int = 40) -> str:
        text = (self.directory / f"{component}.log").read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def alive(self) -> None:
        self.cluster.alive()
        for name, proc in self.processes.items():
            assert proc.poll() is None, f"{name} exited with {proc.returncode}:\n{self.logs(name)}"

    def cgroup_dirs(self) -> list[Path]:
        """Every hierarchy's directory of the node's cgroup root (hybrid layout: one per v1 controller)."""
        return sorted(
            {h / self.cgroup_root.strip("/") for h in CGROUPS.iterdir() if (h / "cgroup.procs").exists()}
        )


def _image() -> tuple[str, Path]:
    """tools/build-image.sh's reference (a warm run builds nothing) and its `podman save` archive."""
    proc = subprocess.run(
        [str(ROOT / "tools/build-image.sh")], capture_output=True, text=True, cwd=ROOT, timeout=1700
    )
    assert proc.returncode == 0, f"tools/build-image.sh failed:\n{proc.stderr[-4000:]}"
    ref = proc.stdout.strip().splitlines()[-1]
    archive = IMAGES_CACHE / f"shopmesh-{ref.rsplit(':', 1)[1]}.tar"
    assert archive.is_file(), f"tools/build-image.sh printed {ref} but saved no {archive}"
    return ref, archive


def _write(path: Path, data: bytes | str) -> Path:
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    path.chmod(0o600)
    return path


def _credentials(cluster: Cluster, d: Path) -> dict[str, Path]:
    """kubelet's client certificate (its identity to the API server) and serving certificate (for 127.0.0.1)."""
    ca = load_ca(cluster.directory)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:nodes"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"system:node:{NAME}"),
        ]
    )
    client_cert, client_key = issue(ca, subject, ExtendedKeyUsageOID.CLIENT_AUTH)
    serving = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, NAME)])
    sans: list[x509.GeneralName] = [x509.IPAddress(ipaddress.ip_address(NAME))]
    serving_cert, serving_key = issue(ca, serving, ExtendedKeyUsageOID.SERVER_AUTH, sans)
    paths = {
        "client_cert": _write(d / "kubelet-client.crt", client_cert),
        "client_key": _write(d / "kubelet-client.key", client_key),
        "serving_cert": _write(d / "kubelet.crt", serving_cert),
        "serving_key": _write(d / "kubelet.key", serving_key),
    }
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "shopmesh-test", "cluster": {"server": cluster.server, "certificate-authority": str(cluster.ca)}}],
        "users": [{"name": "kubelet", "user": {"client-certificate": str(paths["client_cert"]), "client-key": str(paths["client_key"])}}],
        "contexts": [{"name": "shopmesh-test", "context": {"cluster": "shopmesh-test", "user": "kubelet"}}],
        "current-context": "shopmesh-test",
    }  # fmt: skip
    paths["kubeconfig"] = _write(d / "kubelet.kubeconfig", json.dumps(kubeconfig))
    return paths


def _containerd_config(d: Path) -> str:
    return f"""version = 2
root = "{d}/containerd-root"
state = "{d}/containerd-state"
[grpc]
  address = "{d}/containerd.sock"
[ttrpc]
  address = "{d}/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "{d}/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{PAUSE_IMAGE}"
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_cdi = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{d}/cni"
"""


def _start(node: Node, name: str, command: list[str]) -> None:
    with (node.directory / f"{name}.log").open("wb") as log:
        node.processes[name] = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)


def _stop(proc: subprocess.Popen[bytes], timeout: float = 20) -> None:
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _pids_mentioning(text: str) -> list[int]:
    """Processes whose command line contains `text` (the shims name the containerd socket they serve)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if text.encode() in (entry / "cmdline").read_bytes():
                pids.append(int(entry.name))
    return pids


def mounts_under(path: str) -> list[str]:
    return [
        line.split()[1] for line in Path("/proc/mounts").read_text().splitlines() if path in line.split()[1]
    ]


def _teardown(node: Node) -> None:
    d = node.directory
    # The pods first, while kubelet still runs: it stops their containers and unmounts their volumes.
    node.cluster.kubectl(
        "delete", "pod", "--all-namespaces", f"--field-selector=spec.nodeName={NAME}", "--grace-period=1",
        "--wait=true", "--timeout=60s",
    )  # fmt: skip
    if "kubelet" in node.processes:
        _stop(node.processes["kubelet"])
    if "containerd" in node.processes and node.processes["containerd"].poll() is None:
        # Whatever kubelet left running: kill its tasks so the shims exit.
        tasks = node.ctr("tasks", "ls", "-q").stdout.split()
        for task in tasks:
            node.ctr("tasks", "kill", "-s", "SIGKILL", task)
        for task in tasks:
            node.ctr("tasks", "delete", "-f", task)
        _stop(node.processes["containerd"])
    for pid in _pids_mentioning(str(node.socket)):  # shims that outlived containerd
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    # kubelet bind-mounts its root dir onto itself, containerd mounts rootfs and shm under its state: innermost first.
    for mount in reversed(mounts_under(str(d))):
        subprocess.run(["umount", mount], check=False, capture_output=True)
    for mount in reversed(mounts_under(str(d))):
        subprocess.run(["umount", "-l", mount], check=False, capture_output=True)
    # The cgroup root kubelet ran the pods in (kubepods, its QoS classes, the pods), leaf first.
    for top in node.cgroup_dirs():
        if top.exists():
            for sub in sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
                with contextlib.suppress(OSError):
                    sub.rmdir()
            with contextlib.suppress(OSError):
                top.rmdir()


@contextlib.contextmanager
def running_node(cluster: Cluster, d: Path) -> Iterator[Node]:
    """Starts the node, waits until it is registered, and on exit leaves no process, mount or cgroup of it."""
    missing = [str(p) for p in (BIN / "kubelet", PAUSE_TAR) if not p.exists()]
    assert not missing, f"{', '.join(missing)} missing: `make install` builds them (tools/install-node.sh)"
    image, archive = _image()
    node = Node(cluster, d, image, cgroup_root=f"/shopmesh-node-{secrets.token_hex(4)}")
    try:
        (d / "cni").mkdir()
        (d / "containerd.toml").write_text(_containerd_config(d))
        _start(node, "containerd", ["containerd", "--config", str(d / "containerd.toml")])
        wait_for("containerd", lambda: node.alive() or node.ctr("version").returncode == 0, 60)
        for tar in (PAUSE_TAR, archive):
            proc = node.ctr("images", "import", str(tar))
            assert proc.returncode == 0, f"ctr images import {tar}: {proc.stderr}"
        creds = _credentials(cluster, d)
        # The API server's kubelet client may use the kubelet API (logs, exec) once RBAC says so, as on kubeadm.
        binding = {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "shopmesh-test:apiserver-kubelet-client"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:kubelet-api-admin"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": KUBELET_CLIENT}],
        }  # fmt: skip
        proc = cluster.kubectl("apply", "-f", "-", input=json.dumps(binding))
        assert proc.returncode == 0, proc.stderr
        for top in node.cgroup_dirs():  # kubelet refuses a --cgroup-root that does not exist
            top.mkdir()
        port = free_block(2)
        healthz = port + 1
        config = {
            "apiVersion": "kubelet.config.k8s.io/v1beta1",
            "kind": "KubeletConfiguration",
            "address": NAME,
            "port": port,
            "readOnlyPort": 0,
            "healthzBindAddress": NAME,
            "healthzPort": healthz,
            "tlsCertFile": str(creds["serving_cert"]),
            "tlsPrivateKeyFile": str(creds["serving_key"]),
            "authentication": {
                "anonymous": {"enabled": False},
                "webhook": {"enabled": True},
                "x509": {"clientCAFile": str(cluster.ca)},
            },
            "authorization": {"mode": "Webhook"},
            "cgroupDriver": "cgroupfs",
            "cgroupRoot": node.cgroup_root,
            "containerRuntimeEndpoint": f"unix://{node.socket}",
            "failSwapOn": False,
            "serializeImagePulls": False,
            "rotateCertificates": False,
            "serverTLSBootstrap": False,
            "resolvConf": "/etc/resolv.conf",
            # The suite's temp disk fills up with image layers: no eviction may hit the test's pods.
            "evictionHard": {"memory.available": "1Mi", "nodefs.available": "1%", "imagefs.available": "1%"},
            "imageGCHighThresholdPercent": 100,
        }
        _write(d / "kubelet.yaml", json.dumps(config))
        _start(
            node,
            "kubelet",
            [
                str(BIN / "kubelet"),
                f"--config={d / 'kubelet.yaml'}",
                f"--kubeconfig={creds['kubeconfig']}",
                f"--root-dir={d / 'kubelet'}",
                f"--cert-dir={d / 'kubelet-pki'}",
                f"--hostname-override={NAME}",
                "--v=2",
            ],
        )
        wait_for(
            "the node to register",
            lambda: node.alive() or cluster.kubectl("get", "node", NAME).returncode == 0,
            120,
        )
        yield node
    finally:
        _teardown(node)
