"""One real Kubernetes node on this machine: containerd (runc) and kubelet against the control plane of
devkit.kube.controlplane, everything under one temp directory, every endpoint a unix socket or 127.0.0.1.

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
- A pod network of its own (_network): a Linux bridge made by the fixture, Debian's bridge + host-local CNI plugins
  (containerd adds the loopback one) with their config and IPAM state in the directory, POD_CIDR as the node's
  podCIDR, so the node is Ready and pods get a network namespace and an IP each.
- kube-proxy in iptables mode (as system:kube-proxy, the bootstrap system:node-proxier role), its healthz and
  metrics on 127.0.0.1, so ClusterIP Services of SERVICE_CIDR reach their pods from pods and from this host.
- CoreDNS (tools/install-node.sh) as a host process on the bridge's address, port 53, serving only cluster.local
  from the API server (its kubernetes plugin, as a user whose ClusterRole may only list and watch Services,
  EndpointSlices and Namespaces), no forwarding; kubelet's clusterDNS, so pods resolve `<svc>.<ns>.svc.cluster.local`.

Network rule: traffic goes only to loopback or into the namespaces this run made (the pods', via the bridge). The
bridge plugin is no gateway (it would turn on ip_forward for the whole host) and masquerades nothing; the pods get
no default route, only their subnet and SERVICE_CIDR via the bridge's address; the host forwards only what comes in
on the bridge (that interface's `forwarding`, not ip_forward), a mangle FORWARD rule drops whatever would leave the
bridge for another interface, and the host routes SERVICE_CIDR to the bridge too, so no ClusterIP packet ever takes
the default route. kube-proxy's only NAT is its Service DNAT and the masquerade of hairpin and host traffic onto
the bridge's own address; NodePorts stay off loopback (no route_localnet) and on the bridge's address.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import json
import os
import secrets
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from devkit.kube.controlplane import (
    BIN,
    KUBELET_CLIENT,
    ROOT,
    SERVICE_CIDR,
    Cluster,
    ClusterError,
    ProcessDied,
    issue,
    load_ca,
    require,
    wait_for,
)
from devkit.ports import free_block

NAME = "127.0.0.1"
PAUSE_IMAGE = "localhost/shopmesh-pause:1"
PAUSE_TAR = ROOT / ".tools" / "images" / "pause.tar"
IMAGES_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "shopmesh" / "images"
CGROUPS = Path("/sys/fs/cgroup")
NO_REGISTRY = {k: "http://127.0.0.1:9" for k in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy")} | {
    "NO_PROXY": "", "no_proxy": ""}  # fmt: skip
NODE_RECORD = "node.json"
# What the node runs: the app, and the chart's bundled database and broker (tools/build-image.sh builds each).
IMAGES = ("shopmesh", "postgresql", "nats")
CNI_CACHE = Path("/var/lib/cni/results")
POD_CIDR = "10.244.0.0/24"
CLUSTER_DOMAIN = "cluster.local"
DNS_USER = "shopmesh-test:coredns"
# What kubelet itself writes and never removes (both families): its firewall against outside packets to
# 127.0.0.0/8 (hooked into INPUT and OUTPUT) and its canaries. Removed once no kubelet runs on the host.
KUBELET_LEFTOVERS = (("filter", "KUBE-FIREWALL"), ("filter", "KUBE-KUBELET-CANARY"), ("nat", "KUBE-KUBELET-CANARY"),
                     ("mangle", "KUBE-KUBELET-CANARY"), ("mangle", "KUBE-IPTABLES-HINT"))  # fmt: skip
PROXY_LEFTOVERS = (("nat", "KUBE-MARK-MASQ"), ("nat", "KUBE-PROXY-CANARY"), ("filter", "KUBE-PROXY-CANARY"),
                   ("mangle", "KUBE-PROXY-CANARY"))  # fmt: skip
BRIDGE_IP = "10.244.0.1"  # the host's address on the pod bridge, the pods' only next hop


@dataclass
class Node:
    """The running node: its name, the shopmesh image it holds, and the processes that make it."""

    cluster: Cluster
    directory: Path
    images: dict[str, str]
    cgroup_root: str
    bridge: str
    taints: list[dict[str, str]]
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    name: str = NAME
    proxy_healthz: int = 0
    dns_ready: int = 0

    @property
    def image(self) -> str:
        """The shopmesh image (the Dockerfile's)."""
        return self.images["shopmesh"]

    @property
    def socket(self) -> Path:
        return self.directory / "containerd.sock"

    @property
    def drop_rule(self) -> list[str]:
        """The mangle FORWARD rule (iptables arguments after -A/-D) that keeps pod traffic on the bridge."""
        return ["FORWARD", "-i", self.bridge, "!", "-o", self.bridge, "-m", "comment", "--comment",
                f"shopmesh-test {self.bridge}: pods reach only the bridge", "-j", "DROP"]  # fmt: skip

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

    def apply(self, manifest: dict[str, Any]) -> None:
        proc = self.cluster.kubectl("apply", "-f", "-", input=json.dumps(manifest))
        require(proc.returncode == 0, f"kubectl apply: {proc.stderr}")

    def alive(self) -> None:
        self.cluster.alive()
        for name, proc in self.processes.items():
            if proc.poll() is not None:
                raise ProcessDied(f"{name} exited with {proc.returncode}:\n{self.logs(name)}")

    def cgroup_dirs(self) -> list[Path]:
        """Every hierarchy's directory of the node's cgroup root (hybrid layout: one per v1 controller)."""
        return sorted(
            {h / self.cgroup_root.strip("/") for h in CGROUPS.iterdir() if (h / "cgroup.procs").exists()}
        )


def build_image(name: str = "shopmesh") -> tuple[str, Path]:
    """tools/build-image.sh's reference of one of IMAGES (a warm run builds nothing) and its `podman save` archive."""
    args = [] if name == "shopmesh" else [name]
    proc = subprocess.run(
        [str(ROOT / "tools/build-image.sh"), *args], capture_output=True, text=True, cwd=ROOT, timeout=1700
    )
    require(proc.returncode == 0, f"tools/build-image.sh {name} failed:\n{proc.stderr[-4000:]}")
    ref = proc.stdout.strip().splitlines()[-1]
    archive = IMAGES_CACHE / f"{name}-{ref.rsplit(':', 1)[1]}.tar"
    require(archive.is_file(), f"tools/build-image.sh printed {ref} but saved no {archive}")
    return ref, archive


def _http_ok(url: str) -> bool:
    parts = url.split("/", 3)[2].rsplit(":", 1)
    connection = http.client.HTTPConnection(parts[0], int(parts[1]), timeout=5)
    try:
        connection.request("GET", "/" + url.split("/", 3)[3])
        return connection.getresponse().status == 200
    finally:
        connection.close()


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
    # kube-proxy as kubeadm makes it: system:kube-proxy, bound by the bootstrap RBAC to system:node-proxier.
    proxy = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "system:kube-proxy")])
    proxy_cert, proxy_key = issue(ca, proxy, ExtendedKeyUsageOID.CLIENT_AUTH)
    paths["proxy_cert"] = _write(d / "kube-proxy.crt", proxy_cert)
    paths["proxy_key"] = _write(d / "kube-proxy.key", proxy_key)
    kubeconfig["users"] = [{"name": "kube-proxy", "user": {"client-certificate": str(paths["proxy_cert"]), "client-key": str(paths["proxy_key"])}}]  # fmt: skip
    kubeconfig["contexts"] = [{"name": "shopmesh-test", "context": {"cluster": "shopmesh-test", "user": "kube-proxy"}}]  # fmt: skip
    paths["proxy_kubeconfig"] = _write(d / "kube-proxy.kubeconfig", json.dumps(kubeconfig))
    dns = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, DNS_USER)])
    dns_cert, dns_key = issue(ca, dns, ExtendedKeyUsageOID.CLIENT_AUTH)
    paths["dns_cert"] = _write(d / "coredns.crt", dns_cert)
    paths["dns_key"] = _write(d / "coredns.key", dns_key)
    kubeconfig["users"] = [{"name": "coredns", "user": {"client-certificate": str(paths["dns_cert"]), "client-key": str(paths["dns_key"])}}]  # fmt: skip
    kubeconfig["contexts"] = [{"name": "shopmesh-test", "context": {"cluster": "shopmesh-test", "user": "coredns"}}]  # fmt: skip
    paths["dns_kubeconfig"] = _write(d / "coredns.kubeconfig", json.dumps(kubeconfig))
    return paths


