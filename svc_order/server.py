"""Composition root of the orders service."""

from __future__ import annotations

from shopmesh.order.v1 import order_service_pb2, order_service_pb2_grpc

from meshkit.cli import service_main
from meshkit.clients import mesh_channel
from meshkit.db import open_database
from meshkit.periodic import Periodic
from meshkit.server import ServiceServer
from meshkit.telemetry import Tracing
from svc_order import settings as order_settings
from svc_order.clients import GrpcCatalog, GrpcDirectory, GrpcPayments
from svc_order.events import OrderEvents
from svc_order.models import MIGRATIONS, metadata
from svc_order.servicer import OrderServicer
from svc_order.services import Checkout

SERVICE_NAME = order_service_pb2.DESCRIPTOR.services_by_name["OrderService"].full_name


def create_server(settings: order_settings.Settings, tracing: Tracing | None = None) -> ServiceServer:
    """Builds the server, bound to its port and with its schema migrated, but not started."""
    tracing = tracing or Tracing()
    db = open_database(
        settings.server.database_url,
        metadata,
        MIGRATIONS,
        settings.server.replica,
        pool_size=settings.server.db_pool_size,
    )
    # One channel to Envoy's internal listener carries every outbound call;
    # Envoy picks the replica, retries and ejects failing ones.
    channel = mesh_channel(settings.mesh_internal_addr, tracing.client_interceptors())
    events = OrderEvents()
    checkout = Checkout(
        db,
        catalog=GrpcCatalog(channel, settings.call_timeout),
        payments=GrpcPayments(channel, settings.call_timeout),
        directory=GrpcDirectory(channel, settings.call_timeout),
        lease=settings.saga_lease,
        events=events,
    )
    servicer = OrderServicer(checkout)
    return ServiceServer(
        settings.server,
        db=db,
        services=[SERVICE_NAME],
        register=lambda server: order_service_pb2_grpc.add_OrderServiceServicer_to_server(servicer, server),
        tracing=tracing,
        # Finishes checkouts and cancellations that stopped midway (a crash, an
        # outage) once their lease runs out; every replica runs one.
        background=[Periodic("order-recovery", settings.recovery_interval, checkout.recover_stranded)],
        outbox=events.outbox,
    )


def main(argv: list[str] | None = None) -> int:
    return service_main(
        "svc_order",
        "The shopmesh orders service: checkout over products and payments (shopmesh.order.v1.OrderService).",
        order_settings.ENV_HELP,
        order_settings.load,
        create_server,
        argv,
    )
