"""The local supervisor: starts Envoy and every service replica, watches them, stops them.

Used by `make up` (through `python -m meshctl up`) and by the end-to-end tests,
so both run the mesh exactly the same way.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
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
from meshctl.topology import DEFAULT_DESCRIPTOR, ROOT, Topology

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

    @property
    def rest(self) -> str:
        return f"http://{self.gateway}"


class Mesh:
    """Envoy plus N replicas of every service, on loopback, supervised as one."""

    def __init__(
        self,
        topology: Topology,
        run_dir: Path,
        *,
        env: Mapping[str, str] | None = None,
        echo: Callable[[str], None] | None = None,
        envoy_log_level: str = "warning",
    ) -> None:
        self.topology = topology
        self.run_dir = run_dir.resolve()
        self.env = dict(os.environ if env is None else env)
        self.echo = echo
        self.envoy_log_level = envoy_log_level
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
        )

    # -- starting ---------------------------------------------------------

    def start(self, timeout: float = 90.0) -> Endpoints:
        """Starts everything and returns once every replica and Envoy report healthy."""
        for sub in ("logs", "data", "envoy"):
            (self.run_dir / sub).mkdir(parents=True, exist_ok=True)
        config_path = self.write_envoy_config()
        try:
            for service in self.topology.services:
                for index, port in enumerate(service.ports()):
                    self._spawn_service(service.name, service.module, service.env_prefix, index, port)
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
                ],
                self.env,
            )
            self._wait_healthy(time.monotonic() + timeout)
        except BaseException:
            self.stop()
            raise
        return self.endpoints

    def write_envoy_config(self) -> Path:
        path = self.run_dir / "envoy" / "envoy.json"
        envoy_config.write(envoy_config.render(self.topology, descriptor_path=DEFAULT_DESCRIPTOR), path)
        return path

    def _spawn_service(self, service: str, module: str, prefix: str, index: int, port: int) -> None:
        env = {
            **self.env,
            f"{prefix}_HOST": "127.0.0.1",
            f"{prefix}_PORT": str(port),
            "SHOPMESH_REPLICA": f"{service}-{index}",
            "SHOPMESH_DATA_DIR": self.env.get("SHOPMESH_DATA_DIR", str(self.run_dir / "data")),
            "MESH_INTERNAL_ADDR": self.endpoints.internal,
            "PYTHONUNBUFFERED": "1",
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
                line = raw.decode(errors="replace").rstrip()
                child.tail.append(line)
                if self.echo:
                    self.echo(f"{child.name:>11} | {line}")

    def _wait_healthy(self, deadline: float) -> None:
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
            time.sleep(0.1)
        while not self._envoy_sees_all_healthy():
            self._check_children()
            if time.monotonic() > deadline:
                raise MeshError("Envoy did not report every replica healthy in time")
            time.sleep(0.1)

    def _envoy_sees_all_healthy(self) -> bool:
        try:
            with urllib.request.urlopen(
                f"http://{self.endpoints.admin}/clusters?format=json", timeout=1
            ) as r:
                clusters = json.load(r)["cluster_statuses"]
        except (OSError, ValueError, KeyError):
            return False
        expected = sum(len(a) for a in self.endpoints.replicas.values())
        healthy = 0
        for cluster in clusters:
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
        """Starts a killed process again and waits until it reports SERVING."""
        if self.child(name).alive():
            raise MeshError(f"{name} is still running")
        argv, env = self._specs[name]
        child = self._spawn(name, argv, env)
        service, _, index = name.rpartition("-")
        address = self.endpoints.replicas[service][int(index)]
        deadline = time.monotonic() + timeout
        while not _grpc_serving(address):
            if not child.alive():
                time.sleep(0.2)
                raise MeshError(child.describe_exit())
            if time.monotonic() > deadline:
                raise MeshError(f"{name} did not become healthy again in time")
            time.sleep(0.05)

    def dead_child(self) -> Child | None:
        return next((c for c in self.children if not c.alive()), None)

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM to everyone (services drain), SIGKILL to whoever outlives the grace period."""
        with self._lock:
            children = list(self.children)
        for child in children:
            if child.alive():
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for child in children:
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


def _grpc_serving(address: str) -> bool:
    with grpc.insecure_channel(address) as channel:
        try:
            stub: Any = health_pb2_grpc.HealthStub(channel)  # the stubs package lacks its methods
            reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=0.5)
        except grpc.RpcError:
            return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)
