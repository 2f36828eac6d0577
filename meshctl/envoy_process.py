"""Envoy as a child of the local mesh: its rendered configuration (reused while its inputs are unchanged), its
command line, and when it is ready (every replica healthy in its eyes, the token signing keys fetched)."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import urllib.request
from pathlib import Path

from meshctl import envoy_config
from meshctl import envoy_observability as observability
from meshctl import envoy_security as security
from meshctl.topology import Topology
from meshkit import identity

ENVOY = "envoy"


def write_config(
    run_dir: Path,
    topology: Topology,
    descriptor: Path,
    observe: observability.Options,
    tls: security.Tls | None,
) -> Path:
    """RUN_DIR/envoy/envoy.json. A run with the same inputs as the last one keeps that file: rendering costs
    a second or more of CPU, taken from the replicas starting at the same time."""
    path = run_dir / "envoy" / "envoy.json"
    stamp = path.with_name("envoy.inputs.sha256")
    inputs = _inputs(topology, descriptor, observe, tls)
    if path.is_file() and stamp.is_file() and stamp.read_text() == inputs:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp.unlink(missing_ok=True)
    rendered = envoy_config.render(topology, descriptor_path=descriptor, observe=observe, tls=tls)
    envoy_config.write(rendered, path)
    stamp.write_text(inputs)
    return path


def _inputs(
    topology: Topology, descriptor: Path, observe: observability.Options, tls: security.Tls | None
) -> str:
    """A digest of everything the rendered config depends on: the arguments, the descriptor set, the code
    that renders (all of meshctl, and meshkit's identity headers) and the version of the Envoy API types."""
    digest = hashlib.sha256(repr((topology, descriptor, observe, tls)).encode())
    digest.update(importlib.metadata.version("envoy-data-plane").encode())
    package = Path(envoy_config.__file__).parent
    for source in [descriptor, *sorted(package.glob("*.py")), Path(identity.__file__)]:
        digest.update(source.read_bytes())
    return digest.hexdigest()


def argv(config_path: Path, log_level: str) -> list[str]:
    return [
        envoy_config.default_envoy(),
        "-c",
        str(config_path),
        "--log-level",
        log_level,
        # No shared memory: several meshes (a `make up` and a test run) may share the machine.
        "--disable-hot-restart",
        # Access-log lines reach the console within a quarter second (Envoy's default: 10 s).
        "--file-flush-interval-msec",
        "250",
        # One worker per CPU this process may run on: Envoy's default counts the machine's
        # hardware threads and ignores affinity, so pinned or in a cgroup it would oversubscribe.
        "--concurrency",
        str(usable_cpus()),
    ]


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity, where the platform has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, BSD
        return os.cpu_count() or 1


def has_jwks(admin: str) -> bool:
    """Envoy holds the users service's signing keys (until then, every token would be refused)."""
    url = f"http://{admin}/stats?filter=jwt_authn.jwks_fetch_success"
    try:
        with urllib.request.urlopen(url, timeout=1) as reply:
            text = reply.read().decode()
    except OSError:
        return False
    return any(line.split(":")[-1].strip() not in ("", "0") for line in text.splitlines())


def sees_all_healthy(admin: str, topology: Topology, replicas: dict[str, list[str]]) -> bool:
    """Every replica of every routed service is healthy in Envoy's eyes (admin /clusters)."""
    try:
        with urllib.request.urlopen(f"http://{admin}/clusters?format=json", timeout=1) as r:
            clusters = json.load(r)["cluster_statuses"]
    except (OSError, ValueError, KeyError):
        return False
    # Only the services' clusters: jwks, the collector and the admin cluster are always "healthy", and a
    # service without an API has no cluster.
    routed = {s.name for s in topology.gateway_services}
    expected = sum(len(replicas[name]) for name in routed)
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
