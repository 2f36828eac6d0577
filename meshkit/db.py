"""One database per service: engine set-up, transactions, schema migration.

SQLite (a file, the embedded default) and PostgreSQL (through psycopg 3) are
both first-class: every statement the services run works on both.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import select
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError, OperationalError

from meshkit.errors import Unavailable

log = logging.getLogger(__name__)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(sa.types.TypeDecorator[dt.datetime]):
    """A timestamp stored in UTC and always read back timezone-aware.

    SQLite has no timezone type and returns naive values; normalising here
    keeps the domain free of that difference.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def normalize_url(url: str) -> str:
    """Accepts the URLs people paste (`postgres://`, `postgresql://`) and picks psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


POOL_OVERFLOW = 4
"""Connections a Database may open beyond its pool size (health pings, background tasks)."""

PING_IDLE_AFTER = 30.0
"""Seconds a pooled connection may rest before it is pinged at checkout whatever its socket says (a peer gone
without closing the connection: a moved database host, a firewall's idle timeout)."""


class Database:
    """The engine of one service's database and the transactions it runs."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 8,
        application_name: str = "shopmesh",
        connect_patience: float = 5.0,
    ) -> None:
        self.url = make_url(normalize_url(url))
        # How long a new transaction waits for an unreachable database (a
        # restart takes a second or two) before the call fails UNAVAILABLE.
        self.connect_patience = connect_patience
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        if self.is_sqlite:
            self.engine = self._sqlite_engine()
        else:
            # Up to `pool_size` connections stay open (SVC_*_DB_POOL_SIZE, by default as many as threads run
            # transactions: the server's workers). A pool smaller than the load closes each connection beyond it
            # when it is returned, and a busy server then opens a PostgreSQL connection (a backend process) for
            # many of its transactions: measured, that tripled PostgreSQL's CPU per GetProduct. The overflow
            # serves the health pings and background tasks. Every replica's pool counts against the server's
            # max_connections (100 by default): replicas x (pool_size + POOL_OVERFLOW) at peak.
            self.engine = sa.create_engine(
                self.url,
                pool_size=pool_size,
                max_overflow=POOL_OVERFLOW,
                pool_timeout=10,
                hide_parameters=True,  # bound values (card data, hashes) never reach an exception or log
                connect_args={"connect_timeout": 5, "application_name": application_name},
            )
            _ping_suspect_connections(self.engine, PING_IDLE_AFTER)

    def _sqlite_engine(self) -> Engine:
        if self.url.database and self.url.database != ":memory:":
            Path(self.url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            self.url, hide_parameters=True, connect_args={"check_same_thread": False, "timeout": 30}
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy's "begin" event below issue BEGIN itself: the
            # driver's implicit deferred BEGIN turns concurrent writers into
            # "database is locked" errors instead of queueing them.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            readonly = conn.get_execution_options().get("shopmesh_readonly", False)
            conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

        return engine

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A read-write transaction: committed when the block ends, rolled back on error. Callbacks registered
        with `after_commit` run once it committed (and are dropped if it did not)."""
        with _translate_outage(), self._connect() as conn:
            try:
                with conn.begin():
                    yield conn
            finally:
                callbacks = conn.info.pop(_AFTER_COMMIT, None)
            for callback in callbacks or ():
                callback()

    @contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """A read-only transaction (on SQLite it does not take the write lock)."""
        with (
            _translate_outage(),
            self._connect().execution_options(shopmesh_readonly=True) as conn,
            conn.begin(),
        ):
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """For a read of one statement, which is consistent by itself: on PostgreSQL it runs outside a
        transaction (autocommit), saving the BEGIN and COMMIT round trips of `snapshot`; on SQLite it is a
        snapshot. Reads of several statements that must agree use `snapshot`."""
        if self.is_sqlite:
            with self.snapshot() as conn:
                yield conn
            return
        with _translate_outage(), self._connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            yield conn

    def _connect(self) -> Connection:
        """A pooled connection, waiting out a short outage (suspect connections are pinged, dead ones replaced)."""
        deadline = time.monotonic() + self.connect_patience
        delay = 0.05
        while True:
            try:
                return self.engine.connect()
            except OperationalError as exc:
                if not _is_connection_error(exc) or time.monotonic() + delay > deadline:
                    raise
                log.warning("database unreachable, retrying in %.2fs: %s", delay, str(exc.orig).strip())
                time.sleep(delay)
                delay = min(delay * 2, 0.5)

    def ping(self) -> None:
        """Raises when the database does not answer."""
        with self.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()


_AFTER_COMMIT = "shopmesh_after_commit"


def after_commit(conn: Connection, callback: Callable[[], None]) -> None:
    """Runs `callback` once the transaction `conn` is in (one of Database.transaction) has committed; not at
    all if it rolls back. Once per callback per transaction, however often it is registered."""
    callbacks: list[Callable[[], None]] = conn.info.setdefault(_AFTER_COMMIT, [])
    if callback not in callbacks:
        callbacks.append(callback)


def _ping_suspect_connections(engine: Engine, idle_after: float) -> None:
    """Survive a database restart without restarting the service, without a round trip per transaction.

    SQLAlchemy's `pool_pre_ping` pings at every checkout: a round trip, a third of a simple read's database
    time. A restarting PostgreSQL tells each connection it is closing it (a message, then end of stream), so a
    connection whose socket has something to read while it rests in the pool is suspect; so is one that rested
    `idle_after` seconds. Only those are pinged, and a dead one is replaced before the transaction starts. A
    busy connection cut by a restart fails its statement instead: that invalidates every connection of the
    pool, and the call fails UNAVAILABLE, which callers (Envoy) retry.
    """

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_conn: Any, record: Any) -> None:
        if record is not None:
            record.info["shopmesh_returned"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _check(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get("shopmesh_returned")
        if returned is None:  # fresh from connect
            return
        if time.monotonic() - returned < idle_after and not _has_input(dbapi_conn):
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:  # any failure: the pool drops it and checks out a fresh connection
            raise sa.exc.DisconnectionError(str(exc)) from exc


def _has_input(dbapi_conn: Any) -> bool:
    """Whether an idle connection's socket is readable or closed (no query is pending, so the server has
    spoken on its own: it is shutting the session down)."""
    try:
        poller = select.poll()
        poller.register(dbapi_conn.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
        return bool(poller.poll(0))
    except (OSError, ValueError, AttributeError):
        return True


@contextmanager
def _translate_outage() -> Iterator[None]:
    try:
        yield
    except OperationalError as exc:
        if exc.connection_invalidated or _is_connection_error(exc):
            raise Unavailable(
                "the database is unavailable; retry shortly", reason="DATABASE_UNAVAILABLE"
            ) from exc
        raise


def _is_connection_error(exc: DBAPIError) -> bool:
    text = str(exc.orig).lower()
    return any(s in text for s in ("connection", "could not connect", "server closed", "terminating"))


@dataclass(frozen=True)
class Migration:
    """One forward-only schema change, applied once, in order."""

    description: str
    apply: Callable[[Connection], None]


def open_database(
    url: str, metadata: sa.MetaData, migrations: Sequence[Migration], name: str, *, pool_size: int = 8
) -> Database:
    """Connects and brings the schema up to date: what every service does first. `pool_size`: connections kept
    open (ServerSettings.db_pool_size)."""
    db = Database(url, application_name=name, pool_size=pool_size)
    migrate(db, metadata, migrations)
    return db


def migrate(db: Database, metadata: sa.MetaData, migrations: Sequence[Migration] = ()) -> int:
    """Brings the schema to the latest version and returns that version.

    A fresh database gets the current tables from `metadata` and is stamped
    with the latest version; an older one gets the pending migrations. Safe
    when several replicas start at once: PostgreSQL serialises on an advisory
    lock, SQLite on its write lock.
    """
    latest = len(migrations)
    with db.transaction() as conn:
        if not db.is_sqlite:
            lock_key = zlib.crc32(f"shopmesh-migrate:{db.url.database}".encode())
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key})
        conn.execute(
            sa.text(
                "CREATE TABLE IF NOT EXISTS schema_version (id INTEGER PRIMARY KEY, version INTEGER NOT NULL)"
            )
        )
        current = conn.execute(sa.text("SELECT version FROM schema_version WHERE id = 1")).scalar()
        if current is None:
            metadata.create_all(conn)
            conn.execute(sa.text("INSERT INTO schema_version (id, version) VALUES (1, :v)"), {"v": latest})
            log.info("created schema at version %d", latest)
            return latest
        if current > latest:
            raise RuntimeError(f"database schema version {current} is newer than this code ({latest})")
        for version, step in enumerate(migrations[current:], start=current + 1):
            log.info("migrating schema to version %d: %s", version, step.description)
            step.apply(conn)
            conn.execute(sa.text("UPDATE schema_version SET version = :v WHERE id = 1"), {"v": version})
        return latest


def insert_if_absent(conn: Connection, table: sa.Table, values: dict[str, Any]) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING; True when the row was inserted.

    The unique constraint decides, inside the caller's transaction, so two
    concurrent requests with one idempotency key cannot both win (a
    check-then-insert could). RETURNING tells the outcome: rowcount is not
    reliable for this statement across drivers (psycopg reports -1).
    """
    return conn.execute(_insert_if_absent(conn.dialect.name, table), values).first() is not None


@functools.cache
def _insert_if_absent(dialect: str, table: sa.Table) -> Any:
    # Built once per table, the row passed as parameters: SQLAlchemy then reuses the compiled statement instead of
    # building and cache-keying an INSERT with every value in it on each call.
    # Only the dialect in use is imported: the other would add 1-3 MB to the replica for nothing.
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table).on_conflict_do_nothing().returning(sa.literal(1))
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(table).on_conflict_do_nothing().returning(sa.literal(1))
