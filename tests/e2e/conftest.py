"""The real mesh for end-to-end tests: Envoy, NATS and every service on PostgreSQL, on free ports; e-mail to a
real SMTP server."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
import sqlalchemy as sa

from devkit.ports import free_block
from devkit.postgres import PostgresServer
from meshctl import topology
from meshctl.launcher import Endpoints, Mesh
from tests.support.rest import Rest
from tests.support.smtp import MailSink

ROOT = Path(__file__).resolve().parents[2]
GRPCURL = ROOT / ".tools" / "bin" / "grpcurl"
SERVICES = tuple(s.name for s in topology.load().services)


@dataclass
class RunningMesh:
    launcher: Mesh
    endpoints: Endpoints
    run_dir: Path
    db_urls: dict[str, str]
    rest: Rest
    channel: grpc.Channel
    internal_channel: grpc.Channel
    mail: MailSink
    admin_token: str = ""
    _engines: dict[str, sa.Engine] = field(default_factory=dict)

    @property
    def admin(self) -> Rest:
        """REST as an admin (product writes need the role)."""
        return self.rest.as_user(self.admin_token)

    def grant_admin(self, email: str) -> None:
        """What an operator runs: `python -m svc_user grant-admin EMAIL` against the users database."""
        env = {**os.environ, "SVC_USER_DATABASE_URL": self.db_urls["users"]}
        result = subprocess.run(
            [sys.executable, "-m", "svc_user", "grant-admin", email],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr

    def sql(self, service: str, query: str, **params: Any) -> list[Any]:
        """Runs a query directly against a service's own database."""
        if service not in self._engines:
            url = self.db_urls[service].replace("postgresql://", "postgresql+psycopg://")
            # pre-ping: the chaos test restarts PostgreSQL under every pooled connection.
            self._engines[service] = sa.create_engine(url, pool_pre_ping=True)
        with self._engines[service].connect() as conn:
            return list(conn.execute(sa.text(query), params))

    def count(self, service: str, table: str) -> int:
        return int(self.sql(service, f"SELECT count(*) FROM {table}")[0][0])

    def counts(self) -> dict[str, int]:
        """Row counts of every table a purchase writes to."""
        return {
            "orders": self.count("orders", "orders"),
            "order_items": self.count("orders", "order_items"),
            "payments": self.count("payments", "payments"),
            "reservations": self.count("products", "reservations"),
            "users": self.count("users", "users"),
            "products": self.count("products", "products"),
        }


def mesh_topology(base: int) -> topology.Topology:
    """The default topology with every port inside [base, base + 70)."""
    return topology.load().packed(base)


# Short leases so that stranded checkouts are recovered within a test's patience.
FAST_RECOVERY = {"SVC_ORDER_SAGA_LEASE_SECONDS": "4", "SVC_ORDER_RECOVERY_INTERVAL_SECONDS": "0.5"}
# A failing event is parked after 4 deliveries within about 1.5 s (0.2, 0.4, 0.8 s between them).
FAST_DEAD_LETTERS = {"SHOPMESH_EVENTS_MAX_DELIVER": "4", "SHOPMESH_EVENTS_RETRY_SECONDS": "0.2"}


@contextmanager
def running_mesh(
    postgres: PostgresServer, run_dir: Path, prefix: str, trace_sampling: float = 100.0, **extra_env: str
) -> Iterator[RunningMesh]:
    """Envoy plus two replicas of every service, each service on its own fresh PostgreSQL database."""
    urls = {name: postgres.create_database(f"{prefix}_{name}") for name in SERVICES}
    mail = MailSink()
    mail.start()
    env = {
        **os.environ,
        **FAST_RECOVERY,
        **FAST_DEAD_LETTERS,
        "SVC_NOTIFICATION_SMTP_URL": mail.url,
        **extra_env,
    }
    topo = mesh_topology(free_block(70))
    for service in topo.services:
        env[f"{service.env_prefix}_DATABASE_URL"] = urls[service.name]
    launcher = Mesh(topo, run_dir, env=env, trace_sampling=trace_sampling)
    try:
        endpoints = launcher.start()
    except BaseException:
        mail.stop()
        raise
    channel = grpc.insecure_channel(endpoints.gateway)
    internal = grpc.insecure_channel(endpoints.internal)
    running = RunningMesh(launcher, endpoints, run_dir, urls, Rest(endpoints.rest), channel, internal, mail)
    try:
        running.admin_token = _admin_token(running)
        yield running
    finally:
        channel.close()
        internal.close()
        for engine in running._engines.values():
            engine.dispose()
        launcher.stop()
        mail.stop()


def _admin_token(mesh: RunningMesh) -> str:
    email, password = f"admin-{uuid.uuid4().hex[:8]}@example.com", "admin password 1"
    created = mesh.rest.post(
        "/v1/users", {"user": {"email": email, "display_name": "Admin"}, "password": password}
    )
    assert created.status == 200, created.text
    mesh.grant_admin(email)
    login = mesh.rest.post("/v1/users:login", {"email": email, "password": password})
    assert login.status == 200, login.text
    return str(login.json["access_token"])


@pytest.fixture(scope="session")
def mesh(postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningMesh]:
    with running_mesh(postgres, tmp_path_factory.mktemp("mesh"), "e2e") as running:
        yield running


@pytest.fixture(scope="session")
def grpcurl() -> Path:
    assert GRPCURL.is_file(), f"{GRPCURL} is missing: `make install` builds it (tools/go-tools.txt)"
    return GRPCURL
