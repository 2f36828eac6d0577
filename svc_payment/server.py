"""Composition root of the payments service."""

from __future__ import annotations

from shopmesh.payment.v1 import payment_service_pb2, payment_service_pb2_grpc

from meshkit.cli import service_main
from meshkit.db import open_database
from meshkit.server import ServiceServer
from meshkit.settings import ServerSettings
from meshkit.telemetry import Tracing
from svc_payment import settings as payment_settings
from svc_payment.events import PaymentEvents
from svc_payment.models import MIGRATIONS, metadata
from svc_payment.servicer import PaymentServicer
from svc_payment.services import Payments

SERVICE_NAME = payment_service_pb2.DESCRIPTOR.services_by_name["PaymentService"].full_name


def create_server(settings: ServerSettings, tracing: Tracing | None = None) -> ServiceServer:
    """Builds the server, bound to its port and with its schema migrated, but not started."""
    db = open_database(
        settings.database_url, metadata, MIGRATIONS, settings.replica, pool_size=settings.db_pool_size
    )
    events = PaymentEvents()
    servicer = PaymentServicer(Payments(db, events=events))
    return ServiceServer(
        settings,
        db=db,
        services=[SERVICE_NAME],
        register=lambda server: payment_service_pb2_grpc.add_PaymentServiceServicer_to_server(
            servicer, server
        ),
        tracing=tracing,
        outbox=events.outbox,
    )


def main(argv: list[str] | None = None) -> int:
    return service_main(
        "svc_payment",
        "The shopmesh payments service: simulated card charges and refunds "
        "(shopmesh.payment.v1.PaymentService).",
        payment_settings.ENV_HELP,
        payment_settings.load,
        create_server,
        argv,
    )
