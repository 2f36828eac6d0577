"""bench.rss: how a process's resident memory is split by mapping (a synthetic /proc), and the deferred pieces
an idle replica does not load. No processes started."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench import rss
from meshctl.topology import ROOT

MB = 1024 / 1e6


def _mapping(start: int, end: int, perms: str, path: str, rss_kb: int) -> str:
    return f"{start:x}-{end:x} {perms} 00000000 00:00 0 {path}\nSize: {(end - start) // 1024} kB\nRss: {rss_kb} kB\n"


def test_breakdown_splits_rss_by_kind_of_mapping(tmp_path: Path) -> None:
    arena = 0x7F0000000000  # 64 MB aligned
    stack = 0x7F1000000000
    smaps = "".join(
        [
            _mapping(0x555500000000, 0x555500100000, "r-xp", "/usr/bin/python3.11", 900),
            _mapping(0x555500200000, 0x555501200000, "rw-p", "[heap]", 13000),
            _mapping(arena, arena + 0x21000, "rw-p", "", 40),
            _mapping(arena + 0x21000, arena + rss.ARENA, "---p", "", 0),
            _mapping(stack, stack + 4096, "---p", "", 0),
            _mapping(stack + 4096, stack + 4096 + rss.STACK, "rw-p", "", 16),
            _mapping(0x7F2000000000, 0x7F2000100000, "rw-p", "", 1008),  # a pymalloc arena
            _mapping(0x7FFC00000000, 0x7FFC00021000, "rw-p", "[stack]", 76),
            _mapping(0x7FFC10000000, 0x7FFC10004000, "r--p", "[vvar]", 0),
        ]
    )
    proc = tmp_path / "proc"
    (proc / "42").mkdir(parents=True)
    (proc / "42" / "smaps").write_text(smaps)
    (proc / "42" / "status").write_text("Name:\tpython\nVmRSS:\t   15040 kB\nThreads:\t2\n")
    reading = rss.breakdown(42, proc)
    assert reading.files == pytest.approx(900 * MB)
    assert reading.heap == pytest.approx(13000 * MB)
    assert reading.arenas == pytest.approx(40 * MB)
    assert reading.arena_count == 1
    assert reading.stacks == pytest.approx((16 + 76) * MB)
    assert reading.stack_count == 2
    assert reading.other == pytest.approx(1008 * MB)
    assert reading.rss == pytest.approx(15040 * MB)
    assert reading.threads == 2
    assert reading.files + reading.heap + reading.arenas + reading.stacks + reading.other == pytest.approx(
        reading.rss
    )


def test_a_traced_replica_loads_the_otlp_exporter_with_its_first_spans() -> None:
    """Tracing on (OTLP/gRPC to nowhere): building Tracing imports no exporter; exporting the first batch does,
    and the exporter is the configured one."""
    program = (
        "import sys\n"
        "from meshkit.settings import load_server_settings\n"
        "from meshkit.telemetry import Tracing, TracingSettings\n"
        "tracing = Tracing(load_server_settings('users', 'SVC_USER', 50100), TracingSettings.from_env())\n"
        "name = 'opentelemetry.exporter.otlp.proto.grpc.trace_exporter'\n"
        "print(name in sys.modules)\n"
        "tracing.provider.get_tracer('t').start_span('s').end()\n"
        "tracing.provider.force_flush()\n"
        "print(name in sys.modules)\n"
        "tracing.shutdown()\n"
    )
    env = {
        **os.environ,
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:9",
        "OTEL_EXPORTER_OTLP_TIMEOUT": "1",
    }
    out = subprocess.run(
        [sys.executable, "-c", program], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert out.stdout.split() == ["False", "True"], out.stderr
