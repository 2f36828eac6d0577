"""Races and restarts on a real PostgreSQL: the database constraints, not luck, keep the books straight."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
import pytest
import sqlalchemy as sa
from grpc_health.v1 import health_pb2, health_pb2_grpc
from shopmesh.product.v1 import product_service_pb2 as product_pb
from shopmesh.product.v1 import product_service_pb2_grpc as product_grpc

from devkit.postgres import PostgresServer
from meshkit.cards import Card
from meshkit.db import Database, migrate, open_database
from meshkit.errors import AlreadyExists, FailedPrecondition, ServiceError
from meshkit.money import Money
from svc_payment import models as payment_models
from svc_payment.services import Payments
from svc_product import domain as product_domain
from svc_product import models as product_models
from svc_product import settings as product_settings
from svc_product.server import create_server as create_product_server
from svc_product.services import Catalog
from svc_user import models as user_models
from svc_user.passwords import Passwords
from svc_user.services import Accounts
from svc_user.tokens import SigningKey, TokenIssuer
from tests.support.grpc_testing import assert_error, call_error, serving

pytestmark = pytest.mark.integration


@pytest.fixture
def fresh_db(postgres: PostgresServer) -> Iterator[Callable[[Any], Database]]:
    """Opens migrated databases of a service's models on the test server; disposes them afterwards."""
    opened: list[Database] = []

    def open_fresh(models: Any) -> Database:
        url = postgres.create_database(f"it_{uuid.uuid4().hex[:12]}")
        opened.append(open_database(url, models.metadata, models.MIGRATIONS, "test"))
        return opened[-1]

    yield open_fresh
    for db in opened:
        db.dispose()


def race(count: int, action: Callable[[int], Any]) -> tuple[list[Any], list[ServiceError]]:
    """Runs `action(i)` from `count` threads at once; returns results and service errors."""
    results: list[Any] = []
    errors: list[ServiceError] = []

    def run(i: int) -> None:
        try:
            results.append(action(i))
        except ServiceError as exc:
            errors.append(exc)

    with ThreadPoolExecutor(max_workers=count) as pool:
        list(pool.map(run, range(count)))
    return results, errors


def product(catalog: Catalog, stock: int) -> product_domain.Product:
    return catalog.create_product(
        f"SKU-{uuid.uuid4().hex[:8]}",
        product_domain.ProductFields(title="Lamp", description="", price=Money.of("USD", 20), stock=stock),
    )


def test_concurrent_reservations_never_oversell(fresh_db: Callable[[Any], Database]) -> None:
    catalog = Catalog(fresh_db(product_models))
    lamp = product(catalog, stock=5)
    line = [product_domain.ReservationLine(lamp.id, 1)]
    ok, failed = race(20, lambda i: catalog.reserve_stock(f"r{i}", line))
    assert len(ok) == 5
    assert len(failed) == 15 and all(isinstance(e, FailedPrecondition) for e in failed)
    assert catalog.get_product(lamp.id).stock == 0


def test_concurrent_replays_of_one_reservation_take_stock_once(fresh_db: Callable[[Any], Database]) -> None:
    catalog = Catalog(fresh_db(product_models))
    lamp = product(catalog, stock=10)
    line = [product_domain.ReservationLine(lamp.id, 3)]
    ok, failed = race(12, lambda _: catalog.reserve_stock("same", line))
    assert failed == [] and len(ok) == 12
    assert catalog.get_product(lamp.id).stock == 7
    released, _ = race(8, lambda _: catalog.release_stock("same"))
    assert {r.state for r in released} == {product_domain.RELEASED}
    assert catalog.get_product(lamp.id).stock == 10


def test_concurrent_multi_item_reservations_do_not_deadlock(fresh_db: Callable[[Any], Database]) -> None:
    catalog = Catalog(fresh_db(product_models))
    a, b = product(catalog, stock=100), product(catalog, stock=100)

    def reserve(i: int) -> Any:
        pair = [product_domain.ReservationLine(a.id, 1), product_domain.ReservationLine(b.id, 1)]
        return catalog.reserve_stock(f"pair{i}", pair if i % 2 else pair[::-1])

    ok, failed = race(16, reserve)
    assert failed == [] and len(ok) == 16
    assert (catalog.get_product(a.id).stock, catalog.get_product(b.id).stock) == (84, 84)


