"""Composition root of the products service."""

from __future__ import annotations

from shopmesh.product.v1 import product_service_pb2, product_service_pb2_grpc

from meshkit.cli import service_main
from meshkit.db import open_database
from meshkit.server import ServiceServer
from meshkit.telemetry import Tracing
from svc_product import settings as product_settings
from svc_product.cache import CatalogCache
from svc_product.events import ProductChanges, ProductEvents
from svc_product.models import MIGRATIONS, metadata
from svc_product.servicer import ProductServicer
from svc_product.services import Catalog

SERVICE_NAME = product_service_pb2.DESCRIPTOR.services_by_name["ProductService"].full_name


def create_server(
    settings: product_settings.Settings, tracing: Tracing | None = None, changes: ProductChanges | None = None
) -> ServiceServer:
    """Builds the server, bound to its port and with its schema migrated, but not started. `changes`: where
    this replica hears its own and every other replica's catalog changes (the cache listens there)."""
    server_settings = settings.server
    db = open_database(
        server_settings.database_url,
        metadata,
        MIGRATIONS,
        server_settings.replica,
        pool_size=server_settings.db_pool_size,
    )
    changes = changes or ProductChanges()
    events = ProductEvents(changes=changes)
    cache = CatalogCache(settings.cache)
    if server_settings.events.nats_url:
        changes.subscribe(cache.changed, cache.reset)
    # Without a broker no replica hears another's changes: the cache stays off (never live).
    servicer = ProductServicer(Catalog(db, events=events), cache)
    server = ServiceServer(
        server_settings,
        db=db,
        services=[SERVICE_NAME],
        register=lambda server: product_service_pb2_grpc.add_ProductServiceServicer_to_server(
            servicer, server
        ),
        tracing=tracing,
        outbox=events.outbox,
        broadcasts=[changes.broadcast()],
    )
    cache.register_metrics(server.metrics.registry)
    return server


def main(argv: list[str] | None = None) -> int:
    return service_main(
        "svc_product",
        "The shopmesh products service: catalog and stock (shopmesh.product.v1.ProductService).",
        product_settings.ENV_HELP,
        product_settings.load,
        create_server,
        argv,
    )
