"""RED metrics per RPC and database pool figures (meshkit.calls records them).

Each replica serves Prometheus' text format on its own port (`SVC_<NAME>_METRICS_PORT`, `/metrics`):

* ``grpc_server_started_total{grpc_service, grpc_method}``: calls received;
* ``grpc_server_handled_total{grpc_service, grpc_method, grpc_code}``: calls finished, by status code: the
  errors are the series with ``grpc_code != "OK"``;
* ``grpc_server_handling_seconds{grpc_service, grpc_method}``: latency histogram;
* ``shopmesh_db_pool_*``: the SQLAlchemy connection pool (size, checked out, idle, overflow), read at scrape time;
* ``shopmesh_service_info{service, replica}``: always 1, names the process;
* ``process_*``: the process collector's figures, ``process_start_time_seconds`` among them (restarts).

The names follow go-grpc-prometheus, which dashboards for gRPC services expect. Health checks and reflection
are neither counted nor logged (Envoy health-checks every replica every 2 s). Each server has its own registry,
so several servers in one process (the unit tests) do not collide.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

import grpc
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
)
from prometheus_client.exposition import start_http_server
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)
# No `*_created` series: Prometheus does not need them, and they double the output.
disable_created_metrics()  # type: ignore[no-untyped-call]

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class PoolCollector(Collector):
    """Reads a SQLAlchemy QueuePool's figures when Prometheus scrapes (nothing on the hot path)."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool

    def collect(self) -> Iterable[Metric]:
        pool = self.pool
        figures = {
            "size": ("configured pool size (connections kept open)", "size"),
            "checked_out": ("connections in use by a transaction", "checkedout"),
            "checked_in": ("idle connections in the pool", "checkedin"),
            "overflow": ("connections beyond the pool size (negative: not yet opened)", "overflow"),
        }
        for name, (doc, method) in figures.items():
            reader = getattr(pool, method, None)
            if reader is None:  # a pool class without that figure (e.g. SQLite's in-memory StaticPool)
                continue
            yield GaugeMetricFamily(f"shopmesh_db_pool_{name}", doc, value=float(reader()))


class Metrics:
    """One replica's metrics registry and the instruments the RPC observer updates."""

    def __init__(self, service: str, replica: str) -> None:
        self.service = service
        self.replica = replica
        self.registry = CollectorRegistry(auto_describe=True)
        # process_start_time_seconds (restarts), CPU, memory, open fds: the default registry's collector.
        ProcessCollector(registry=self.registry)
        Gauge(
            "shopmesh_service_info",
            "names the service and replica",
            ["service", "replica"],
            registry=self.registry,
        ).labels(service, replica).set(1)
        self.started = Counter(
            "grpc_server_started_total",
            "RPCs started on the server",
            ["grpc_service", "grpc_method"],
            registry=self.registry,
        )
        self.handled = Counter(
            "grpc_server_handled_total",
            "RPCs completed on the server, by gRPC status code",
            ["grpc_service", "grpc_method", "grpc_code"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "grpc_server_handling_seconds",
            "time the server took to handle an RPC",
            ["grpc_service", "grpc_method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._children: dict[str, tuple[Any, Any, str, str]] = {}
        self._lock = threading.Lock()
        self._httpd: Any = None
        self.port: int | None = None

    def watch_pool(self, pool: Any) -> None:
        self.registry.register(PoolCollector(pool))

    def _for(self, method: str) -> tuple[Any, Any, str, str]:
        """The started counter and latency child of a method, resolved once (label lookups take a lock)."""
        found = self._children.get(method)
        if found is None:
            service, _, name = method.lstrip("/").rpartition("/")
            with self._lock:
                found = (
                    self.started.labels(service, name),
                    self.latency.labels(service, name),
                    service,
                    name,
                )
                self._children[method] = found
        return found

    def record(self, method: str, code: grpc.StatusCode, seconds: float) -> None:
        self.recorder(method)(code, seconds)

    def recorder(self, method: str) -> Callable[[grpc.StatusCode, float], None]:
        """Records calls of `method`: its children resolved once, each status code's the first time it is seen
        (a label lookup takes a lock and builds a key)."""
        started, latency, service, name = self._for(method)
        handled: dict[grpc.StatusCode, Any] = {}
        inc_started, observe = started.inc, latency.observe

        def record(code: grpc.StatusCode, seconds: float) -> None:
            inc_started()
            observe(seconds)
            counter = handled.get(code)
            if counter is None:
                counter = handled[code] = self.handled.labels(service, name, code.name)
            counter.inc()

        return record

    def serve(self, host: str, port: int) -> int:
        """Serves /metrics on a daemon thread; returns the port (useful with 0)."""
        self._httpd, _thread = start_http_server(port, addr=host, registry=self.registry)
        self.port = int(self._httpd.server_port)
        return self.port

    def close(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None


__all__ = ["Metrics", "PoolCollector"]
