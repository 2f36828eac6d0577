"""What the end-to-end tests read of a running mesh's telemetry: the spans the local sink wrote, /metrics."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path
from typing import Any

from tests.e2e.conftest import RunningMesh


def read_spans(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / "traces" / "spans.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def scrape(address: str, path: str = "/metrics") -> str:
    with urllib.request.urlopen(f"http://{address}{path}", timeout=5) as reply:
        return str(reply.read().decode())


def sample(text: str, name: str, **labels: str) -> float:
    """The sum of a metric's samples whose labels include `labels` (0 when there are none)."""
    total = 0.0
    for line in text.splitlines():
        match = re.match(r"^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$", line)
        if not match or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(2) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(match.group(3))
    return total


def service_metric(mesh: RunningMesh, service: str, name: str, **labels: str) -> float:
    """Summed over the service's replicas (Envoy picks which one serves a call)."""
    return sum(sample(scrape(a), name, **labels) for a in mesh.endpoints.metrics[service])
