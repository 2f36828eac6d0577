"""The events the users service publishes (protos/shopmesh/user/v1/events.proto), through its outbox."""

from __future__ import annotations

from shopmesh.user.v1 import events_pb2
from sqlalchemy.engine import Connection

from meshkit.events import Outbox
from meshkit.names import make_name
from svc_user import domain, models
from svc_user.messages import user_to_proto

SOURCE = "//users.shopmesh.dev"


class UserEvents:
    """Announces new accounts (the notifications service learns buyers' addresses from them)."""

    def __init__(self, outbox: Outbox | None = None) -> None:
        self.outbox = outbox or Outbox(models.outbox, SOURCE, [events_pb2.UserCreated])

    def created(self, conn: Connection, user: domain.User) -> None:
        self.outbox.add(conn, events_pb2.UserCreated(user=user_to_proto(user)), make_name("users", user.id))
