"""UserService over gRPC: requests to plain values, results to messages."""

from __future__ import annotations

import grpc
from shopmesh.user.v1 import user_service_pb2 as pb
from shopmesh.user.v1 import user_service_pb2_grpc as pb_grpc

from meshkit.errors import Violations
from meshkit.idempotency import request_key
from meshkit.identity import identity_of
from meshkit.names import parse_name
from svc_user import domain
from svc_user.messages import user_to_proto
from svc_user.services import Accounts


class UserServicer(pb_grpc.UserServiceServicer):
    def __init__(self, accounts: Accounts) -> None:
        self._accounts = accounts

    def CreateUser(self, request: pb.CreateUserRequest, context: grpc.ServicerContext) -> pb.User:
        violations = Violations()
        domain.check_display_name(request.user.display_name, "user.display_name", violations)
        violations.raise_if_any()
        user = self._accounts.create_user(
            request.user.email,
            request.user.display_name,
            request.password,
            request_key(request.request_id, context),
        )
        return user_to_proto(user)

    def GetUser(self, request: pb.GetUserRequest, context: grpc.ServicerContext) -> pb.User:
        user_id = parse_name(request.name, "users", "name")
        return user_to_proto(self._accounts.get_user(user_id, identity_of(context)))

    def Login(self, request: pb.LoginRequest, unused_context: grpc.ServicerContext) -> pb.LoginResponse:
        session = self._accounts.login(request.email, request.password)
        return pb.LoginResponse(
            access_token=session.token.token,
            expires_in=session.token.expires_in,
            token_type="Bearer",
            user=user_to_proto(session.user),
        )

    def GetJwks(self, request: pb.GetJwksRequest, unused_context: grpc.ServicerContext) -> pb.GetJwksResponse:
        return pb.GetJwksResponse(
            keys=[
                pb.JsonWebKey(kty=k.kty, crv=k.crv, x=k.x, y=k.y, kid=k.kid, alg=k.alg, use=k.use)
                for k in self._accounts.jwks()
            ]
        )