def _dns_rbac() -> list[dict[str, Any]]:
    """What CoreDNS's kubernetes plugin reads, and no more: list and watch Services, EndpointSlices, Namespaces."""
    name = "shopmesh-test:coredns"
    role: dict[str, Any] = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": name},
        "rules": [
            {"apiGroups": [""], "resources": ["services", "namespaces"], "verbs": ["list", "watch"]},
            {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["list", "watch"]},
        ],
    }
    binding: dict[str, Any] = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": DNS_USER}],
    }
    return [role, binding]


def _corefile(node: Node, creds: dict[str, Path]) -> Path:
    # cluster.local only (any other name is refused, never forwarded), on the bridge's address; `ready` on loopback.
    text = f"""{CLUSTER_DOMAIN}:53 {{
    bind {BRIDGE_IP}
    errors
    ready {NAME}:{node.dns_ready}
    kubernetes {CLUSTER_DOMAIN} {{
        kubeconfig {creds["dns_kubeconfig"]} shopmesh-test
    }}
}}
"""
    return _write(node.directory / "Corefile", text)


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
  netns_mounts_under_state_dir = true
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


def _cni_config(node: Node) -> str:
    # The bridge (made by _network) without gateway or masquerade; host-local hands out POD_CIDR from .10 up and
    # keeps its leases in the directory; the only routes are SERVICE_CIDR via the bridge's address (and the
    # subnet itself). containerd adds the loopback plugin for each pod's lo.
    ipam = {
        "type": "host-local",
        "dataDir": str(node.directory / "cni-ipam"),
        "ranges": [[{"subnet": POD_CIDR, "rangeStart": "10.244.0.10", "gateway": BRIDGE_IP}]],
        "routes": [{"dst": SERVICE_CIDR, "gw": BRIDGE_IP}],
    }
    bridge = {
        "type": "bridge",
        "bridge": node.bridge,
        "isGateway": False,
        "isDefaultGateway": False,
        "ipMasq": False,
        "hairpinMode": True,
        "ipam": ipam,
    }
    return json.dumps({"cniVersion": "1.0.0", "name": "shopmesh-test", "plugins": [bridge]})


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    require(proc.returncode == 0 or not check, f"ip {' '.join(args)}: {proc.stderr}")
    return proc


