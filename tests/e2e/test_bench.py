"""`make bench`'s harness, end to end but tiny: the real mesh (plus the empty service) on the suite's PostgreSQL,
every row driven by the real ghz and wrk for half a second. Checks the result's shape and that every row was
served without errors; never timings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import report
from bench.cli import render
from bench.options import Options
from bench.report import ROW_NAMES
from bench.run import run
from devkit.postgres import PostgresServer

pytestmark = pytest.mark.e2e


def test_bench_runs_every_row_without_errors(postgres: PostgresServer, tmp_path: Path) -> None:
    options = Options(
        duration=0.5,
        warmup=0,
        repetitions=1,
        concurrency=4,
        connections=2,
        products=50_000,  # page 1,000 of 50 exists
        users=4,
        pin=False,  # leave the test process's CPUs alone
        measure_up=False,
        out=tmp_path / "latest.json",
    )
    lines: list[str] = []
    result = run(options, postgres=postgres, echo=lines.append)
    doc = report.document(result.machine, result.rows, result.rss_mb, result.up_to_healthy_s)
    report.write_json(doc, options.out)

    written = json.loads(options.out.read_text())
    assert list(written) == ["machine", "rows", "rss_mb", "up_to_healthy_s", "cache_staleness"]
    assert written["machine"]["cores"] >= 1 and written["machine"]["cpu_model"]
    assert [r["name"] for r in written["rows"]] == list(ROW_NAMES)
    for row in written["rows"]:
        assert list(row) == ["name", "rps", "p50_ms", "p99_ms", "errors", "hit_ratio", "cpu_s_per_1k"]
        assert row["errors"] == 0, (row, result.rows)
        assert row["rps"] > 0 and row["p50_ms"] > 0, row
        assert {"envoy", "postgres", "loadgen"} <= set(row["cpu_s_per_1k"]), row
    assert {"envoy", "postgres", "products-0", "bench-0"} <= set(written["rss_mb"])
    assert all(mb > 0 for mb in written["rss_mb"].values())
    assert "Targets" in render(result)
