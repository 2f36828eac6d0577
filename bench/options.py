"""What one benchmark run measures and how: the command line's options as one frozen object, and the fixed
parts of the method (calls in flight per row, where the JSON goes)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.report import ROW_NAMES
from meshctl.topology import ROOT

RESULTS = ROOT / "bench" / "results" / "latest.json"
ROW_CONCURRENCY = {"login": 4}
"""Rows whose calls are CPU-bound by design: Login hashes with Argon2id (~0.1 s of CPU), so 4 calls in flight
keep both users replicas busy and more would only queue (a latency of concurrency x KDF, not a faster row)."""


@dataclass(frozen=True)
class Options:
    db: str = "postgresql"
    duration: float = 3.0
    warmup: float = 1.0
    repetitions: int = 3
    concurrency: int = 32
    connections: int = 4
    products: int = 100_000
    users: int = 100
    rows: tuple[str, ...] = ROW_NAMES
    pin: bool = True
    measure_up: bool = True
    out: Path = RESULTS
    keep: bool = False
    """Keep the run directory (logs, Envoy config) instead of deleting it."""
    tracing: bool = True
    """Requests traced into the local trace sink, as `make up` runs the mesh. False: OTEL_SDK_DISABLED=true, no
    tracer anywhere (the Helm chart's default, without an OTLP endpoint)."""
    trace_sampling: float = 1.0
    """Percent of requests traced when tracing is on: 1, as a production deployment would sample (`make up`
    traces every request, to be looked at; `make up --trace-sampling` is the same knob)."""
    growth: bool = False
    """After the rows, seed `growth_orders` orders over `growth_users` users and measure GROWTH_ROWS
    (bench/growth.py)."""
    growth_orders: int = 1_000_000
    growth_users: int = 100_000
