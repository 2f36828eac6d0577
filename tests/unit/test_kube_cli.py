"""`python -m devkit.kube` (make cluster / make cluster-down) without a cluster: what it says and refuses. The
cluster it starts is the one tests/cluster runs the chart on (devkit.kube.chart, the same walkthrough)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from devkit.kube import cli

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "devkit.kube", *args], capture_output=True, text=True, cwd=ROOT, timeout=60
    )


def test_down_with_no_cluster_says_so(tmp_path: Path) -> None:
    proc = run("down", "--dir", str(tmp_path / "cluster"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "make cluster-down: no cluster runs"


def test_a_state_file_of_a_dead_process_is_no_cluster(tmp_path: Path) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    (tmp_path / cli.STATE).write_text(json.dumps({"pid": dead.pid, "ready": True}))
    assert cli._running(tmp_path) is None
    assert run("down", "--dir", str(tmp_path)).stdout.strip() == "make cluster-down: no cluster runs"


@pytest.mark.parametrize("bad", ["0", "-1", "x"])
def test_a_bad_replica_count_is_refused(tmp_path: Path, bad: str) -> None:
    proc = run("serve", "--dir", str(tmp_path), "--replicas", bad)
    assert proc.returncode == 2
    assert "--replicas" in proc.stderr, proc.stderr
    assert not (tmp_path / cli.STATE).exists()


def test_help_names_the_commands() -> None:
    proc = run("--help")
    assert proc.returncode == 0
    for word in ("up", "serve", "down", "--dir", "--replicas", "make cluster"):
        assert word in proc.stdout
