"""Signing keys rotate without a 401, through the gateway, on a mesh whose clocks are shortened: Envoy caches the
JWKS for 8 s (so refetches it every 3 s), tokens live 60 s, a new key is published 8 s before it signs.

The same unsampled mesh (Envoy records no request of its own accord) shows that a client's x-client-trace-id no
longer forces a trace at the public edge.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jwt
import pytest
from shopmesh.product.v1 import product_service_pb2 as product_pb
from shopmesh.product.v1 import product_service_pb2_grpc as product_grpc

from devkit.postgres import PostgresServer
from svc_user.tokens import SigningKey, TokenIssuer
from tests.e2e import conftest
from tests.e2e.conftest import RunningMesh, running_mesh
from tests.e2e.flows import PASSWORD, unique
from tests.e2e.observe import read_spans

ROOT = Path(__file__).resolve().parents[2]
JWKS_CACHE_SECONDS = 8  # Envoy refetches 5 s before: every 3 s
PUBLISH_AHEAD_SECONDS = 8  # > the refetch period + the replicas' 1 s directory look, with room to spare
TOKEN_TTL_SECONDS = 60


@contextmanager
def _mesh(postgres: PostgresServer, run_dir: Path, prefix: str, **gateway: Any) -> Iterator[RunningMesh]:
    """running_mesh with topology changes to the gateway."""
    packed = conftest.mesh_topology
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(conftest, "mesh_topology", lambda base: packed(base).with_gateway(**gateway))
        with running_mesh(
            postgres, run_dir, prefix, trace_sampling=0, SVC_USER_TOKEN_TTL_SECONDS=str(TOKEN_TTL_SECONDS)
        ) as mesh:
            yield mesh


@pytest.fixture(scope="module")
def mesh(postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningMesh]:
    with _mesh(
        postgres, tmp_path_factory.mktemp("rotation"), "rotation", jwks_cache_seconds=JWKS_CACHE_SECONDS
    ) as running:
        yield running


def _keys(mesh: RunningMesh, *args: str) -> str:
    """`python -m svc_user keys ...` as an operator runs it where the users service runs."""
    env = {
        **os.environ,
        "SHOPMESH_DATA_DIR": str(mesh.run_dir / "data"),
        "SVC_USER_TOKEN_TTL_SECONDS": str(TOKEN_TTL_SECONDS),
        "SVC_USER_JWT_PUBLISH_AHEAD_SECONDS": str(PUBLISH_AHEAD_SECONDS),
    }
    result = subprocess.run(
        [sys.executable, "-m", "svc_user", "keys", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


def _account(mesh: RunningMesh) -> tuple[str, str]:
    email = f"{unique('rot')}@example.com"
    reply = mesh.rest.post(
        "/v1/users", {"user": {"email": email, "display_name": "Rot"}, "password": PASSWORD}
    )
    assert reply.status == 200, reply.text
    return email, str(reply.json["name"])


def _login(mesh: RunningMesh, email: str) -> str:
    reply = mesh.rest.post("/v1/users:login", {"email": email, "password": PASSWORD})
    assert reply.status == 200, reply.text
    return str(reply.json["access_token"])


def _kid(token: str) -> str:
    return str(jwt.get_unverified_header(token)["kid"])


def _jwks(mesh: RunningMesh) -> list[str]:
    return [k["kid"] for k in mesh.rest.get("/.well-known/jwks.json").json["keys"]]


class Load:
    """Steady authenticated load through the gateway: readers with a token issued before the rotation, and a
    client that keeps logging in and uses each new token at once (the first tokens of the new key)."""

    def __init__(self, mesh: RunningMesh, email: str, user: str, old_token: str) -> None:
        self.mesh, self.email, self.user, self.old_token = mesh, email, user, old_token
        self.statuses: Counter[int] = Counter()
        self.failures: list[str] = []
        self.kids: Counter[str] = Counter()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._read, daemon=True) for _ in range(3)]
        self._threads.append(threading.Thread(target=self._log_in_and_use, daemon=True))

    def _record(self, reply: Any, what: str) -> None:
        with self._lock:
            self.statuses[reply.status] += 1
            if not 200 <= reply.status < 300:
                self.failures.append(f"{what}: {reply.status} {reply.text[:200]}")

    def _read(self) -> None:
        rest = self.mesh.rest.as_user(self.old_token)
        while not self._stop.is_set():
            self._record(rest.get(f"/v1/{self.user}"), "GetUser, old token")
            self._record(rest.get("/v1/orders?page_size=1"), "ListOrders, old token")
            time.sleep(0.02)

    def _log_in_and_use(self) -> None:
        while not self._stop.is_set():
            login = self.mesh.rest.post("/v1/users:login", {"email": self.email, "password": PASSWORD})
            self._record(login, "Login")
            if login.status == 200:
                token = login.json["access_token"]
                with self._lock:
                    self.kids[_kid(token)] += 1
                self._record(self.mesh.rest.as_user(token).get(f"/v1/{self.user}"), "GetUser, fresh token")
            time.sleep(0.25)  # under the 10 logins/s per client address

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    @property
    def total(self) -> int:
        return sum(self.statuses.values())


# -- the public edge does not let clients force traces --


def test_a_clients_x_client_trace_id_forces_no_trace(mesh: RunningMesh) -> None:
    ignored, marker = uuid.uuid4().hex, uuid.uuid4().hex
    reply = mesh.rest.request(
        "GET",
        "/v1/products?page_size=1",
        headers={"x-client-trace-id": ignored, "traceparent": f"00-{ignored}-{uuid.uuid4().hex[:16]}-01"},
    )
    assert reply.status == 200, reply.text
    # A trace forced on the internal listener, which services use to keep a trace whole (it still honours
    # the header): once its spans are in, anything recorded before them is too (spans arrive in order).
    stub = product_grpc.ProductServiceStub(mesh.internal_channel)
    stub.ListProducts(
        product_pb.ListProductsRequest(page_size=1),
        metadata=(("x-client-trace-id", marker), ("traceparent", f"00-{marker}-{uuid.uuid4().hex[:16]}-01")),
        timeout=10,
    )
    assert _wait_for(lambda: any(s["trace_id"] == marker for s in read_spans(mesh.run_dir)), 30)
    time.sleep(2)
    assert {s["trace_id"] for s in read_spans(mesh.run_dir)} == {marker}


def test_a_rotation_under_load_answers_no_401_and_old_tokens_verify_until_they_expire(
    mesh: RunningMesh, capsys: pytest.CaptureFixture[str]
) -> None:
    email, user = _account(mesh)
    old_token = _login(mesh, email)
    old_kid = _kid(old_token)
    old_key = SigningKey.load_or_create(mesh.run_dir / "data" / "keys" / "jwt-es256.pem", create=False)
    assert old_key.kid == old_kid and _jwks(mesh) == [old_kid]
    expires = jwt.decode(old_token, options={"verify_signature": False})["exp"]

    with Load(mesh, email, user, old_token) as load:
        time.sleep(2)
        rotated_at = time.time()
        printed = _keys(mesh, "rotate")
        assert f"(in {PUBLISH_AHEAD_SECONDS} s)" in printed, printed
        listing = _keys(mesh, "list").splitlines()
        (new_kid,) = [line.split()[1] for line in listing if line.startswith("next")]
        # Published at once (every users replica reads the directory within a second)...
        deadline = time.monotonic() + 5
        while _jwks(mesh) != [new_kid, old_kid]:
            assert time.monotonic() < deadline, _jwks(mesh)
            time.sleep(0.2)
        # ...and used once its time comes, under the same load, for a while.
        time.sleep(max(0.0, rotated_at + PUBLISH_AHEAD_SECONDS + 6 - time.time()))
    with capsys.disabled():
        print(
            f"\nrotation under load: {load.total} requests, statuses {dict(load.statuses)}, kids {dict(load.kids)}"
        )
    assert load.failures == [], load.failures[:10]
    assert load.total > 100 and load.kids[old_kid] > 0 and load.kids[new_kid] > 0, (load.total, load.kids)
    assert _kid(_login(mesh, email)) == new_kid

    # The token issued before the rotation verifies until it expires.
    time.sleep(max(0.0, expires - 3 - time.time()))
    assert time.time() < expires
    assert mesh.rest.as_user(old_token).get(f"/v1/{user}").status == 200

    # Retired (here at once, as for a leaked key), the previous key verifies nothing any more: a fresh token
    # it signs gets 401 as soon as Envoy refetched the keys; the current key's tokens carry on.
    _keys(mesh, "retire", old_kid)
    assert _jwks(mesh) == [new_kid] or _wait_for(lambda: _jwks(mesh) == [new_kid])
    forged = TokenIssuer(old_key, issuer="shopmesh-users", audience="shopmesh", ttl_seconds=TOKEN_TTL_SECONDS)
    token = forged.issue(user, dt.datetime.now(dt.UTC)).token
    assert _wait_for(
        lambda: mesh.rest.as_user(token).get(f"/v1/{user}").status == 401, JWKS_CACHE_SECONDS * 2
    )
    assert mesh.rest.as_user(_login(mesh, email)).get(f"/v1/{user}").status == 200


def _wait_for(condition: Any, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True
