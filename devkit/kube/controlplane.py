"""A real Kubernetes control plane on 127.0.0.1: etcd, kube-apiserver, kube-controller-manager and kube-scheduler.

Built by tools/install-kube.sh (pinned by tools/kube) into .tools/bin. `running_control_plane(directory)` starts
them with their own CA, serving certificate and tokens, everything under `directory`, and stops them on exit.
Without a node (devkit.kube.node) objects are accepted, validated, defaulted and reconciled by the real
controllers (Deployments get ReplicaSets, ReplicaSets and StatefulSets get Pods and PVCs, deleting an owner
garbage-collects what it owned), but no pod ever runs. tests/cluster and `make cluster` (devkit.kube.cli) use it.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import http.client
import ipaddress
import json
import os
import secrets
import ssl
import subprocess
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from devkit.ports import free_block

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".tools" / "bin"
CHART = ROOT / "helm" / "shopmesh"
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")
# Under a loaded machine the API server needs more than its usual ~4 s to be ready.
START_DEADLINE = 120.0
# Who the API server is when it calls a kubelet (logs, exec): RBAC gives it system:kubelet-api-admin (devkit.kube.node).
KUBELET_CLIENT = "kube-apiserver-kubelet-client"
# ClusterIPs come from here (the API server's --service-cluster-ip-range); the node routes it to its pod bridge.
SERVICE_CIDR = "10.96.0.0/16"
# Of the CAs and every certificate: a test session needs minutes, a `make cluster` left running days.
VALIDITY = datetime.timedelta(days=30)


class ClusterError(RuntimeError):
    """The cluster (or a tool driving it) did not do what it must; the message says what and shows its output."""


class ProcessDied(ClusterError):
    """One of the cluster's own processes exited: waiting any longer is pointless."""


def require(condition: object, message: str) -> None:
    if not condition:
        raise ClusterError(message)


def _write_pem(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    path.chmod(0o600)
    return path


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def issue(
    ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
    subject: x509.Name,
    usage: x509.ObjectIdentifier | list[x509.ObjectIdentifier],
    sans: list[x509.GeneralName] | None = None,
) -> tuple[bytes, bytes]:
    """A certificate (PEM) for a fresh key (PEM), signed by the CA, valid for VALIDITY, for its extended key
    usage(s)."""
    now = datetime.datetime.now(datetime.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca[0].subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.ExtendedKeyUsage(usage if isinstance(usage, list) else [usage]), critical=False)
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(ca[1], hashes.SHA256()).public_bytes(serialization.Encoding.PEM), _key_pem(key)


def load_ca(directory: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """The control plane's CA (certificate and key) as _pki wrote it, to sign more certificates with."""
    key = serialization.load_pem_private_key((directory / "ca.key").read_bytes(), None)
    require(isinstance(key, ec.EllipticCurvePrivateKey), "the CA key is not an EC key")
    assert isinstance(key, ec.EllipticCurvePrivateKey)  # for the type checker
    return x509.load_pem_x509_certificate((directory / "ca.crt").read_bytes()), key


def _new_ca(common_name: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .sign(ca_key, hashes.SHA256())
    )
    return ca, ca_key


def _pki(directory: Path) -> dict[str, Path]:
    """A CA, the API server's serving certificate for 127.0.0.1 and its client certificate for kubelets (CN
    kube-apiserver-kubelet-client), both signed by it, and the service-account signing key. etcd has a CA of
    its own (as kubeadm does), so that no certificate of the cluster's CA (a kubelet's) can reach it: its
    serving and peer certificate and the API server's client certificate for it."""
    ca, ca_key = _new_ca("shopmesh-test-ca")
    # The names in-cluster clients use too, so the controller-manager's root CA file is the real thing.
    sans: list[x509.GeneralName] = [
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.DNSName("localhost"),
        x509.DNSName("kubernetes.default.svc"),
    ]
    server = x509.oid.ExtendedKeyUsageOID.SERVER_AUTH
    client = x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH
    cert, key = issue(
        (ca, ca_key), x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]), server, sans
    )
    kubelet_client = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, KUBELET_CLIENT)])
    kc_cert, kc_key = issue((ca, ca_key), kubelet_client, client)
    sa_key = ec.generate_private_key(ec.SECP256R1())
    etcd_ca = _new_ca("shopmesh-test-etcd-ca")
    loopback: list[x509.GeneralName] = [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    etcd_cert, etcd_key = issue(
        etcd_ca, x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "etcd")]), [server, client], loopback
    )
    etcd_client_cert, etcd_client_key = issue(
        etcd_ca, x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver-etcd-client")]), client
    )
    return {
        "etcd_ca": _write_pem(directory / "etcd-ca.crt", etcd_ca[0].public_bytes(serialization.Encoding.PEM)),
        "etcd_cert": _write_pem(directory / "etcd.crt", etcd_cert),
        "etcd_key": _write_pem(directory / "etcd.key", etcd_key),
        "etcd_client_cert": _write_pem(directory / "apiserver-etcd-client.crt", etcd_client_cert),
        "etcd_client_key": _write_pem(directory / "apiserver-etcd-client.key", etcd_client_key),
        "ca": _write_pem(directory / "ca.crt", ca.public_bytes(serialization.Encoding.PEM)),
        "ca_key": _write_pem(directory / "ca.key", _key_pem(ca_key)),
        "cert": _write_pem(directory / "apiserver.crt", cert),
        "key": _write_pem(directory / "apiserver.key", key),
        "kubelet_client_cert": _write_pem(directory / "apiserver-kubelet-client.crt", kc_cert),
        "kubelet_client_key": _write_pem(directory / "apiserver-kubelet-client.key", kc_key),
        "sa_key": _write_pem(directory / "sa.key", _key_pem(sa_key)),
        "sa_pub": _write_pem(
            directory / "sa.pub",
            sa_key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
        ),
    }


