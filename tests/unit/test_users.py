"""The users service through an in-process gRPC server on SQLite.

Argon2id costs ~0.1 s per hash (each server hashes once at start, CreateUser and
Login once each), so tests create only the accounts they need.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import jwt
import pytest
from shopmesh.user.v1 import user_service_pb2 as pb
from shopmesh.user.v1 import user_service_pb2_grpc as pb_grpc

from svc_user import server as user_server
from svc_user import settings as user_settings
from tests.support.grpc_testing import INTERNAL, as_user, assert_error, call_error, details, serving
from tests.support.sqlite import database_bytes, rows

USER_NAME = re.compile(r"^users/[0-9a-f]{32}$")


@pytest.fixture
def stub(service_env: dict[str, str]) -> Iterator[pb_grpc.UserServiceStub]:
    server = user_server.create_server(user_settings.load(service_env))
    with serving(server) as channel:
        yield pb_grpc.UserServiceStub(channel)


def _email(tag: str) -> str:
    """An address no other test uses."""
    return f"{tag}-{uuid.uuid4().hex[:10]}@example.com"


def _password() -> str:
    return f"pw-{uuid.uuid4().hex}"


def _create(stub: pb_grpc.UserServiceStub, email: str, password: str, display_name: str = "Ada") -> pb.User:
    user: pb.User = stub.CreateUser(
        pb.CreateUserRequest(user=pb.User(email=email, display_name=display_name), password=password),
        timeout=10,
    )
    return user


def _users(sqlite_url: str) -> list[tuple[Any, ...]]:
    return rows(sqlite_url, "SELECT id, email, password_hash FROM users")


def _jwk(key: pb.JsonWebKey) -> jwt.PyJWK:
    return jwt.PyJWK(
        {
            "kty": key.kty,
            "crv": key.crv,
            "x": key.x,
            "y": key.y,
            "kid": key.kid,
            "alg": key.alg,
            "use": key.use,
        }
    )


def _kid(stub: pb_grpc.UserServiceStub) -> str:
    (key,) = stub.GetJwks(pb.GetJwksRequest(), timeout=10).keys
    return str(key.kid)


# --- CreateUser -------------------------------------------------------------------------------------


def test_create_user_returns_the_account_with_lower_cased_email(
    stub: pb_grpc.UserServiceStub, sqlite_url: str
) -> None:
    email = _email("Create.Ok")
    user = _create(stub, email.upper(), _password(), display_name="Ada Lovelace")

    assert USER_NAME.match(user.name), user.name
    assert user.email == email.lower()
    assert user.display_name == "Ada Lovelace"
    assert user.HasField("create_time") and user.create_time.seconds > 0
    me = as_user(user.name.removeprefix("users/"))
    assert stub.GetUser(pb.GetUserRequest(name=user.name), metadata=me, timeout=10) == user
    ((row_id, row_email, _),) = _users(sqlite_url)
    assert (f"users/{row_id}", row_email) == (user.name, email.lower())


def test_duplicate_email_differing_only_in_case_is_already_exists(
    stub: pb_grpc.UserServiceStub, sqlite_url: str
) -> None:
    email = _email("dup")
    _create(stub, email, _password())

    request = pb.CreateUserRequest(
        user=pb.User(email=email.upper(), display_name="Twin"), password=_password()
    )
    error = call_error(stub.CreateUser, request)

    assert_error(error, grpc.StatusCode.ALREADY_EXISTS, reason="EMAIL_ALREADY_EXISTS")
    assert len(_users(sqlite_url)) == 1


def test_a_create_user_replay_makes_one_account_and_a_reuse_names_only_the_request_id(
    stub: pb_grpc.UserServiceStub, sqlite_url: str
) -> None:
    rid, email, password = str(uuid.uuid4()), _email("replay"), _password()
    request = pb.CreateUserRequest(
        user=pb.User(email=email, display_name="Ada"), password=password, request_id=rid
    )
    first = stub.CreateUser(request, timeout=10)
    assert stub.CreateUser(request, timeout=10) == first
    assert len(_users(sqlite_url)) == 1

    request.user.display_name = "Eve"
    error = call_error(stub.CreateUser, request)
    assert_error(error, grpc.StatusCode.ALREADY_EXISTS, reason="REQUEST_ID_REUSED")
    assert details(error)["metadata"] == {"request_id": rid}
    assert error.details() == f"request_id {rid!r} was already used for a different request; choose another"


def test_a_gateway_retry_of_create_user_without_a_request_id_makes_one_account(
    stub: pb_grpc.UserServiceStub, sqlite_url: str
) -> None:
    request = pb.CreateUserRequest(
        user=pb.User(email=_email("retry"), display_name="Ada"), password=_password()
    )
    retry = (("x-request-id", str(uuid.uuid4())),)  # Envoy keeps it on each retry of one client request
    first = stub.CreateUser(request, metadata=retry, timeout=10)
    assert stub.CreateUser(request, metadata=retry, timeout=10) == first
    assert len(_users(sqlite_url)) == 1


def test_invalid_fields_are_all_reported_and_nothing_is_written(
    stub: pb_grpc.UserServiceStub, sqlite_url: str
) -> None:
    request = pb.CreateUserRequest(user=pb.User(email="not-an-email", display_name=""), password="short")
    error = call_error(stub.CreateUser, request)

    assert_error(
        error,
        grpc.StatusCode.INVALID_ARGUMENT,
        fields={"user.email", "user.display_name", "password"},
        reason="INVALID_ARGUMENT",
    )
    assert _users(sqlite_url) == []


@pytest.mark.parametrize("email", ["", "a b@example.com", "a@@example.com", "a@example..com", "@example.com"])
def test_malformed_email_is_invalid_argument_naming_user_email(
    stub: pb_grpc.UserServiceStub, email: str
) -> None:
    request = pb.CreateUserRequest(user=pb.User(email=email, display_name="Ada"), password=_password())
    assert_error(
        call_error(stub.CreateUser, request), grpc.StatusCode.INVALID_ARGUMENT, fields={"user.email"}
    )


def test_password_and_display_name_length_limits(stub: pb_grpc.UserServiceStub) -> None:
    request = pb.CreateUserRequest(
        user=pb.User(email=_email("limits"), display_name="x" * 101), password="p" * 257
    )
    error = call_error(stub.CreateUser, request)
    assert_error(error, grpc.StatusCode.INVALID_ARGUMENT, fields={"user.display_name", "password"})


def test_password_is_stored_only_as_an_argon2id_hash(stub: pb_grpc.UserServiceStub, sqlite_url: str) -> None:
    email, password = _email("hash"), _password()
    _create(stub, email, password)

    ((_, _, password_hash),) = _users(sqlite_url)
    assert password_hash.startswith("$argon2id$")
    stored = database_bytes(sqlite_url)
    assert email.encode() in stored  # the scan does see the account's row...
    assert password.encode() not in stored  # ...and the clear password is not in it


# --- Login and tokens -------------------------------------------------------------------------------


def test_login_issues_an_es256_jwt_verifiable_with_the_published_jwks(stub: pb_grpc.UserServiceStub) -> None:
    email, password = _email("login"), _password()
    user = _create(stub, email, password)

    response = stub.Login(pb.LoginRequest(email=email.upper(), password=password), timeout=10)

    assert response.token_type == "Bearer"
    assert response.expires_in == 3600
    assert response.user == user
    (key,) = stub.GetJwks(pb.GetJwksRequest(), timeout=10).keys
    assert (key.kty, key.crv, key.alg, key.use) == ("EC", "P-256", "ES256", "sig")
    header = jwt.get_unverified_header(response.access_token)
    assert header["alg"] == "ES256"
    assert header["kid"] == key.kid
    claims = jwt.decode(
        response.access_token,
        _jwk(key),
        algorithms=["ES256"],
        audience="shopmesh",
        issuer="shopmesh-users",
        options={"require": ["exp", "iat", "sub", "aud", "iss"]},
    )
    assert claims["sub"] == user.name
    assert claims["email"] == email.lower()
    assert claims["exp"] - claims["iat"] == response.expires_in == 3600


def test_token_does_not_verify_with_another_key(stub: pb_grpc.UserServiceStub, tmp_path: Path) -> None:
    email, password = _email("forged"), _password()
    _create(stub, email, password)
    token = stub.Login(pb.LoginRequest(email=email, password=password), timeout=10).access_token

    other_env = {"SHOPMESH_DATA_DIR": str(tmp_path / "other"), "SVC_USER_PORT": "0"}
    with serving(user_server.create_server(user_settings.load(other_env))) as channel:
        (other_key,) = pb_grpc.UserServiceStub(channel).GetJwks(pb.GetJwksRequest(), timeout=10).keys

    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, _jwk(other_key), algorithms=["ES256"], audience="shopmesh")


def test_wrong_password_and_unknown_email_fail_alike(stub: pb_grpc.UserServiceStub) -> None:
    email = _email("badcreds")
    _create(stub, email, _password())

    wrong_password = call_error(stub.Login, pb.LoginRequest(email=email, password=_password()))
    unknown_email = call_error(stub.Login, pb.LoginRequest(email=_email("nobody"), password=_password()))

    for error in (wrong_password, unknown_email):
        assert_error(error, grpc.StatusCode.UNAUTHENTICATED, reason="BAD_CREDENTIALS")
    assert wrong_password.details() == unknown_email.details() == "wrong email or password"


def test_login_with_empty_email_is_invalid_argument(stub: pb_grpc.UserServiceStub) -> None:
    error = call_error(stub.Login, pb.LoginRequest(email="", password=_password()))
    assert_error(error, grpc.StatusCode.INVALID_ARGUMENT, fields={"email"})


def test_login_with_nothing_names_both_fields(stub: pb_grpc.UserServiceStub) -> None:
    error = call_error(stub.Login, pb.LoginRequest())
    assert_error(error, grpc.StatusCode.INVALID_ARGUMENT, fields={"email", "password"})


# --- GetUser ----------------------------------------------------------------------------------------


def test_get_unknown_user_is_not_found(stub: pb_grpc.UserServiceStub) -> None:
    name = f"users/{uuid.uuid4().hex}"
    error = call_error(stub.GetUser, pb.GetUserRequest(name=name))
    assert_error(error, grpc.StatusCode.NOT_FOUND, reason="USER_NOT_FOUND")
    assert name in (error.details() or "")


@pytest.mark.parametrize("name", ["people/1", "", "users/", "users/UPPER"])
def test_get_user_with_malformed_name_is_invalid_argument(stub: pb_grpc.UserServiceStub, name: str) -> None:
    error = call_error(stub.GetUser, pb.GetUserRequest(name=name))
    assert_error(error, grpc.StatusCode.INVALID_ARGUMENT, fields={"name"})


# --- The signing key --------------------------------------------------------------------------------


def test_signing_key_is_created_private_and_reused_by_the_next_server(service_env: dict[str, str]) -> None:
    settings = user_settings.load(service_env)
    key_file = Path(service_env["SHOPMESH_DATA_DIR"]) / "keys" / "jwt-es256.pem"
    assert settings.jwt_key_dir == key_file.parent
    assert not key_file.exists()

    with serving(user_server.create_server(settings)) as channel:
        first_kid = _kid(pb_grpc.UserServiceStub(channel))
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert b"PRIVATE KEY" in key_file.read_bytes()
    assert [p.name for p in key_file.parent.iterdir()] == ["jwt-es256.pem"]  # no temp file left over

    with serving(user_server.create_server(user_settings.load(service_env))) as channel:
        assert _kid(pb_grpc.UserServiceStub(channel)) == first_kid


def test_missing_key_with_creation_off_fails_to_start(service_env: dict[str, str]) -> None:
    settings = user_settings.load({**service_env, "SVC_USER_JWT_KEY_CREATE": "false"})
    assert settings.jwt_key_create is False

    with pytest.raises(FileNotFoundError, match=r"keys holds no \*\.pem key"):
        user_server.create_server(settings)
    assert not settings.jwt_key_dir.exists()


def test_the_former_single_key_setting_is_refused_with_its_replacement(service_env: dict[str, str]) -> None:
    with pytest.raises(user_settings.SettingsError, match="SVC_USER_JWT_KEY_DIR"):
        user_settings.load({**service_env, "SVC_USER_JWT_KEY_FILE": "/etc/key.pem"})


def test_a_blank_display_name_is_invalid(stub: pb_grpc.UserServiceStub) -> None:
    request = pb.CreateUserRequest(
        user=pb.User(email=_email("blank"), display_name="   "), password=_password()
    )
    assert_error(
        call_error(stub.CreateUser, request), grpc.StatusCode.INVALID_ARGUMENT, fields={"user.display_name"}
    )


def test_only_the_user_admins_and_services_read_an_account(stub: pb_grpc.UserServiceStub) -> None:
    user = _create(stub, _email("private"), _password())
    request = pb.GetUserRequest(name=user.name)
    for caller in (as_user("someone-else"), ()):
        assert_error(call_error(stub.GetUser, request, caller), grpc.StatusCode.NOT_FOUND)
    assert stub.GetUser(request, metadata=as_user("boss", "admin"), timeout=10) == user
    assert stub.GetUser(request, metadata=INTERNAL, timeout=10) == user


def test_grant_admin_puts_the_role_in_the_next_tokens(
    stub: pb_grpc.UserServiceStub, service_env: dict[str, str]
) -> None:
    email, password = _email("boss"), _password()
    _create(stub, email, password)
    before = stub.Login(pb.LoginRequest(email=email, password=password), timeout=10)
    assert jwt.decode(before.access_token, options={"verify_signature": False})["roles"] == []
    result = subprocess.run(
        [sys.executable, "-m", "svc_user", "grant-admin", email.upper()],
        env={**os.environ, **service_env}, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "now has the roles: admin" in result.stdout
    after = stub.Login(pb.LoginRequest(email=email, password=password), timeout=10)
    assert jwt.decode(after.access_token, options={"verify_signature": False})["roles"] == ["admin"]
    unknown = subprocess.run(
        [sys.executable, "-m", "svc_user", "grant-admin", "nobody@example.com"],
        env={**os.environ, **service_env}, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert unknown.returncode == 1 and "no account has the email 'nobody@example.com'" in unknown.stderr


@pytest.mark.parametrize(
    "payload", [b"\xff\xff\xff", b"\x0a\x05ab", b"\x12\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01"]
)
def test_bytes_that_are_not_a_message_are_invalid_argument_not_internal(
    service_env: dict[str, str], payload: bytes
) -> None:
    # grpcio's own answer to an unparsable request is INTERNAL; a client's garbage is INVALID_ARGUMENT.
    with serving(user_server.create_server(user_settings.load(service_env))) as channel:
        raw = channel.unary_unary(
            "/shopmesh.user.v1.UserService/CreateUser",
            request_serializer=lambda b: b,
            response_deserializer=lambda b: b,
        )
        assert_error(call_error(raw, payload), grpc.StatusCode.INVALID_ARGUMENT, reason="UNDECODABLE")
