"""What the mesh really exports, as Prometheus sees it: the source of truth for the metric names the rules
(monitoring/rules) and the dashboard (monitoring/dashboards) may query, and a PromQL reader that finds them.

* a replica's names come from its own registry, built as a server builds it (RPC metrics, process collector,
  pool, events, the catalog cache);
* Envoy's come from a real Envoy scraped on its metrics listener, running the configuration the chart ships
  (helm/shopmesh/files/envoy.json) on free loopback ports. Envoy names some stats only once used (the response
  classes of a cluster, a cluster's latency histogram): the scrape goes through the metrics listener, whose
  route to the admin interface is a cluster, and is read twice, so those appear for that cluster.
"""

from __future__ import annotations

import functools
import json
import re
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from devkit.ports import free_port
from meshctl.envoy_config import default_envoy
from meshctl.kubernetes import ENVOY_FILE, outside_image
from meshkit.events.metrics import EventMetrics
from meshkit.metrics import Metrics
from svc_product.cache import CacheSettings, CatalogCache

PROMETHEUS_OWN = frozenset({"up", "ALERTS", "ALERTS_FOR_STATE"})
"""Series Prometheus writes itself (per target, per alert)."""


def replica_names() -> set[str]:
    """Every metric name a replica serves (counters with _total, histograms' series)."""
    metrics = Metrics("products", "products-0")
    EventMetrics(metrics.registry)

    class _Pool:
        def size(self) -> int:
            return 5

        checkedout = checkedin = overflow = size

    metrics.watch_pool(_Pool())
    CatalogCache(CacheSettings()).register_metrics(metrics.registry)
    names: set[str] = set()
    registry: CollectorRegistry = metrics.registry
    # Samples exist only for labelled children once used; the families name them all.
    for family in registry.collect():
        suffixes = {
            "counter": ("_total",),
            "histogram": ("_bucket", "_count", "_sum"),
        }.get(family.type, ("",))
        names |= {family.name + suffix for suffix in suffixes}
    return names


def _loopback_config(work: Path) -> tuple[Path, int]:
    """The chart's Envoy configuration with every port moved to a free one on loopback; and the metrics port."""
    config: dict[str, Any] = json.loads(outside_image(ENVOY_FILE.read_text()))
    ports: dict[int, int] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "portValue" in node:
                node["portValue"] = ports.setdefault(node["portValue"], free_port())
            if node.get("address") == "0.0.0.0" or str(node.get("address", "")).startswith("__SHOPMESH_"):
                node["address"] = "127.0.0.1"
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(config)
    (metrics,) = [
        listener for listener in config["staticResources"]["listeners"] if listener["name"] == "metrics"
    ]
    path = work / "envoy.json"
    path.write_text(json.dumps(config))
    return path, metrics["address"]["socketAddress"]["portValue"]


def _scrape(url: str, deadline: float) -> str:
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                return str(reply.read().decode())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@dataclass(frozen=True)
class EnvoyRun:
    """What a real Envoy running the chart's configuration served and wrote."""

    metrics: str
    """/stats/prometheus, read the second time."""
    log: tuple[str, ...]
    """Its stdout and stderr lines: access lines (its JWKS fetches go through its internal listener) and its own."""


def run_chart_envoy(work: Path) -> EnvoyRun:
    """Starts Envoy on the chart's configuration (see the module docstring), scrapes it, waits for an access line."""
    config, port = _loopback_config(work)
    log_path = work / "envoy.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [default_envoy(), "-c", str(config), "--disable-hot-restart", "--concurrency", "1",
             "--log-level", "warning", "--file-flush-interval-msec", "100"],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}/stats/prometheus"
            _scrape(url, time.monotonic() + 60)
            metrics = _scrape(url, time.monotonic() + 10)
            deadline = time.monotonic() + 20
            while '"logger":"envoy.access"' not in log_path.read_text():
                assert time.monotonic() < deadline, "no access line from Envoy"
                time.sleep(0.1)
        finally:
            process.terminate()
            process.wait(timeout=30)
    return EnvoyRun(metrics, tuple(log_path.read_text().splitlines()))


@functools.cache
def chart_envoy() -> EnvoyRun:
    """run_chart_envoy once per test session (an Envoy start, two scrapes: a second or two)."""
    with tempfile.TemporaryDirectory(prefix="chart-envoy-") as work:
        return run_chart_envoy(Path(work))


def names_in_exposition(text: str) -> set[str]:
    """Metric names of a Prometheus text exposition (a histogram's _bucket/_sum/_count each)."""
    return {m.group(1) for m in re.finditer(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{| )", text, re.MULTILINE)}


def envoy_names() -> frozenset[str]:
    return frozenset(names_in_exposition(chart_envoy().metrics))


# -- reading PromQL --------------------------------------------------------------------------------------------

_KEYWORDS = frozenset(
    "by without on ignoring group_left group_right bool and or unless offset inf nan atan2".split()
)


def metric_names(expr: str) -> set[str]:
    """The metric names an expression selects: identifiers that are neither functions, keywords, label names
    (inside {...} or a by/without/on/ignoring/group_x list) nor part of a string or a range."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"' r"|'(?:[^'\\]|\\.)*'", '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"(?<![\w.$:])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(\s*\()?", text):
        name, call = match.groups()
        if call or name in _KEYWORDS or re.fullmatch(r"\d+[smhdwy]", name):
            continue
        names.add(name)
    return names
