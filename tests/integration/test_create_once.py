"""Create calls racing with one request_id, on SQLite and a real PostgreSQL: the unique key makes one row."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from devkit.postgres import PostgresServer
from meshkit.create_once import RequestIdReused
from meshkit.db import Database, open_database, utcnow
from meshkit.money import Money
from svc_product import domain as product_domain
from svc_product import models as product_models
from svc_product.services import Catalog
from svc_user import models as user_models
from svc_user.passwords import Passwords
from svc_user.services import Accounts
from svc_user.tokens import SigningKey, TokenIssuer

pytestmark = pytest.mark.integration

CALLS = 6


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where each test's service database lives: both dialects keep the guarantee."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'service.sqlite3'}"
    postgres: PostgresServer = request.getfixturevalue("postgres")
    return postgres.create_database(f"co_{uuid.uuid4().hex[:12]}")


@contextmanager
def _opened(url: str, models: Any) -> Iterator[Database]:
    db = open_database(url, models.metadata, models.MIGRATIONS, "test")
    try:
        yield db
    finally:
        db.dispose()


def _clock_after_everyone() -> Callable[[], dt.datetime]:
    """A clock each create reads as it builds its row: none returns before all have passed the look-up for a
    replay, so every call races on the insert (the path a look-up alone would get wrong)."""
    barrier = threading.Barrier(CALLS, timeout=30)

    def now() -> dt.datetime:
        barrier.wait()
        return utcnow()

    return now


def _race(action: Callable[[int], Any]) -> list[Any]:
    """`action(i)` from CALLS threads at once: each one's result, or the RequestIdReused it raised."""

    def run(i: int) -> Any:
        try:
            return action(i)
        except RequestIdReused as exc:
            return exc

    with ThreadPoolExecutor(max_workers=CALLS) as pool:
        return list(pool.map(run, range(CALLS)))


def _count(db: Database, table: str) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_concurrent_create_products_with_one_request_id_make_one_product_and_one_event(url: str) -> None:
    skus = [f"SKU-{i % 2}" for i in range(CALLS)]
    fields = product_domain.ProductFields(title="Lamp", description="", price=Money.of("USD", 20), stock=3)
    with _opened(url, product_models) as db:
        catalog = Catalog(db, clock=_clock_after_everyone())

        answers = _race(lambda i: catalog.create_product(skus[i], fields, "one-key"))

        (winner,) = {a.id: a for a in answers if isinstance(a, product_domain.Product)}.values()
        for sku, answer in zip(skus, answers, strict=True):
            assert answer == winner if sku == winner.sku else isinstance(answer, RequestIdReused)
        assert (_count(db, "products"), _count(db, "outbox")) == (1, 1)


def test_concurrent_create_users_with_one_request_id_make_one_account(url: str, tmp_path: Path) -> None:
    key = SigningKey.load_or_create(tmp_path / "key.pem", create=True)
    tokens = TokenIssuer(key, issuer="i", audience="a", ttl_seconds=60)
    with _opened(url, user_models) as db:
        # Cheap hashes: the race is on the key, and six Argon2id hashes at RFC 9106's cost take seconds.
        cheap = Passwords(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
        accounts = Accounts(db, cheap, tokens, clock=_clock_after_everyone())

        answers = _race(lambda _: accounts.create_user("Ann@Example.com", "Ann", "password123", "one-key"))

        assert len({a.id for a in answers}) == 1 and answers[0].email == "ann@example.com"
        assert (_count(db, "users"), _count(db, "outbox")) == (1, 1)
