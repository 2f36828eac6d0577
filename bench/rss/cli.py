"""`python -m bench.rss`: the idle resident memory of one replica of every service, and what each MB is.

The command: it measures the replicas (bench/rss/replicas.py), prints each one's breakdown (bench/rss/smaps.py)
as a table, then the import ladder (bench/rss/ladder.py).
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence

from bench.rss.ladder import ladder
from bench.rss.replicas import SETTLE_SECONDS, measure
from bench.rss.smaps import Breakdown


def _table(readings: Mapping[str, Breakdown]) -> list[str]:
    names = list(readings)
    width = max(len(label) for _, label in Breakdown.ROWS) + 2
    lines = ["MB (10^6 B)".ljust(width) + "".join(f"{n:>15}" for n in names)]
    for attr, label in Breakdown.ROWS:
        cells = []
        for n in names:
            r = readings[n]
            value = getattr(r, attr)
            count = {"arenas": r.arena_count, "stacks": r.stack_count}.get(attr)
            cells.append(f"{value:>10.1f}" + (f" ({count:>2})" if count is not None else "     "))
        lines.append(label.ljust(width) + "".join(cells))
    lines.append("VmRSS".ljust(width) + "".join(f"{readings[n].rss:>10.1f}     " for n in names))
    lines.append("threads".ljust(width) + "".join(f"{readings[n].threads:>10d}     " for n in names))
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m bench.rss",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog="Runs one replica of each service on SQLite with a local nats-server; takes about 20 s "
        "(the ladder: about 30 s more).",
    )
    p.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a variable in every replica's environment (and the ladder's), e.g. MALLOC_ARENA_MAX=2",
    )
    p.add_argument(
        "--db",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="the replicas' databases: SQLite files, or a throwaway PostgreSQL as `make bench` uses (default sqlite)",
    )
    p.add_argument("--no-ladder", action="store_true", help="skip the import ladder")
    p.add_argument("--settle", type=float, default=SETTLE_SECONDS, help="seconds idle before reading")
    args = p.parse_args(argv)
    extra: dict[str, str] = {}
    for item in args.env:
        name, sep, value = item.partition("=")
        if not sep:
            p.error(f"--env {item!r}: NAME=VALUE")
        extra[name] = value
    env = {k: v for k, v in extra.items() if v != ""}
    readings = measure(env, args.settle, args.db)
    print(f"Idle replicas (one per service, {args.db}, NATS, tracing on), " + _env_note(env))
    print("\n".join(_table(readings)))
    if not args.no_ladder:
        print("\nImport ladder (fresh interpreter per step; MB each group adds to the ones above it)")
        for label, mb in ladder(env, db=args.db):
            print(f"  {label:<40}{mb:>7.1f}")
    return 0


def _env_note(env: Mapping[str, str]) -> str:
    shown = {k: v for k, v in env.items() if k.startswith(("MALLOC_", "PYTHON"))}
    return ", ".join(f"{k}={v}" for k, v in sorted(shown.items())) or "no malloc settings"
