"""The machine the benchmark runs on: what it is (the JSON's `machine`, the password KDF's cost here) and how
the run shares its CPUs between the system under test and the load generator."""

from __future__ import annotations

import datetime as dt
import os
import platform
import statistics
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import grpc
from argon2 import PasswordHasher

from bench import procs, seed
from bench.options import ROW_CONCURRENCY, Options
from svc_user.passwords import Passwords


def machine_info(options: Options) -> dict[str, Any]:
    """The machine and what ran on it (the JSON's `machine`)."""
    return {
        "cores": os.cpu_count() or 0,
        "cpu_model": procs.cpu_model(),
        "memory_mb": procs.memory_mb(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "grpcio": grpc.__version__,
        "database": options.db,
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "method": {
            "duration_s": options.duration,
            "warmup_s": options.warmup,
            "repetitions": options.repetitions,
            "concurrency": options.concurrency,
            "row_concurrency": ROW_CONCURRENCY,
            "grpc_connections": options.connections,
            "products": options.products,
            "pinned": options.pin,
            "tracing": options.tracing,
            "trace_sampling_percent": options.trace_sampling if options.tracing else 0,
        },
    }


def kdf_cost(repeats: int = 7) -> dict[str, Any]:
    """What one password verification (Argon2id, the users service's parameters) costs here, in ms."""
    passwords = Passwords()
    password_hash = passwords.hash(seed.PASSWORD)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        passwords.verify(password_hash, seed.PASSWORD)
        times.append((time.perf_counter() - start) * 1000)
    params = PasswordHasher()
    return {
        "algorithm": "argon2id",
        "time_cost": params.time_cost,
        "memory_kib": params.memory_cost,
        "parallelism": params.parallelism,
        "verify_ms": round(statistics.median(times), 2),
    }


def split_cpus(cpus: Sequence[int]) -> tuple[list[int], list[int]]:
    """(system under test, load generator): the last CPU for the load generator, the rest for the rest."""
    ordered = sorted(cpus)
    if len(ordered) < 2:
        return ordered, ordered
    return ordered[:-1], ordered[-1:]


@contextmanager
def pinned(cpus: Sequence[int] | None) -> Iterator[None]:
    """Runs the block (and every process started in it) on `cpus`."""
    saved = os.sched_getaffinity(0)
    if cpus:
        procs.move_process(os.getpid(), cpus)
    try:
        yield
    finally:
        procs.move_process(os.getpid(), saved)
