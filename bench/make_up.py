"""How long `make up` takes to a healthy mesh (the JSON's `up_to_healthy_s`), timed as a user would see it."""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from devkit.ports import free_offset
from meshctl import topology
from meshctl.topology import ROOT


def time_make_up(echo: Callable[[str], None], timeout: float = 120.0) -> float:
    """Seconds from `make up` to its "shopmesh is up" line (every replica and Envoy healthy, JWKS fetched), on
    shifted ports and a fresh run directory, beside whatever else runs."""
    offset = free_offset(topology.load().ports())
    run_dir = Path(tempfile.mkdtemp(prefix="bench-up-"))
    argv = ["make", "--no-print-directory", "up", f"UP_ARGS=--port-offset {offset} --run-dir {run_dir}"]
    lines: queue.Queue[str | None] = queue.Queue()
    start = time.monotonic()
    process = subprocess.Popen(
        argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True, text=True,
    )  # fmt: skip

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    tail: list[str] = []
    try:
        while True:
            try:
                line = lines.get(timeout=max(0.0, start + timeout - time.monotonic()))
            except queue.Empty:
                raise RuntimeError(f"`make up` was not healthy within {timeout:.0f} s") from None
            if line is None:
                raise RuntimeError("`make up` exited before it was up:\n" + "".join(tail[-30:]))
            tail.append(line)
            if "shopmesh is up" in line:
                return time.monotonic() - start
    finally:
        _stop_group(process)
        shutil.rmtree(run_dir, ignore_errors=True)
        echo(f"bench: `make up` stopped ({' '.join(argv)})")


def _stop_group(process: subprocess.Popen[str]) -> None:
    """Ctrl-C to the process group we started (make and the launcher), as a user would; then kill."""
    for signum, wait in ((signal.SIGINT, 30.0), (signal.SIGKILL, 10.0)):
        if process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signum)
        except ProcessLookupError:
            return
        try:
            process.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue
