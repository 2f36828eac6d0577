"""The local mesh: the NATS broker, every service replica, Envoy and the trace sink, wired together and run by
one `Supervisor` (meshctl.supervisor), which restarts whatever exits on its own.

Used by `make up` (through `python -m meshctl up`) and by the end-to-end tests,
so both run the mesh exactly the same way. What each process is lives in meshctl.mesh_processes and
meshctl.envoy_process; this module brings them up in order, waits for each to be healthy, and stops them.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from meshctl import envoy_docs, envoy_process, mesh_processes, monitoring
from meshctl import envoy_security as security
from meshctl.endpoints import Endpoints
from meshctl.envoy_process import ENVOY
from meshctl.mesh_processes import MAIL_DIR_VAR, NATS, NATS_URL_VAR, SINK, default_nats_server
from meshctl.probes import MeshError, Probe, accepts, can_listen, wait_until
from meshctl.supervisor import Child, Spec, Supervisor
from meshctl.topology import DEFAULT_DESCRIPTOR, Topology
from meshctl.tracing_plan import TracingPlan
from meshkit.logs import pretty

# Callers (cli, tests, bench) import these from here: the launcher is the one entry point to a local mesh.
__all__ = ["ENVOY", "NATS", "SINK", "Child", "Endpoints", "Mesh", "MeshError", "default_nats_server"]
_TracingPlan = TracingPlan  # its older name, still imported by tests/unit/test_observability_envoy.py


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
        self.tracing = TracingPlan.from_env(self.env, topology, self.run_dir, trace_sampling)
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
                self._spawn(mesh_processes.sink(self.tracing, self.topology, self.run_dir, self.env))
            if not self.external_nats:
                self._spawn(mesh_processes.nats(self.topology, self.run_dir, self.env, self.endpoints))
                ready = mesh_processes.nats_probe(self.endpoints)
                self._wait_until(ready.check, deadline, "the NATS broker did not report healthy in time")
            self._spawn_replicas()
            config_path = self.write_envoy_config()
            if self.tracing.sink_listen:
                self._wait_for_sink(deadline)
            self._wait_replicas_serving(deadline)
            envoy_env = {**self.env, **self.tracing.envoy_env(self.env)}
            argv = envoy_process.argv(config_path, self.envoy_log_level)
            probe = Probe("http", f"http://{self.endpoints.admin}/ready")
            self._spawn(Spec(ENVOY, argv, envoy_env, self.topology.gateway.public_port, probe))
            self._wait_envoy_ready(deadline)
            if self.monitoring:
                spec = mesh_processes.prometheus(self.monitoring, self.run_dir, self.env, self.endpoints)
                self._spawn(spec)
                assert spec.probe is not None
                self._wait_until(spec.probe.check, deadline, "Prometheus did not report ready in time")
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
            if not can_listen(gw.bind if port == gw.public_port else "127.0.0.1", port)
        ]
        if taken:
            raise MeshError(
                f"port{'s' if len(taken) > 1 else ''} in use: {', '.join(taken)}. Is another mesh running? "
                "Stop it, or run this one beside it with --port-offset N."
            )

    def write_envoy_config(self) -> Path:
        """RUN_DIR/envoy/envoy.json, rendered unless the last run's inputs were the same."""
        if absent := envoy_docs.missing():
            raise MeshError(
                f"gen/ lacks what Envoy serves at /docs ({', '.join(f'gen/{f}' for f in absent)}): run `make gen`"
            )
        return envoy_process.write_config(
            self.run_dir, self.topology, self.descriptor, self.tracing.envoy_options(), self.tls
        )

    def _spawn_replicas(self) -> None:
        data_dir = self.env.get("SHOPMESH_DATA_DIR", str(self.run_dir / "data"))
        tracing_env = self.tracing.service_env(self.env)
        for service in self.topology.services:
            for index, port in enumerate(service.ports()):
                self._spawn(
                    mesh_processes.replica(
                        service, index, port, self.env, self.endpoints, data_dir, tracing_env
                    )
                )

    def _spawn(self, spec: Spec) -> Child:
        return self.supervisor.spawn(spec)

    def _wait_until(self, ready: Callable[[], bool], deadline: float, failure: str) -> None:
        wait_until(ready, deadline, failure, check=self.supervisor.check)

    def _wait_for_sink(self, deadline: float) -> None:
        """Envoy's tracer connects at start: the sink listens first."""
        listen = self.tracing.sink_listen
        self._wait_until(
            lambda: accepts(listen), deadline, f"the trace sink did not listen on {listen} in time"
        )

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
        admin = self.endpoints.admin
        self._wait_until(
            lambda: envoy_process.sees_all_healthy(admin, self.topology, self.endpoints.replicas),
            deadline,
            "Envoy did not report every replica healthy in time",
        )
        # Until Envoy holds the users service's signing keys, every token would be refused.
        self._wait_until(
            lambda: envoy_process.has_jwks(admin),
            deadline,
            "Envoy did not fetch the token signing keys (JWKS) in time",
        )

    def envoy_ready(self) -> bool:
        """Envoy sees every replica healthy and holds the signing keys (what `start` waited for)."""
        admin = self.endpoints.admin
        return envoy_process.sees_all_healthy(
            admin, self.topology, self.endpoints.replicas
        ) and envoy_process.has_jwks(admin)

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