def test_concurrent_charges_with_one_request_id_capture_once(fresh_db: Callable[[Any], Database]) -> None:
    db = fresh_db(payment_models)
    payments = Payments(db)
    card = Card("4242424242424242", 12, 2099, "123")
    ok, failed = race(10, lambda _: payments.charge("order:x:charge", "orders/x", Money.of("USD", 5), card))
    assert failed == []
    assert len({p.id for p in ok}) == 1
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM payments")).scalar_one() == 1


def test_concurrent_signups_with_one_email_create_one_account(
    fresh_db: Callable[[Any], Database], tmp_path: Any
) -> None:
    key = SigningKey.load_or_create(tmp_path / "key.pem", create=True)
    accounts = Accounts(
        fresh_db(user_models), Passwords(), TokenIssuer(key, issuer="i", audience="a", ttl_seconds=60)
    )
    ok, failed = race(6, lambda i: accounts.create_user("Same@Example.com", f"n{i}", "password123"))
    assert len(ok) == 1
    assert len(failed) == 5 and all(isinstance(e, AlreadyExists) for e in failed)


def test_replicas_migrating_at_once_agree(postgres: PostgresServer) -> None:
    url = postgres.create_database(f"it_{uuid.uuid4().hex[:12]}")
    databases = [Database(url) for _ in range(4)]
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            versions = list(
                pool.map(
                    lambda db: migrate(db, product_models.metadata, product_models.MIGRATIONS), databases
                )
            )
        assert versions == [len(product_models.MIGRATIONS)] * 4
        with databases[0].engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM schema_version")).scalar_one() == 1
    finally:
        for db in databases:
            db.dispose()


def test_a_database_restart_is_survived_without_restarting_the_service(
    postgres: PostgresServer, fresh_db: Callable[[Any], Database]
) -> None:
    catalog_db = fresh_db(product_models)
    catalog = Catalog(catalog_db)
    lamp = product(catalog, stock=1)
    postgres.restart()
    assert catalog.get_product(lamp.id).create_time <= dt.datetime.now(dt.UTC)
    catalog_db.ping()


def test_only_a_suspect_connection_is_pinged_before_use(
    postgres: PostgresServer, fresh_db: Callable[[Any], Database], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = fresh_db(product_models)
    pings: list[object] = []
    ping = db.engine.dialect.do_ping
    monkeypatch.setattr(
        db.engine.dialect, "do_ping", lambda dbapi_conn: pings.append(dbapi_conn) or ping(dbapi_conn)
    )

    def select_one() -> int:
        with db.read() as conn:
            return int(conn.execute(sa.text("SELECT 1")).scalar_one())

    assert [select_one() for _ in range(5)] == [1] * 5
    assert pings == []  # a healthy connection fresh from use costs no round trip
    postgres.restart()  # the server closes every session: each pooled socket has its goodbye to read
    assert select_one() == 1
    assert len(pings) == 1  # the suspect was pinged, found dead, replaced by a fresh connection


def _health(channel: grpc.Channel) -> int:
    stub: Any = health_pb2_grpc.HealthStub(channel)
    return int(stub.Check(health_pb2.HealthCheckRequest(), timeout=5).status)


def _eventually(condition: Callable[[], bool], seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def test_health_and_errors_follow_a_database_outage(postgres: PostgresServer, tmp_path: Any) -> None:
    url = postgres.create_database(f"it_{uuid.uuid4().hex[:12]}")
    env = {"SVC_PRODUCT_PORT": "0", "SVC_PRODUCT_DATABASE_URL": url, "SHOPMESH_DATA_DIR": str(tmp_path)}
    with serving(create_product_server(product_settings.load(env))) as channel:
        products = product_grpc.ProductServiceStub(channel)
        missing = product_pb.GetProductRequest(name="products/0123abcd")
        assert _health(channel) == health_pb2.HealthCheckResponse.SERVING
        postgres.pause()
        try:
            _eventually(lambda: _health(channel) == health_pb2.HealthCheckResponse.NOT_SERVING)
            assert_error(
                call_error(products.GetProduct, missing),
                grpc.StatusCode.UNAVAILABLE,
                reason="DATABASE_UNAVAILABLE",
            )
        finally:
            postgres.resume()
        _eventually(lambda: _health(channel) == health_pb2.HealthCheckResponse.SERVING)
        assert_error(call_error(products.GetProduct, missing), grpc.StatusCode.NOT_FOUND)
