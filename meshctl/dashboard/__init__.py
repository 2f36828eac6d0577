"""The Grafana dashboard of the mesh (monitoring/dashboards/shopmesh.json), generated from the rows below.

`python -m meshctl.dashboard` rewrites the JSON; tests/unit/test_dashboard.py fails when it is stale, checks
its Grafana basics, parses every expression with promtool and holds every metric name against what the
replicas and Envoy really export. The chart ships a copy (helm/shopmesh/files/monitoring/dashboards, kept by
`make chart`) as a ConfigMap for Grafana's dashboard sidecar.

Each row is defined in a module of its own (red, saga, envoy, events, resources), from the PromQL pieces of
promql and the builders of panels; grafana turns them into Grafana's JSON model.
"""

from __future__ import annotations

import json
import sys

from meshctl.dashboard import envoy, events, red, resources, saga
from meshctl.dashboard.grafana import build
from meshctl.dashboard.panels import Row
from meshctl.dashboard.promql import SERVER_ERRORS
from meshctl.topology import ROOT

__all__ = ["PATH", "ROWS", "SERVER_ERRORS", "main", "render"]

PATH = ROOT / "monitoring" / "dashboards" / "shopmesh.json"

ROWS: tuple[Row, ...] = (
    red.OVERVIEW,
    red.PER_SERVICE,
    red.PER_RPC,
    saga.ROW,
    envoy.ROW,
    events.ROW,
    resources.DATABASES,
    resources.PROCESSES,
)


def render() -> str:
    return json.dumps(build(ROWS), indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    text = render()
    if PATH.is_file() and PATH.read_text() == text:
        return 0
    PATH.parent.mkdir(parents=True, exist_ok=True)
    PATH.write_text(text)
    print(f"wrote {PATH.relative_to(ROOT)}", file=sys.stderr)
    return 0
