"""Composition root of the users service."""

from __future__ import annotations

from shopmesh.user.v1 import user_service_pb2, user_service_pb2_grpc

from meshkit.cli import service_main
from meshkit.db import open_database
from meshkit.server import ServiceServer
from meshkit.telemetry import Tracing
from svc_user import settings as user_settings
from svc_user.events import UserEvents
from svc_user.keyring import KeyRing
from svc_user.models import MIGRATIONS, metadata
from svc_user.passwords import Passwords
from svc_user.servicer import UserServicer
from svc_user.services import Accounts
from svc_user.tokens import TokenIssuer

SERVICE_NAME = user_service_pb2.DESCRIPTOR.services_by_name["UserService"].full_name


def create_server(settings: user_settings.Settings, tracing: Tracing | None = None) -> ServiceServer:
    """Builds the server, bound to its port and with its schema migrated, but not started."""
    keys = KeyRing.open(
        settings.jwt_key_dir, create=settings.jwt_key_create, token_ttl_seconds=settings.token_ttl_seconds
    )
    tokens = TokenIssuer(
        keys,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl_seconds=settings.token_ttl_seconds,
    )
    db = open_database(
        settings.server.database_url,
        metadata,
        MIGRATIONS,
        settings.server.replica,
        pool_size=settings.server.db_pool_size,
    )
    events = UserEvents()
    servicer = UserServicer(Accounts(db, Passwords(), tokens, events=events))
    return ServiceServer(
        settings.server,
        db=db,
        services=[SERVICE_NAME],
        register=lambda server: user_service_pb2_grpc.add_UserServiceServicer_to_server(servicer, server),
        tracing=tracing,
        outbox=events.outbox,
    )


def main(argv: list[str] | None = None) -> int:
    return service_main(
        "svc_user",
        "The shopmesh users service: accounts, passwords and access tokens (shopmesh.user.v1.UserService). "
        "`python -m svc_user grant-admin EMAIL` gives an account the admin role; `python -m svc_user keys "
        "list|rotate|retire` manages the token signing keys.",
        user_settings.ENV_HELP,
        user_settings.load,
        create_server,
        argv,
    )