def _network(node: Node) -> None:
    """The pod bridge with the host's address on it, SERVICE_CIDR routed to it, forwarding only from it."""
    _ip("link", "add", node.bridge, "type", "bridge")
    _ip("addr", "add", f"{BRIDGE_IP}/{POD_CIDR.split('/')[1]}", "dev", node.bridge)
    _ip("link", "set", node.bridge, "up")
    _ip("route", "add", SERVICE_CIDR, "dev", node.bridge, "src", BRIDGE_IP)
    Path(f"/proc/sys/net/ipv4/conf/{node.bridge}/forwarding").write_text("1")
    proc = subprocess.run(["iptables", "-t", "mangle", "-A", *node.drop_rule], capture_output=True, text=True)
    require(proc.returncode == 0, f"iptables: {proc.stderr}")
    (node.directory / "cni" / "10-shopmesh.conflist").write_text(_cni_config(node))


def _kube_proxy(node: Node, creds: dict[str, Path]) -> list[str]:
    healthz = free_block(2)
    metrics = healthz + 1
    config = {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": str(creds["proxy_kubeconfig"])},
        "mode": "iptables",
        "hostnameOverride": NAME,
        "bindAddress": NAME,
        "healthzBindAddress": f"{NAME}:{healthz}",
        "metricsBindAddress": f"{NAME}:{metrics}",
        "clusterCIDR": POD_CIDR,
        "detectLocalMode": "ClusterCIDR",
        # No route_localnet (NodePorts on 127.0.0.1), NodePorts only on the bridge's address.
        "iptables": {"localhostNodePorts": False, "masqueradeAll": False, "minSyncPeriod": "0s"},
        "nodePortAddresses": [f"{BRIDGE_IP}/32"],
        # Leave the host's conntrack sysctls and its refused negative oom_score_adj alone.
        "conntrack": {"maxPerCore": 0, "min": 0, "tcpEstablishedTimeout": "0s", "tcpCloseWaitTimeout": "0s"},
        "oomScoreAdj": 0,
    }
    _write(node.directory / "kube-proxy.yaml", json.dumps(config))
    node.proxy_healthz = healthz
    return [str(BIN / "kube-proxy"), f"--config={node.directory / 'kube-proxy.yaml'}", "--v=2"]