def _kubeconfig(path: Path, server: str, ca: Path, user: str, token: str) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "shopmesh-test", "cluster": {"server": server, "certificate-authority": str(ca)}}
        ],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": "shopmesh-test", "context": {"cluster": "shopmesh-test", "user": user}}],
        "current-context": "shopmesh-test",
    }
    _write_pem(path, json.dumps(config).encode())  # JSON is YAML; 0600 because it holds a token
    return path


@dataclass
class Cluster:
    """The running control plane and the clients (helm, kubectl as a cluster admin) that drive it."""

    directory: Path
    server: str
    kubeconfig: Path
    ca: Path
    token: str
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        # helm's caches and repository config stay inside the cluster's directory, not the user's home.
        return {
            **os.environ,
            "KUBECONFIG": str(self.kubeconfig),
            "HELM_CACHE_HOME": str(self.directory / "helm" / "cache"),
            "HELM_CONFIG_HOME": str(self.directory / "helm" / "config"),
            "HELM_DATA_HOME": str(self.directory / "helm" / "data"),
        }

    def run(self, tool: str, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / tool), *args],
            capture_output=True,
            text=True,
            env=self.env(),
            cwd=ROOT,
            input=input,
            timeout=180,
        )

    def helm(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run("helm", *args)

    def kubectl(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return self.run("kubectl", *args, input=input)

    def get(self, *args: str) -> dict[str, Any]:
        """`kubectl get ... -o json`, parsed; ClusterError if kubectl fails."""
        proc = self.kubectl("get", *args, "-o", "json")
        require(proc.returncode == 0, f"kubectl get {' '.join(args)}: {proc.stderr}")
        result: dict[str, Any] = json.loads(proc.stdout)
        return result

    def items(self, *args: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.get(*args)["items"]
        return items

    def logs(self, component: str, lines: int = 40) -> str:
        text = (self.directory / f"{component}.log").read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def alive(self) -> None:
        for name, proc in self.processes.items():
            if proc.poll() is not None:
                raise ProcessDied(f"{name} exited with {proc.returncode}:\n{self.logs(name)}")


class _Watched(Protocol):
    def alive(self) -> None: ...


def wait_for(
    what: str, check: Callable[[], Any], deadline: float = 60.0, cluster: _Watched | None = None
) -> Any:
    """Polls `check` until it returns something truthy; fails with `what` (and the last error) at the deadline,
    at once if a process of `cluster` (the control plane, or a node) exits."""
    end = time.monotonic() + deadline
    last: object = None
    while time.monotonic() < end:
        if cluster is not None:
            cluster.alive()
        try:
            result = check()
        except ProcessDied:
            raise
        except (OSError, AssertionError, ValueError, ClusterError) as exc:
            last = exc
        else:
            if result:
                return result
            last = result
        time.sleep(0.2)
    raise ClusterError(f"timed out after {deadline:.0f} s waiting for {what} (last: {last!r})")


def _https_ok(url: str, context: ssl.SSLContext, token: str | None = None) -> bool:
    # http.client, closed in every case: urllib leaves the socket of a handshake the starting server cut to the
    # garbage collector, and pytest turns that ResourceWarning into an error.
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPSConnection(parts.hostname or "", parts.port, timeout=5, context=context)
    try:
        connection.request("GET", parts.path, headers={"Authorization": f"Bearer {token}"} if token else {})
        return connection.getresponse().status == 200
    finally:
        connection.close()


def _start(cluster: Cluster, name: str, args: list[str]) -> None:
    log = (cluster.directory / f"{name}.log").open("wb")
    # Their own session: a Ctrl-C meant for whoever started them (make cluster's serve) must not reach them, or
    # they would die before the teardown that needs them.
    cluster.processes[name] = subprocess.Popen(
        [str(BIN / name), *args], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    log.close()


def _stop(cluster: Cluster) -> None:
    # Reverse order, each gone before the next is stopped: the controllers first, etcd last, so nothing logs a
    # storm of lost connections, and the API server does not spend its shutdown retrying an etcd already gone.
    for proc in reversed(list(cluster.processes.values())):
        if proc.poll() is None:
            proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def running_control_plane(directory: Path) -> Iterator[Cluster]:
    """Starts the control plane with its state in `directory` (which must exist), yields it once the
    controller-manager is at work, and stops every process on exit."""
    missing = [b for b in (*COMPONENTS, "kubectl", "helm") if not (BIN / b).exists()]
    require(
        not missing,
        f"{', '.join(missing)} missing from .tools/bin: `make install` builds them (tools/install-kube.sh)",
    )
    pki = _pki(directory)
    etcd_client, etcd_peer, api_port, cm_port, scheduler_port = (free_block(5) + i for i in range(5))
    tokens = {user: secrets.token_hex(16) for user in ("admin", "controller-manager", "scheduler")}
    # token,user,uid,"groups": the admin (the tests, `make cluster`'s user) is a cluster admin; the controllers
    # are who kubeadm makes them, so they run with the bootstrap RBAC roles a real cluster gives them.
    tokens_csv = (
        f'{tokens["admin"]},admin,admin,"system:masters"\n'
        f"{tokens['controller-manager']},system:kube-controller-manager,kube-controller-manager\n"
        f"{tokens['scheduler']},system:kube-scheduler,kube-scheduler\n"
    )
    _write_pem(directory / "tokens.csv", tokens_csv.encode())  # 0600: the admin token is cluster-admin
    server = f"https://127.0.0.1:{api_port}"
    kubeconfigs = {
        user: _kubeconfig(directory / f"{user}.kubeconfig", server, pki["ca"], user, token)
        for user, token in tokens.items()
    }
    cluster = Cluster(directory, server, kubeconfigs["admin"], pki["ca"], tokens["admin"])
    try:
        _start(
            cluster,
            "etcd",
            [
                "--name=default",
                f"--data-dir={directory / 'etcd'}",
                # TLS with client certificates of its own CA, clients and peers alike: loopback is shared
                # with every user of the machine, and etcd's data is the cluster.
                f"--listen-client-urls=https://127.0.0.1:{etcd_client}",
                f"--advertise-client-urls=https://127.0.0.1:{etcd_client}",
                f"--listen-peer-urls=https://127.0.0.1:{etcd_peer}",
                f"--initial-advertise-peer-urls=https://127.0.0.1:{etcd_peer}",
                f"--initial-cluster=default=https://127.0.0.1:{etcd_peer}",
                f"--cert-file={pki['etcd_cert']}",
                f"--key-file={pki['etcd_key']}",
                f"--trusted-ca-file={pki['etcd_ca']}",
                "--client-cert-auth",
                f"--peer-cert-file={pki['etcd_cert']}",
                f"--peer-key-file={pki['etcd_key']}",
                f"--peer-trusted-ca-file={pki['etcd_ca']}",
                "--peer-client-cert-auth",
                # Throwaway data: an fsync per write would only slow it down on a shared disk.
                "--unsafe-no-fsync",
                "--log-level=warn",
            ],
        )
        _start(
            cluster,
            "kube-apiserver",
            [
                f"--etcd-servers=https://127.0.0.1:{etcd_client}",
                f"--etcd-cafile={pki['etcd_ca']}",
                f"--etcd-certfile={pki['etcd_client_cert']}",
                f"--etcd-keyfile={pki['etcd_client_key']}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={api_port}",
                f"--cert-dir={directory / 'apiserver-certs'}",
                f"--tls-cert-file={pki['cert']}",
                f"--tls-private-key-file={pki['key']}",
                f"--token-auth-file={directory / 'tokens.csv'}",
                # The node's kubelet (devkit.kube.node) authenticates with a certificate of this CA, as
                # system:node:<name> in system:nodes, and may do only what the Node authorizer and the
                # NodeRestriction admission plugin let a kubelet do.
                f"--client-ca-file={pki['ca']}",
                "--authorization-mode=Node,RBAC",
                "--enable-admission-plugins=NodeRestriction",
                f"--kubelet-client-certificate={pki['kubelet_client_cert']}",
                f"--kubelet-client-key={pki['kubelet_client_key']}",
                f"--kubelet-certificate-authority={pki['ca']}",
                "--anonymous-auth=false",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--service-account-issuer=https://kubernetes.default.svc",
                f"--service-account-key-file={pki['sa_pub']}",
                f"--service-account-signing-key-file={pki['sa_key']}",
                "--profiling=false",
            ],
        )
        api_context = ssl.create_default_context(cafile=str(pki["ca"]))
        wait_for(
            "kube-apiserver /readyz",
            lambda: _https_ok(f"{server}/readyz", api_context, cluster.token),
            START_DEADLINE,
            cluster,
        )
        _start(
            cluster,
            "kube-controller-manager",
            [
                f"--kubeconfig={kubeconfigs['controller-manager']}",
                "--bind-address=127.0.0.1",
                f"--secure-port={cm_port}",
                f"--cert-dir={directory / 'controller-manager-certs'}",
                "--leader-elect=false",
                # Each controller acts as its own service account, with the bootstrap roles RBAC gives it.
                "--use-service-account-credentials=true",
                f"--service-account-private-key-file={pki['sa_key']}",
                f"--root-ca-file={pki['ca']}",
                "--profiling=false",
            ],
        )
        _start(
            cluster,
            "kube-scheduler",
            [
                f"--kubeconfig={kubeconfigs['scheduler']}",
                "--bind-address=127.0.0.1",
                f"--secure-port={scheduler_port}",
                "--leader-elect=false",
                "--profiling=false",
            ],
        )
        # Their health endpoints serve a certificate each made for itself: nothing to verify it against, and
        # both are loopback processes started just above.
        own = ssl.create_default_context()
        own.check_hostname = False
        own.verify_mode = ssl.CERT_NONE
        for name, port in (("kube-controller-manager", cm_port), ("kube-scheduler", scheduler_port)):
            wait_for(
                f"{name} /healthz",
                functools.partial(_https_ok, f"https://127.0.0.1:{port}/healthz", own),
                START_DEADLINE,
                cluster,
            )
        # The controller-manager at work: its service-account controller gives every namespace a `default` one.
        wait_for(
            "the default ServiceAccount (the controller-manager's first work)",
            lambda: cluster.kubectl("get", "serviceaccount", "default", "-n", "default").returncode == 0,
            START_DEADLINE,
            cluster,
        )
        yield cluster
    finally:
        _stop(cluster)
