"""Server bootstrap shared by every service: the call path, health, reflection, events, shutdown."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Sequence
from concurrent import futures
from types import FrameType
from typing import Protocol, cast

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from shopmesh.order.v1 import order_service_pb2
from shopmesh.payment.v1 import payment_service_pb2
from shopmesh.product.v1 import product_service_pb2
from shopmesh.user.v1 import user_service_pb2

from meshkit.calls import CallPath, WrappingRegistrar
from meshkit.db import Database
from meshkit.events import Broadcast, DurableConsumer, EventMetrics, EventRuntime, Outbox
from meshkit.health import DatabaseHealth
from meshkit.logs import FIELDS
from meshkit.metrics import Metrics
from meshkit.settings import GRPC_SERVER_OPTIONS, ServerSettings
from meshkit.telemetry import Tracing

log = logging.getLogger(__name__)

# Every service answers reflection for the whole mesh API, so `grpcurl list`
# through the gateway shows all four services whichever replica answers.
MESH_SERVICES = [
    module.DESCRIPTOR.services_by_name[name].full_name
    for module, name in [
        (user_service_pb2, "UserService"),
        (product_service_pb2, "ProductService"),
        (order_service_pb2, "OrderService"),
        (payment_service_pb2, "PaymentService"),
    ]
]


class Background(Protocol):
    """Work a server runs beside its RPCs: started after the server, stopped before it drains."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


class ServiceServer:
    """One service's gRPC server, built but not started, bound to its port."""

    def __init__(
        self,
        settings: ServerSettings,
        *,
        db: Database,
        services: Sequence[str],
        register: Callable[[grpc.Server], None],
        tracing: Tracing | None = None,
        background: Sequence[Background] = (),
        outbox: Outbox | None = None,
        consumers: Sequence[DurableConsumer] = (),
        broadcasts: Sequence[Broadcast] = (),
    ) -> None:
        """`outbox`: the events this service publishes (a relay publishes them); `consumers`, `broadcasts`:
        what it consumes. All need `settings.events.nats_url`; without it events wait in the outbox."""
        self.settings = settings
        self.db = db
        self.tracing = tracing = tracing or Tracing()
        self.background = list(background)
        # RED metrics per RPC and the pool's figures on /metrics; the SQL of traced calls as spans.
        self.metrics = Metrics(settings.service, settings.replica)
        self.metrics.watch_pool(db.engine.pool)
        self.events = EventRuntime(
            settings.events,
            settings.replica,
            db,
            EventMetrics(self.metrics.registry),
            outbox=outbox,
            consumers=consumers,
            broadcasts=broadcasts,
        )
        tracing.instrument_engine(db.engine)
        self._server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix=settings.service),
            options=list(GRPC_SERVER_OPTIONS),
        )
        # Every method of the service's own handlers runs in the call path (tracing, RED metrics and log line,
        # error mapping, validation: meshkit.calls); health and reflection, registered below, do not.
        path = CallPath(
            metrics=self.metrics,
            domain=f"{settings.service}.shopmesh.dev",
            services=services,
            tracing=tracing,
        )
        register(cast(grpc.Server, WrappingRegistrar(self._server, path)))
        self._health_servicer = health.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self._health_servicer, self._server)
        reflection.enable_server_reflection(
            [
                *MESH_SERVICES,
                health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
                reflection.SERVICE_NAME,
            ],
            self._server,
        )
        self.health = DatabaseHealth(self._health_servicer, db, services)
        self.port = self._server.add_insecure_port(settings.address)
        if self.port == 0:
            raise OSError(f"{settings.replica}: cannot listen on {settings.address}")

    def start(self) -> None:
        metrics_port = self.metrics.serve(self.settings.host, self.settings.metrics_port)
        self._server.start()
        self.health.start()
        self.events.start()
        for task in self.background:
            task.start()
        log.info(
            "%s serving on %s:%d, metrics on :%d/metrics",
            self.settings.replica,
            self.settings.host,
            self.port,
            metrics_port,
            extra={FIELDS: {"event": "start", "port": self.port, "metrics_port": metrics_port}},
        )

    def stop(self, grace: float | None = None) -> None:
        """Reports NOT_SERVING, lets in-flight RPCs finish within the grace period, then closes."""
        grace = self.settings.grace_seconds if grace is None else grace
        self.health.stop()
        for task in self.background:
            task.stop()
        self._server.stop(grace).wait()
        self.events.stop()  # after the last calls: their events leave with this replica
        self.db.dispose()
        self.metrics.close()
        self.tracing.shutdown()
        log.info("%s stopped", self.settings.replica, extra={FIELDS: {"event": "stop"}})

    def wait(self) -> None:
        self._server.wait_for_termination()


def run_until_signalled(server: ServiceServer) -> int:
    """Serves until SIGTERM or SIGINT, then drains gracefully. Returns the exit status."""
    stopping = threading.Event()

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s, draining", signal.Signals(signum).name)
        stopping.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    server.start()
    stopping.wait()
    server.stop()
    return 0
