"""`python -m bench.rss`: the idle resident memory of one replica of every service, and what each MB is.

It starts a NATS JetStream node (the venv's nats-server) and one replica of each service the way `make up` does
(SQLite under a throwaway directory, or with --db postgresql a throwaway PostgreSQL as `make bench` uses;
SHOPMESH_NATS_URL at that node; tracing on as meshctl.launcher configures it, OTLP/gRPC to an endpoint nobody
listens on, which is what an idle replica of `make up` costs), waits until each answers grpc.health SERVING,
lets them settle and reads /proc/PID/status VmRSS. Each replica's RSS is split by its mappings (/proc/PID/smaps):

* `code+data of .so`: file-backed pages (the interpreter, libgrpc, libprotobuf's upb, libcrypto, ...);
* `main heap`: the brk heap (glibc's main arena);
* `thread arenas`: glibc's per-thread malloc arenas (64 MB reservations; MALLOC_ARENA_MAX caps their number);
* `thread stacks`: the 8 MB stack reservations of threads (only touched pages count);
* `other anon`: everything else anonymous (pymalloc's 1 MB arenas, large objects, grpc's own mmaps).

Then the import ladder: in a fresh interpreter per step, RSS after importing each group of modules on top of the
previous ones, so each row is what that group adds (what an idle replica pays for having imported it).

Units are MB = 10^6 bytes, as bench/procs.py rss_mb.

The pieces: replicas.py (the mesh of one replica each), smaps.py (a process's RSS by mapping), ladder.py
(the import ladder), cli.py (the command and its table).
"""

from __future__ import annotations

# Only smaps' names: re-exporting ladder() or replicas() would shadow the submodules of the same names.
from bench.rss.smaps import ARENA, STACK, Breakdown, breakdown

__all__ = ["ARENA", "STACK", "Breakdown", "breakdown"]