def _start(node: Node, name: str, command: list[str], env: dict[str, str] | None = None) -> None:
    with (node.directory / f"{name}.log").open("wb") as log:
        node.processes[name] = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            start_new_session=True,  # as the control plane's (devkit.kube.controlplane._start)
        )


def _stop(proc: subprocess.Popen[bytes], timeout: float = 20) -> None:
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def pids_mentioning(text: str) -> list[int]:
    """Processes whose command line contains `text` (the shims name the containerd socket they serve)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if text.encode() in (entry / "cmdline").read_bytes():
                pids.append(int(entry.name))
    return pids


def _kubelet_runs() -> bool:
    """Whether any kubelet runs on this host (another node's, or the machine's own)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if os.readlink(entry / "exe").rsplit("/", 1)[-1] == "kubelet":
                    return True
    return False


def mounts_under(path: str) -> list[str]:
    return [
        line.split()[1] for line in Path("/proc/mounts").read_text().splitlines() if path in line.split()[1]
    ]


def _stop_pods(node: Node) -> None:
    # The pods first, while kubelet still runs: it stops their containers and unmounts their volumes.
    node.cluster.kubectl(
        "delete", "pod", "--all-namespaces", f"--field-selector=spec.nodeName={NAME}", "--grace-period=1",
        "--wait=true", "--timeout=60s",
    )  # fmt: skip


def _stop_processes(node: Node) -> None:
    for name in ("coredns", "kube-proxy", "kubelet"):
        if name in node.processes:
            _stop(node.processes[name])
    if "containerd" in node.processes and node.processes["containerd"].poll() is None:
        # Whatever kubelet left running: kill its tasks so the shims exit.
        tasks = node.ctr("tasks", "ls", "-q").stdout.split()
        for task in tasks:
            node.ctr("tasks", "kill", "-s", "SIGKILL", task)
        for task in tasks:
            node.ctr("tasks", "delete", "-f", task)
        _stop(node.processes["containerd"])
    for pid in pids_mentioning(str(node.socket)):  # shims that outlived containerd
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _unmount(node: Node) -> None:
    # kubelet bind-mounts its root dir onto itself, containerd mounts rootfs and shm under its state: innermost first.
    for mount in reversed(mounts_under(str(node.directory))):
        subprocess.run(["umount", mount], check=False, capture_output=True, timeout=60)
    for mount in reversed(mounts_under(str(node.directory))):
        subprocess.run(["umount", "-l", mount], check=False, capture_output=True, timeout=60)


