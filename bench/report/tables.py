"""The console report's tables: the rows against the limit, CPU per process, idle RSS, the targets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bench.report.groups import GROUPS, grouped, process_group
from bench.report.rows import Row, limit_of, ratio
from bench.report.target import Target


def _fmt(value: float, digits: int = 2) -> str:
    return f"{value:.{digits}f}"


def table(rows: Sequence[Row]) -> str:
    """The main table: throughput, latency, errors, ratios to the limit, CPU per request by process group."""
    by_name = {r.name: r for r in rows}
    head = (
        f"{'row':<28}{'req/s':>9}{'x limit':>9}{'p50 ms':>9}{'p99 ms':>9}{'x p50':>7}{'errors':>8}"
        f"   CPU ms/req: {'envoy':>6}{'svc':>7}{'ev':>7}{'pg':>7}{'obs':>7}{'load':>7}"
    )
    lines = [head, "-" * len(head)]
    for row in rows:
        limit = by_name.get(limit_of(row.name))
        is_limit = row.name in ("empty_direct", "empty_envoy")
        x_rps = "limit" if is_limit or limit is None else _fmt(ratio(row.rps, limit.rps))
        x_p50 = "" if is_limit or limit is None else _fmt(ratio(row.p50_ms, limit.p50_ms), 1)
        cpu = grouped(row.cpu_s_per_1k)
        lines.append(
            f"{row.name:<28}{row.rps:>9.0f}{x_rps:>9}{row.p50_ms:>9.2f}{row.p99_ms:>9.2f}{x_p50:>7}"
            f"{row.errors:>8}   {'':>12}{cpu['envoy']:>6.3f}{cpu['svc']:>7.3f}{cpu['ev']:>7.3f}{cpu['pg']:>7.3f}"
            f"{cpu['obs']:>7.3f}{cpu['load']:>7.3f}"
        )
    lines.append(
        "x limit: req/s as a ratio of the empty RPC on the same path (direct rows: empty_direct; others: "
        "empty_envoy); x p50: p50 as a ratio of the limit's."
    )
    lines.append(
        "CPU ms/req = CPU seconds per 1,000 requests: envoy; svc = every service replica (and the empty "
        "service); ev = the broker and the notifications replicas; pg = PostgreSQL; obs = trace sink and the launcher's log pumping; load = ghz/wrk."
    )
    return "\n".join(lines)


def cpu_table(rows: Sequence[Row]) -> str:
    """CPU ms per request of every process that spent any, one column per row (numbered)."""
    processes = sorted(
        {p for r in rows for p, v in r.cpu_s_per_1k.items() if v >= 0.0005},
        key=lambda p: (GROUPS.index(process_group(p)), p),
    )
    head = f"{'process':<14}" + "".join(f"{i + 1:>8}" for i in range(len(rows)))
    lines = [head, "-" * len(head)]
    for process in processes:
        lines.append(f"{process:<14}" + "".join(f"{r.cpu_s_per_1k.get(process, 0.0):>8.3f}" for r in rows))
    lines.append("columns: " + ", ".join(f"{i + 1} {r.name}" for i, r in enumerate(rows)))
    return "\n".join(lines)


def rss_table(rss: Mapping[str, float]) -> str:
    items = sorted(rss.items(), key=lambda kv: (GROUPS.index(process_group(kv[0])), kv[0]))
    return "  ".join(f"{name} {mb:.0f}" for name, mb in items)


def targets_table(found: Sequence[Target]) -> str:
    lines = []
    for target in found:
        sign = "<=" if target.at_most else ">="
        lines.append(
            f"  {'met   ' if target.met else 'MISSED'} {target.text}: {target.value:.3g} (target {sign} {target.bound:g})"
        )
    return "\n".join(lines)
