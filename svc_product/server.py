"""Composition root of the products service."""

from __future__ import annotations

from shopmesh.product.v1 import product_service_pb2, product_service_pb2_grpc

from meshkit.cli import service_main
from meshkit.db import open_database
from meshkit.server import ServiceServer
from meshkit.settings import ServerSettings
from meshkit.telemetry import Tracing
from svc_product import settings as product_settings
from svc_product.events import ProductChanges, ProductEvents
from svc_product.models import MIGRATIONS, metadata
from svc_product.servicer import ProductServicer
from svc_product.services import Catalog

SERVICE_NAME = product_service_pb2.DESCRIPTOR.services_by_name["ProductService"].full_name


def create_server(
    settings: ServerSettings, tracing: Tracing | None = None, changes: ProductChanges | None = None
) -> ServiceServer:
    """Builds the server, bound to its port and with its schema migrated, but not started. `changes`: where
    this replica hears every replica's catalog changes (a cache subscribes to it)."""
    db = open_database(
        settings.database_url, metadata, MIGRATIONS, settings.replica, pool_size=settings.db_pool_size
    )
    events = ProductEvents()
    changes = changes or ProductChanges()
    servicer = ProductServicer(Catalog(db, events=events))
    return ServiceServer(
        settings,
        db=db,
        services=[SERVICE_NAME],
        register=lambda server: product_service_pb2_grpc.add_ProductServiceServicer_to_server(
            servicer, server
        ),
        tracing=tracing,
        outbox=events.outbox,
        broadcasts=[changes.broadcast()],
    )


def main(argv: list[str] | None = None) -> int:
    return service_main(
        "svc_product",
        "The shopmesh products service: catalog and stock (shopmesh.product.v1.ProductService).",
        product_settings.ENV_HELP,
        product_settings.load,
        create_server,
        argv,
    )
