"""Domain objects as contract messages: for RPC answers (servicer) and events (events)."""

from __future__ import annotations

from shopmesh.user.v1 import user_service_pb2 as pb

from meshkit.convert import timestamp
from meshkit.names import make_name
from svc_user import domain


def user_to_proto(user: domain.User) -> pb.User:
    return pb.User(
        name=make_name("users", user.id),
        email=user.email,
        display_name=user.display_name,
        create_time=timestamp(user.create_time),
    )
