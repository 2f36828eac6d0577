"""One process's resident memory split by its mappings (/proc/PID/smaps):

* `code+data of .so`: file-backed pages (the interpreter, libgrpc, libprotobuf's upb, libcrypto, ...);
* `main heap`: the brk heap (glibc's main arena);
* `thread arenas`: glibc's per-thread malloc arenas (64 MB reservations; MALLOC_ARENA_MAX caps their number);
* `thread stacks`: the 8 MB stack reservations of threads (only touched pages count);
* `other anon`: everything else anonymous (pymalloc's 1 MB arenas, large objects, grpc's own mmaps).

Units are MB = 10^6 bytes, as bench/procs.py rss_mb.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.procs import rss_mb

ARENA = 64 * 1024 * 1024
"""glibc's HEAP_MAX_SIZE on 64-bit: each thread arena is a 64 MB aligned reservation."""
STACK = 8 * 1024 * 1024
"""The default thread stack (ulimit -s 8192): an 8 MB mapping plus a guard page."""


@dataclass(frozen=True)
class Breakdown:
    """One process's resident memory by kind of mapping, in MB."""

    rss: float
    files: float
    heap: float
    arenas: float
    arena_count: int
    stacks: float
    stack_count: int
    other: float
    threads: int

    ROWS = (
        ("files", "code+data of .so and .py"),
        ("heap", "main heap (brk)"),
        ("arenas", "thread malloc arenas"),
        ("stacks", "thread stacks"),
        ("other", "other anon (pymalloc, mmaps)"),
    )


def _kb(line: str) -> int:
    return int(line.split()[1])


def breakdown(pid: int, proc: Path = Path("/proc")) -> Breakdown:
    """Splits VmRSS by mapping: see the module's docstring."""
    mappings: list[tuple[int, int, str, str, int]] = []  # (start, end, perms, path, rss kB)
    for line in (proc / str(pid) / "smaps").read_text().splitlines():
        head = line.split(maxsplit=5)
        if "-" in head[0] and not head[0].endswith(":"):
            lo, hi = (int(x, 16) for x in head[0].split("-"))
            mappings.append((lo, hi, head[1], head[5] if len(head) > 5 else "", 0))
        elif head[0] == "Rss:" and mappings:
            mappings[-1] = (*mappings[-1][:4], _kb(line))
    kb = dict.fromkeys(("files", "heap", "arenas", "stacks", "other"), 0)
    arena_count = stack_count = 0
    previous: tuple[int, int, str, str, int] | None = None
    for i, (start, end, perms, path, rss) in enumerate(mappings):
        following = mappings[i + 1] if i + 1 < len(mappings) else None
        if path == "[heap]":
            kb["heap"] += rss
        elif path == "[stack]":
            kb["stacks"] += rss
            stack_count += 1
        elif path and not path.startswith("["):
            kb["files"] += rss
        elif start % ARENA == 0 and (
            end - start == ARENA
            or (
                following is not None
                and following[0] == end
                and following[1] == start + ARENA
                and following[2].startswith("---")
            )
        ):
            # A thread arena: its used part at a 64 MB boundary, the rest of the reservation PROT_NONE after it.
            kb["arenas"] += rss
            arena_count += 1
        elif (
            end - start == STACK
            and previous is not None
            and previous[1] == start
            and previous[2].startswith("---")
            and previous[1] - previous[0] == 4096
        ):
            kb["stacks"] += rss  # a thread's stack, right after its guard page
            stack_count += 1
        else:
            kb["other"] += rss
        previous = (start, end, perms, path, rss)
    threads = 0
    for line in (proc / str(pid) / "status").read_text().splitlines():
        if line.startswith("Threads:"):
            threads = _kb(line)
    mb = 1024 / 1e6
    return Breakdown(
        rss=rss_mb(pid, proc),
        files=kb["files"] * mb,
        heap=kb["heap"] * mb,
        arenas=kb["arenas"] * mb,
        arena_count=arena_count,
        stacks=kb["stacks"] * mb,
        stack_count=stack_count,
        other=kb["other"] * mb,
        threads=threads,
    )
