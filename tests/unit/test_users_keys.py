"""The signing key set (svc_user.keyring), its operator command (`python -m svc_user keys`), and what the users
service tells a caller about accounts that are not theirs."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import jwt
import pytest
from shopmesh.user.v1 import user_service_pb2 as pb
from shopmesh.user.v1 import user_service_pb2_grpc as pb_grpc

from svc_user import keyring, keys
from svc_user import server as user_server
from svc_user import settings as user_settings
from svc_user.keyring import CURRENT, NEXT, PREVIOUS, RETIRED, KeyRing, key_states, name_for
from svc_user.tokens import TokenIssuer
from tests.support.grpc_testing import assert_error, serving

T0 = dt.datetime(2026, 12, 3, 18, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
TTL = 3600


def _ring(directory: Path) -> KeyRing:
    return KeyRing(directory, token_ttl_seconds=TTL, reload_seconds=0)


def _states(ring: KeyRing, at: dt.datetime) -> dict[str, str]:
    return {s.key.path.name: s.state for s in ring.states(at)}


# --- which key signs, which are published ---------------------------------------------------------------


def test_a_key_is_next_then_current_then_previous_then_retired(tmp_path: Path) -> None:
    keyring.write_key(tmp_path, keyring.FIRST_KEY)
    new = name_for(T0 + dt.timedelta(minutes=10))
    keyring.write_key(tmp_path, new)
    ring = _ring(tmp_path)
    first_started = T0 + dt.timedelta(minutes=10)
    retires = first_started + dt.timedelta(seconds=TTL + keyring.DEFAULT_LEEWAY_SECONDS)
    assert _states(ring, T0) == {"jwt-es256.pem": CURRENT, new: NEXT}
    assert _states(ring, first_started) == {"jwt-es256.pem": PREVIOUS, new: CURRENT}
    assert _states(ring, retires - dt.timedelta(seconds=1)) == {"jwt-es256.pem": PREVIOUS, new: CURRENT}
    assert _states(ring, retires) == {"jwt-es256.pem": RETIRED, new: CURRENT}
    assert [s.until for s in ring.states(T0) if s.state == PREVIOUS] == []
    assert {s.key.path.name: s.until for s in ring.states(retires)}["jwt-es256.pem"] == retires


def test_the_jwks_holds_every_key_that_may_verify_a_live_token(tmp_path: Path) -> None:
    first = keyring.write_key(tmp_path, keyring.FIRST_KEY)
    second = keyring.write_key(tmp_path, name_for(T0))
    third = keyring.write_key(tmp_path, name_for(T0 + HOUR))
    ring = _ring(tmp_path)
    # Before T0 + 1 h: the second signs, the first is previous (its successor started < TTL + leeway ago), the
    # third is published ahead of use.
    at = T0 + dt.timedelta(minutes=30)
    assert ring.signing_key(at).kid == second.kid
    assert [k.kid for k in ring.published(at)] == [third.kid, second.kid, first.kid]
    at = T0 + HOUR + dt.timedelta(minutes=2)  # the first retired a minute after the first hour of the second
    assert ring.signing_key(at).kid == third.kid
    assert [k.kid for k in ring.published(at)] == [third.kid, second.kid]


def test_with_no_key_started_yet_the_oldest_signs(tmp_path: Path) -> None:
    # A replica whose clock is behind the one that made the first key of a fresh directory.
    only = keyring.write_key(tmp_path, name_for(T0))
    ring = _ring(tmp_path)
    assert ring.signing_key(T0 - dt.timedelta(seconds=5)).kid == only.kid
    assert key_states([], T0, HOUR) == []


def test_replicas_notice_a_new_key_without_restarting(tmp_path: Path) -> None:
    keyring.write_key(tmp_path, keyring.FIRST_KEY)
    ticks = [0.0]
    ring = KeyRing(tmp_path, token_ttl_seconds=TTL, reload_seconds=1.0, monotonic=lambda: ticks[0])
    new = keyring.write_key(tmp_path, name_for(T0 + HOUR))
    assert len(ring.published(T0)) == 1  # it looked less than a second ago: no look, no cost per call
    ticks[0] = 1.0
    assert len(ring.published(T0)) == 2
    new.path.unlink()
    ticks[0] = 1.5
    assert len(ring.published(T0)) == 2
    ticks[0] = 2.0
    assert len(ring.published(T0)) == 1


def test_an_unreadable_new_key_keeps_the_keys_known_before(tmp_path: Path) -> None:
    first = keyring.write_key(tmp_path, keyring.FIRST_KEY)
    ring = _ring(tmp_path)
    (tmp_path / name_for(T0)).write_text("not a key")
    assert [k.kid for k in ring.published(T0)] == [first.kid]
    with pytest.raises(ValueError):
        _ring(tmp_path)  # at start it is an error


def test_only_pem_files_are_keys_and_kubelets_links_are_followed(tmp_path: Path) -> None:
    data = tmp_path / "..2026_12_03_18_00_00.000"  # how kubelet lays out a Secret volume
    data.mkdir()
    made = keyring.write_key(data, keyring.FIRST_KEY)
    (tmp_path / "..data").symlink_to(data.name)
    (tmp_path / "jwt-es256.pem").symlink_to("..data/jwt-es256.pem")
    (tmp_path / "README").write_text("not a key")
    ring = _ring(tmp_path)
    assert [k.kid for k in ring.published(T0)] == [made.kid]


def test_tokens_are_signed_by_the_key_current_when_issued(tmp_path: Path) -> None:
    keyring.write_key(tmp_path, keyring.FIRST_KEY)
    later = keyring.write_key(tmp_path, name_for(T0 + HOUR))
    ring = _ring(tmp_path)
    issuer = TokenIssuer(ring, issuer="i", audience="a", ttl_seconds=TTL)
    before, after = (issuer.issue("users/u", at).token for at in (T0, T0 + HOUR))
    assert jwt.get_unverified_header(before)["kid"] != later.kid
    assert jwt.get_unverified_header(after)["kid"] == later.kid
    published = {k.kid: k for k in issuer.jwks(T0 + HOUR)}
    for token in (before, after):  # both verify with what is published after the rotation
        key = published[jwt.get_unverified_header(token)["kid"]]
        jwk = jwt.PyJWK(
            {"kty": key.kty, "crv": key.crv, "x": key.x, "y": key.y, "kid": key.kid, "alg": "ES256"}
        )
        claims = jwt.decode(
            token,
            jwk,
            algorithms=["ES256"],
            audience="a",
            options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
        )
        assert claims["sub"] == "users/u"


# --- python -m svc_user keys ----------------------------------------------------------------------------


@pytest.fixture
def key_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SHOPMESH_DATA_DIR", str(tmp_path / "data"))
    for name in list(os.environ):
        if name.startswith("SVC_USER_JWT") or name == "SVC_USER_TOKEN_TTL_SECONDS":
            monkeypatch.delenv(name)
    directory = tmp_path / "data" / "keys"
    keyring.write_key(directory, keyring.FIRST_KEY)
    return directory


def test_rotate_publishes_a_key_ahead_and_refuses_a_second_pending_one(
    key_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert keys.main(["rotate"], clock=lambda: T0) == 0
    name = name_for(T0 + dt.timedelta(seconds=user_settings.DEFAULT_PUBLISH_AHEAD_SECONDS))
    assert sorted(p.name for p in key_env.iterdir()) == [name, "jwt-es256.pem"]
    assert "signs from 2026-12-03T18:10:00Z (in 600 s)" in capsys.readouterr().out
    assert keys.main(["rotate", "--in", "5"], clock=lambda: T0) == 1
    assert "already published" in capsys.readouterr().err
    assert keys.main(["list"], clock=lambda: T0) == 0
    listing = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in listing[1:]] == ["current", "next"]


def test_rotate_removes_retired_keys_and_retire_refuses_the_current_one(
    key_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert keys.main(["rotate", "--in", "0"], clock=lambda: T0) == 0
    later = T0 + dt.timedelta(seconds=TTL + keyring.DEFAULT_LEEWAY_SECONDS)
    assert keys.main(["rotate", "--in", "60"], clock=lambda: later) == 0
    assert "removed retired key" in capsys.readouterr().out
    assert sorted(p.name for p in key_env.iterdir()) == [
        name_for(T0),
        name_for(later + dt.timedelta(minutes=1)),
    ]
    assert keys.main(["retire", name_for(T0)], clock=lambda: later) == 1
    assert "signs the tokens now" in capsys.readouterr().err
    pending = name_for(later + dt.timedelta(minutes=1))
    assert keys.main(["retire", pending], clock=lambda: later) == 0
    assert [p.name for p in key_env.iterdir()] == [name_for(T0)]


def test_rotate_into_an_empty_directory_makes_a_key_for_a_secret(
    key_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "for-the-secret"
    assert keys.main(["--dir", str(out), "rotate"], clock=lambda: T0) == 0
    assert [p.name for p in out.iterdir()] == [name_for(T0 + dt.timedelta(minutes=10))]
    assert keys.main(["--dir", str(tmp_path / "nothing"), "list"], clock=lambda: T0) == 1


# --- the service: JWKS during a rotation, and nothing about other accounts --------------------------------


@pytest.fixture
def stub(service_env: dict[str, str]) -> Iterator[pb_grpc.UserServiceStub]:
    server = user_server.create_server(user_settings.load(service_env))
    with serving(server) as channel:
        yield pb_grpc.UserServiceStub(channel)


def test_the_service_publishes_a_rotated_key_at_once_and_old_tokens_still_verify(
    stub: pb_grpc.UserServiceStub, service_env: dict[str, str]
) -> None:
    email, password = f"rot-{uuid.uuid4().hex[:8]}@example.com", "a long password"
    stub.CreateUser(
        pb.CreateUserRequest(user=pb.User(email=email, display_name="Rot"), password=password), timeout=10
    )
    old = stub.Login(pb.LoginRequest(email=email, password=password), timeout=10).access_token
    (before,) = stub.GetJwks(pb.GetJwksRequest(), timeout=10).keys
    directory = Path(service_env["SHOPMESH_DATA_DIR"]) / "keys"
    ahead = keyring.write_key(directory, name_for(dt.datetime.now(dt.UTC) + HOUR))
    deadline = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5)
    while len(stub.GetJwks(pb.GetJwksRequest(), timeout=10).keys) < 2:
        assert dt.datetime.now(dt.UTC) < deadline, "the new key was not published"
    assert [k.kid for k in stub.GetJwks(pb.GetJwksRequest(), timeout=10).keys] == [ahead.kid, before.kid]
    # Published ahead, not used yet: tokens are still signed by the current key.
    token = stub.Login(pb.LoginRequest(email=email, password=password), timeout=10).access_token
    assert jwt.get_unverified_header(token)["kid"] == jwt.get_unverified_header(old)["kid"] == before.kid


def _create(stub: pb_grpc.UserServiceStub, email: str, password: str, rid: str, name: str = "Ann") -> pb.User:
    user: pb.User = stub.CreateUser(
        pb.CreateUserRequest(user=pb.User(email=email, display_name=name), password=password, request_id=rid),
        timeout=10,
    )
    return user


def test_a_create_user_replay_must_carry_the_password_to_see_the_account(
    stub: pb_grpc.UserServiceStub,
) -> None:
    rid, email = str(uuid.uuid4()), f"ann-{uuid.uuid4().hex[:8]}@example.com"
    ann = _create(stub, email, "ann's password", rid)
    assert _create(stub, email, "ann's password", rid) == ann  # the true replay
    # Someone with Ann's request_id and e-mail but not her password learns nothing of her account.
    for password, name in (("a guess at it", "Ann"), ("ann's password", "Eve")):
        with pytest.raises(grpc.RpcError) as refused:
            _create(stub, email, password, rid, name)
        assert_error(refused.value, grpc.StatusCode.ALREADY_EXISTS, reason="REQUEST_ID_REUSED")
        text = refused.value.details() or ""
        assert ann.name not in text and ann.name.removeprefix("users/") not in text and "Ann" not in text
    with pytest.raises(grpc.RpcError) as other:  # another e-mail: nothing of the account either
        _create(stub, f"eve-{uuid.uuid4().hex[:8]}@example.com", "eve's password", rid, "Eve")
    assert_error(other.value, grpc.StatusCode.ALREADY_EXISTS, reason="REQUEST_ID_REUSED")
    assert email not in (other.value.details() or "") and ann.name not in (other.value.details() or "")
