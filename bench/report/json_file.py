"""bench/results/latest.json: the document of one run and its writing."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bench.report.rows import Row


def document(
    machine: Mapping[str, Any],
    rows: Sequence[Row],
    rss: Mapping[str, float],
    up_to_healthy: float | None,
    staleness: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """bench/results/latest.json: exactly machine, rows, rss_mb, up_to_healthy_s, cache_staleness (null when
    not measured)."""
    return {
        "machine": dict(machine),
        "rows": [r.as_json() for r in rows],
        "rss_mb": {k: round(v, 1) for k, v in sorted(rss.items())},
        "up_to_healthy_s": None if up_to_healthy is None else round(up_to_healthy, 2),
        "cache_staleness": None if staleness is None else dict(staleness),
    }


def write_json(doc: Mapping[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n")