def _remove_cgroups(node: Node) -> None:
    # The cgroup root kubelet ran the pods in (kubepods, its QoS classes, the pods), leaf first; a container
    # that outlived everything above (its shim killed first) is killed here, or its cgroup could not go.
    for top in node.cgroup_dirs():
        if not top.exists():
            continue
        for procs in top.rglob("cgroup.procs"):
            with contextlib.suppress(OSError, ValueError):
                for pid in procs.read_text().split():
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(int(pid), signal.SIGKILL)
        for sub in sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
            with contextlib.suppress(OSError):
                sub.rmdir()
        with contextlib.suppress(OSError):
            top.rmdir()


def _remove_rules(node: Node) -> None:
    # kube-proxy's chains (both families), then what _network made; the bridge takes its route with it.
    if (node.directory / "kube-proxy.yaml").exists():
        subprocess.run([str(BIN / "kube-proxy"), "--cleanup", f"--config={node.directory / 'kube-proxy.yaml'}"],
                       capture_output=True, timeout=60, check=False)  # fmt: skip
    # What --cleanup leaves (it keeps the chains it shares with older kubelets): kube-proxy's own canaries and
    # KUBE-MARK-MASQ (kubelet ≥ 1.28 makes neither); and, once no kubelet runs here, what kubelet made.
    leftovers = PROXY_LEFTOVERS if _kubelet_runs() else PROXY_LEFTOVERS + KUBELET_LEFTOVERS
    for tool in ("iptables", "ip6tables"):
        if not _kubelet_runs():
            for hook in ("INPUT", "OUTPUT"):
                subprocess.run([tool, "-D", hook, "-j", "KUBE-FIREWALL"], capture_output=True, check=False)
        for table, chain in leftovers:
            if (
                subprocess.run([tool, "-t", table, "-F", chain], capture_output=True, check=False).returncode
                == 0
            ):
                subprocess.run([tool, "-t", table, "-X", chain], capture_output=True, check=False)
    subprocess.run(["iptables", "-t", "mangle", "-D", *node.drop_rule], capture_output=True, check=False)
    _ip("link", "del", node.bridge, check=False)


def _remove_cni_cache(node: Node) -> None:
    # libcni caches each pod's results outside containerd's config (/var/lib/cni/results); a pod torn down the
    # hard way leaves its loopback entry there. Only those naming this node's directory.
    for cached in CNI_CACHE.glob("*"):
        with contextlib.suppress(OSError):
            if f"{node.directory}/".encode() in cached.read_bytes():
                cached.unlink()


def clean_leftovers(d: Path) -> None:
    """What a node in `d` left behind when its process was killed outright (no teardown ran): its processes
    (named by their paths under `d`), mounts, cgroups, rules, bridge and CNI cache. `make cluster` runs this
    before it reuses the directory."""
    try:
        recorded = json.loads((d / NODE_RECORD).read_text())
    except (OSError, ValueError):
        return
    for pid in pids_mentioning(f"{d}/"):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    # A Node without its cluster (gone too): only the steps that need none.
    node = Node(cast(Cluster, None), d, {}, recorded["cgroup_root"], recorded["bridge"], [])
    for step in (_unmount, _remove_cgroups, _remove_rules, _remove_cni_cache):
        with contextlib.suppress(Exception):
            step(node)


def _teardown(node: Node) -> None:
    """Every step, each whatever the one before did (a timeout of one must not leave the mounts, cgroups or
    rules of the next behind); a ClusterError at the end names those that failed."""
    failed = []
    for step in (_stop_pods, _stop_processes, _unmount, _remove_cgroups, _remove_rules, _remove_cni_cache):
        try:
            step(node)
        except Exception as exc:
            failed.append(f"{step.__name__}: {exc!r}")
    if failed:
        raise ClusterError(f"the node's teardown left work undone: {'; '.join(failed)}")


