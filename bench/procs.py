"""What the kernel says about processes and the machine: CPU time and memory from /proc.

CPU time is user + system time in clock ticks (`/proc/PID/stat` fields 14-15). A process tree (PostgreSQL:
the postmaster and a backend per connection) is counted whole: the live processes of the tree plus what the
root has reaped (`cutime`/`cstime`), so a backend that exits during a measurement is not lost.
"""

from __future__ import annotations

import contextlib
import os
import platform
from collections.abc import Iterable, Mapping
from pathlib import Path

PROC = Path("/proc")
TICKS = os.sysconf("SC_CLK_TCK")


def parse_stat(text: str) -> tuple[int, int, int, int, int]:
    """(ppid, utime, stime, cutime, cstime) in ticks from the text of a /proc/PID/stat file."""
    rest = text[text.rindex(")") + 2 :].split()
    # rest[0] is field 3 (state): field n is rest[n - 3].
    return int(rest[1]), int(rest[11]), int(rest[12]), int(rest[13]), int(rest[14])


def cpu_seconds(pid: int, *, with_reaped: bool = False, proc: Path = PROC) -> float:
    """CPU seconds a process has used so far (and, with `with_reaped`, its reaped children)."""
    try:
        _ppid, utime, stime, cutime, cstime = parse_stat((proc / str(pid) / "stat").read_text())
    except (OSError, ValueError):
        return 0.0
    ticks = utime + stime + (cutime + cstime if with_reaped else 0)
    return ticks / TICKS


def children(pid: int, proc: Path = PROC) -> list[int]:
    """Every live descendant of `pid`."""
    parent_of: dict[int, int] = {}
    for entry in proc.iterdir():
        if entry.name.isdigit():
            try:
                parent_of[int(entry.name)] = parse_stat((entry / "stat").read_text())[0]
            except (OSError, ValueError):
                continue
    found: list[int] = []
    frontier = [pid]
    while frontier:
        current = frontier.pop()
        kids = [p for p, parent in parent_of.items() if parent == current]
        found += kids
        frontier += kids
    return found


def tree_cpu_seconds(root: int, proc: Path = PROC) -> float:
    """CPU seconds of a whole process tree: the root with what it reaped, plus its live descendants."""
    return cpu_seconds(root, with_reaped=True, proc=proc) + sum(
        cpu_seconds(p, proc=proc) for p in children(root, proc)
    )


def _status_kb(pid: int, key: str, proc: Path = PROC) -> int:
    for line in (proc / str(pid) / "status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    return 0


def rss_mb(pid: int, proc: Path = PROC) -> float:
    """Resident set size (VmRSS) in MB (10^6 bytes)."""
    try:
        return _status_kb(pid, "VmRSS", proc) * 1024 / 1e6
    except (OSError, ValueError):
        return 0.0


def pss_mb(pid: int, proc: Path = PROC) -> float:
    """Proportional set size in MB: shared pages split among the processes sharing them."""
    with contextlib.suppress(OSError, ValueError):  # no smaps_rollup (old kernel, gone): RSS instead
        for line in (proc / str(pid) / "smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024 / 1e6
    return rss_mb(pid, proc)


def tree_pss_mb(root: int, proc: Path = PROC) -> float:
    """Memory of a process tree without counting shared memory (PostgreSQL's buffers) once per process."""
    return sum(pss_mb(p, proc) for p in [root, *children(root, proc)])


def cpu_deltas(before: Mapping[str, float], after: Mapping[str, float]) -> dict[str, float]:
    """Per-process CPU seconds spent between two readings (a process missing from `before` counts from 0)."""
    return {name: max(0.0, after[name] - before.get(name, 0.0)) for name in after}


def cpu_model(text: str | None = None) -> str:
    """The CPU's model name from /proc/cpuinfo (`platform.processor()` is empty on Linux)."""
    if text is None:
        try:
            text = (PROC / "cpuinfo").read_text()
        except OSError:
            return platform.processor() or "unknown"
    for line in text.splitlines():
        if line.lower().startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def memory_mb() -> int:
    with contextlib.suppress(OSError, ValueError):
        for line in (PROC / "meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024 // 1_000_000
    return 0


def affinity() -> list[int]:
    """The CPUs this process may run on."""
    return sorted(os.sched_getaffinity(0))


def move_process(pid: int, cpus: Iterable[int], proc: Path = PROC) -> None:
    """Moves every thread of a process to `cpus` (sched_setaffinity moves one thread at a time)."""
    for task in (proc / str(pid) / "task").iterdir():
        try:
            os.sched_setaffinity(int(task.name), set(cpus))
        except (ProcessLookupError, PermissionError):
            continue


def cpu_list(cpus: Iterable[int]) -> str:
    """`0,2-3` for taskset -c."""
    ordered = sorted(set(cpus))
    parts: list[str] = []
    start = prev = ordered[0]
    for cpu in [*ordered[1:], -2]:
        if cpu != prev + 1:
            parts.append(str(start) if start == prev else f"{start}-{prev}")
            start = cpu
        prev = cpu
    return ",".join(parts)
