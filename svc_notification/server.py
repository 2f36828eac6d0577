"""Composition root of the notifications service."""

from __future__ import annotations

import grpc

from meshkit.cli import service_main
from meshkit.db import open_database
from meshkit.server import ServiceServer
from meshkit.telemetry import Tracing
from svc_notification import settings as notification_settings
from svc_notification.handlers import Handlers
from svc_notification.mailer import FileTransport, Mailer, SmtpTransport, Transport
from svc_notification.models import MIGRATIONS, metadata
from svc_notification.services import Notifier


def transport_for(settings: notification_settings.Settings) -> Transport:
    return SmtpTransport(settings.smtp_url) if settings.smtp_url else FileTransport(settings.mail_dir)


def create_server(settings: notification_settings.Settings, tracing: Tracing | None = None) -> ServiceServer:
    """Builds the server (health and metrics only: this service has no API), its consumers and its mailer."""
    db = open_database(
        settings.server.database_url,
        metadata,
        MIGRATIONS,
        settings.server.replica,
        pool_size=settings.server.db_pool_size,
    )
    mailer = Mailer(db, transport_for(settings), settings.mail_from)
    handlers = Handlers(Notifier(on_mail=mailer.kick))
    return ServiceServer(
        settings.server,
        db=db,
        services=[],
        register=_no_api,
        tracing=tracing,
        background=[mailer],
        consumers=handlers.consumers(),
    )


def _no_api(unused_server: grpc.Server) -> None:
    """Nothing to register: the gRPC port answers health checks (and reflection) only."""


def main(argv: list[str] | None = None) -> int:
    return service_main(
        "svc_notification",
        "The shopmesh notifications service: e-mails buyers about their orders and refunds, fed by events "
        "(no API). `python -m svc_notification dead-letters --help` lists and replays events it could not handle.",
        notification_settings.ENV_HELP,
        notification_settings.load,
        create_server,
        argv,
    )