@contextlib.contextmanager
def running_node(
    cluster: Cluster, d: Path, taints: list[dict[str, str]] | None = None, images: tuple[str, ...] = IMAGES
) -> Iterator[Node]:
    """Starts the node (registered with `taints`, holding `images`), waits until it is Ready with its pod network,
    kube-proxy and cluster DNS, and on exit leaves no process, mount, cgroup or network device of it."""
    missing = [
        str(p) for p in (BIN / "kubelet", BIN / "kube-proxy", BIN / "coredns", PAUSE_TAR) if not p.exists()
    ]
    require(not missing, f"{', '.join(missing)} missing: `make install` builds them (tools/install-node.sh)")
    built = {name: build_image(name) for name in images}
    tag = secrets.token_hex(4)
    node = Node(
        cluster,
        d,
        {name: ref for name, (ref, _) in built.items()},
        cgroup_root=f"/shopmesh-node-{tag}",
        bridge=f"smnet{tag}",
        taints=taints or [],
    )
    # What clean_leftovers needs should this process be killed before its teardown.
    _write(d / NODE_RECORD, json.dumps({"bridge": node.bridge, "cgroup_root": node.cgroup_root}))
    try:
        (d / "cni").mkdir()
        _network(node)
        (d / "containerd.toml").write_text(_containerd_config(d))
        # The node must never pull: every registry request goes to a closed loopback port as its proxy, so not
        # even the registry's name is looked up (a pod of an image it lacks fails ErrImagePull, on this machine).
        _start(node, "containerd", ["containerd", "--config", str(d / "containerd.toml")], NO_REGISTRY)
        wait_for("containerd", lambda: node.ctr("version").returncode == 0, 60, node)
        for tar in (PAUSE_TAR, *(archive for _, archive in built.values())):
            proc = node.ctr("images", "import", str(tar))
            require(proc.returncode == 0, f"ctr images import {tar}: {proc.stderr}")
        creds = _credentials(cluster, d)
        # The API server's kubelet client may use the kubelet API (logs, exec) once RBAC says so, as on kubeadm.
        binding = {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "shopmesh-test:apiserver-kubelet-client"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:kubelet-api-admin"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": KUBELET_CLIENT}],
        }  # fmt: skip
        rbac = {"apiVersion": "v1", "kind": "List", "items": [binding, *_dns_rbac()]}
        proc = cluster.kubectl("apply", "-f", "-", input=json.dumps(rbac))
        require(proc.returncode == 0, f"kubectl apply (RBAC): {proc.stderr}")
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
            "registerWithTaints": node.taints,
            "clusterDNS": [BRIDGE_IP],
            "clusterDomain": CLUSTER_DOMAIN,
            # Not the machine's /var/log/pods, where another kubelet's garbage collection removes what it did not make.
            "podLogsDir": str(d / "pod-logs"),
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
            lambda: cluster.kubectl("get", "node", NAME).returncode == 0,
            120,
            node,
        )
        # What --allocate-node-cidrs would do: the node's podCIDR (the CNI config above hands it out).
        spec = {"spec": {"podCIDR": POD_CIDR, "podCIDRs": [POD_CIDR]}}
        proc = cluster.kubectl("patch", "node", NAME, "-p", json.dumps(spec))
        require(proc.returncode == 0, f"kubectl patch node: {proc.stderr}")
        _start(node, "kube-proxy", _kube_proxy(node, creds))
        node.dns_ready = free_block(1)
        _start(node, "coredns", [str(BIN / "coredns"), "-conf", str(_corefile(node, creds))])

        def ready() -> bool:
            node.alive()
            conditions = cluster.get("node", NAME).get("status", {}).get("conditions", [])
            return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

        wait_for("the node to be Ready (its CNI config loaded)", ready, 120, node)
        wait_for(
            "kube-proxy /healthz",
            lambda: _http_ok(f"http://{NAME}:{node.proxy_healthz}/healthz"),
            60,
            node,
        )
        wait_for(
            "CoreDNS /ready (its kubernetes plugin synced)",
            lambda: _http_ok(f"http://{NAME}:{node.dns_ready}/ready"),
            60,
            node,
        )
        yield node
    finally:
        _teardown(node)
