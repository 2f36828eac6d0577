"""The transactional outbox: an event is a row written in the transaction of the change it announces.

A rolled-back change leaves no row, so it publishes nothing; a committed one has its row, which the relay of
some replica publishes to JetStream and deletes once JetStream acknowledged it. A relay that dies between
publishing and deleting publishes the row again later: JetStream drops the copy (`Nats-Msg-Id` = the row's
id) within its duplicate window, and consumers deduplicate by `ce-id` whatever the window.

Order: a relay only takes a resource's rows from its oldest unsent one on, and publishes them one after the
other (the next once JetStream acknowledged the previous; different resources at once), so each resource's
events reach the stream in commit order — provided the
row is written after the statement that locks the resource's row (an UPDATE of it), which makes a second
transaction on the same resource write its row after the first committed. Services write their events last.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
import time
import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from google.protobuf.message import Message
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from sqlalchemy.engine import Connection

from meshkit.db import Database, UTCDateTime, after_commit, utcnow
from meshkit.events.broker import Broker, BrokerUnavailable
from meshkit.events.envelope import Event, StreamSpec, stream_spec, subject_of
from meshkit.events.metrics import EventMetrics
from meshkit.telemetry import traceparent

log = logging.getLogger(__name__)


def outbox_table(metadata: sa.MetaData) -> sa.Table:
    """The `outbox` table, in a service's own schema."""
    return sa.Table(
        "outbox",
        metadata,
        sa.Column(
            "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
        sa.Column("id", sa.String(32), nullable=False, unique=True),
        sa.Column("type", sa.String(200), nullable=False),
        sa.Column("resource", sa.String(200), nullable=False),
        sa.Column("time", UTCDateTime(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("traceparent", sa.String(64), nullable=False),
        sa.Index("outbox_resource_seq", "resource", "seq"),
        extend_existing=True,
    )


def create_outbox(conn: Connection, metadata: sa.MetaData) -> None:
    """The migration step that adds the outbox to an existing database."""
    metadata.tables["outbox"].create(conn, checkfirst=True)


class Outbox:
    """Writes events into a service's outbox, inside the caller's transaction."""

    def __init__(self, table: sa.Table, source: str, events: Sequence[type[Message]]) -> None:
        """`source`: the CloudEvents source of every event (e.g. `//orders.shopmesh.dev`); `events`: the types
        this service publishes (their streams are created at start)."""
        self.table = table
        self.source = source
        self.streams: list[StreamSpec] = list(dict.fromkeys(stream_spec(e) for e in events))
        self._insert = sa.insert(table)
        self._listeners: list[Any] = []
        self._tracer = trace.get_tracer("meshkit.events")

    def on_commit(self, listener: Any) -> None:
        """`listener()` runs after each commit that wrote events (the relay wakes up at once)."""
        self._listeners.append(listener)

    def add(self, conn: Connection, message: Message, resource: str) -> None:
        """Records `message` as an event about `resource` (e.g. `orders/42`), published once `conn` commits."""
        self._insert_row(conn, message, resource, utcnow())
        for listener in self._listeners:
            after_commit(conn, listener)

    def _insert_row(self, conn: Connection, message: Message, resource: str, now: dt.datetime) -> None:
        conn.execute(
            self._insert,
            {
                "id": uuid.uuid4().hex,
                "type": subject_of(message),
                "resource": resource,
                "time": now,
                "payload": message.SerializeToString(),
                "traceparent": self._traceparent(subject_of(message), resource),
            },
        )

    def _traceparent(self, event_type: str, resource: str) -> str:
        """The trace context the event carries: a PRODUCER span under the current call when it is traced, so
        the consumer's work shows as part of the request that caused it."""
        current = trace.get_current_span()
        if not current.get_span_context().is_valid:
            return ""
        if current.is_recording():
            span = self._tracer.start_span(
                f"publish {event_type.rpartition('.')[2]}",
                kind=SpanKind.PRODUCER,
                attributes={"messaging.system": "nats", "messaging.destination.name": event_type,
                            "cloudevents.event_subject": resource},
            )  # fmt: skip
            span.end()
            return traceparent(trace.set_span_in_context(span))
        return traceparent()  # unsampled: the consumer follows that decision


BATCH = 256
PUBLISH_TIMEOUT = 5.0
BACKLOG_EVERY = 1.0
"""Seconds between two refreshes of the backlog gauges (a count over the outbox)."""


class Relay:
    """Publishes a service's outbox to JetStream, in a thread of every replica.

    Woken right after a commit that wrote events, and every `interval` seconds regardless (rows written by a
    replica that died before relaying them, or while the broker was down). On PostgreSQL each replica locks
    the rows it publishes (`FOR UPDATE SKIP LOCKED`), so relays share the work instead of repeating it; on
    SQLite (one writer, `make up`) rows are read without a lock, published, then deleted, so a service's
    writers never wait on a publish — two relays may then publish a row twice, and JetStream keeps one.
    """

    def __init__(
        self,
        db: Database,
        outbox: Outbox,
        broker: Broker,
        metrics: EventMetrics,
        *,
        interval: float = 1.0,
        batch: int = BATCH,
    ) -> None:
        self._db = db
        self._table = outbox.table
        self._source = outbox.source
        self._broker = broker
        self._metrics = metrics
        self._interval = interval
        self._batch = batch
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="outbox-relay", daemon=True)
        self._backlog_at = 0.0
        self._lock_rows = not db.is_sqlite
        t = self._table
        self._select = sa.select(t).order_by(t.c.seq).limit(batch)
        if self._lock_rows:
            self._select = self._select.with_for_update(skip_locked=True)
        self._unsent_of = (
            sa.select(t.c.resource, t.c.seq)
            .where(
                t.c.resource.in_(sa.bindparam("resources", expanding=True)), t.c.seq <= sa.bindparam("last")
            )
            .order_by(t.c.resource, t.c.seq)
        )
        # By event id, not seq: SQLite (no AUTOINCREMENT) hands a deleted top seq to the next row, so a relay
        # holding an older snapshot would delete by seq a newer row that was never published.
        self._delete = sa.delete(t).where(t.c.id.in_(sa.bindparam("ids", expanding=True)))
        self._backlog = sa.select(sa.func.count(), sa.func.min(t.c.time)).select_from(t)
        outbox.on_commit(self.kick)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=PUBLISH_TIMEOUT + 5)

    def kick(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            self._wake.wait(self._interval if not failures else min(0.25 * 2**failures, 5.0))
            self._wake.clear()
            try:
                while self.relay_once() == self._batch and not self._stop.is_set():
                    pass
                failures = 0
            except Exception as exc:
                failures = min(failures + 1, 5)
                log.warning("outbox relay: %s", exc or type(exc).__name__)
            self._refresh_backlog()
        # A last round, so events of the final calls leave with this replica when the broker is there.
        try:
            self.relay_once()
        except Exception as exc:
            log.info("outbox relay stopped with events left: %s", exc or type(exc).__name__)

    def relay_once(self) -> int:
        """Publishes up to one batch; returns how many rows it took (published or not)."""
        if not self._broker.connected:
            return 0
        rows: Sequence[Any]
        if self._lock_rows:
            with self._db.transaction() as conn:
                rows = self._gapless_runs(conn, conn.execute(self._select).all())
                done = self._published_ids(rows)
                if done:
                    conn.execute(self._delete, {"ids": done})
            return len(rows)
        with self._db.snapshot() as conn:
            rows = conn.execute(self._select).all()
        done = self._published_ids(rows)
        if done:
            with self._db.transaction() as conn:
                conn.execute(self._delete, {"ids": done})
        return len(rows)

    def _published_ids(self, rows: Sequence[Any]) -> list[str]:
        """Publishes `rows`; returns the event ids of those JetStream acknowledged."""
        acked = set(self._publish(rows))
        return [row.id for row in rows if row.seq in acked]

    def _gapless_runs(self, conn: Connection, rows: Sequence[Any]) -> list[Any]:
        """Keeps, per resource, only the rows that are its oldest unsent ones, without a gap: the rows another
        relay holds (skipped by SKIP LOCKED, but visible) must go out before any later row of theirs."""
        if not rows:
            return []
        mine: dict[str, list[Any]] = {}
        for row in rows:
            mine.setdefault(row.resource, []).append(row)
        unsent: dict[str, list[int]] = {}
        for resource, seq in conn.execute(self._unsent_of, {"resources": list(mine), "last": rows[-1].seq}):
            unsent.setdefault(resource, []).append(seq)
        keep: set[int] = set()
        for resource, held in mine.items():
            for row, oldest in zip(held, unsent.get(resource, []), strict=False):
                if row.seq != oldest:
                    break  # an older row of this resource is another relay's: it goes first
                keep.add(row.seq)
        return [r for r in rows if r.seq in keep]

    def _publish(self, rows: Sequence[Any]) -> list[int]:
        """Publishes `rows`; returns the seqs JetStream acknowledged (per resource, a prefix of its rows)."""
        if not rows:
            return []
        try:
            acked = self._broker.run(self._publish_all(rows), 2 * PUBLISH_TIMEOUT + 1)
        except (TimeoutError, BrokerUnavailable) as exc:
            self._metrics.publish_errors.inc()
            raise BrokerUnavailable(
                f"no acknowledgement from JetStream: {exc or type(exc).__name__}"
            ) from exc
        done = set(acked)
        for row in rows:
            if row.seq in done:
                self._metrics.published.labels(row.type).inc()
        if len(acked) < len(rows):
            self._metrics.publish_errors.inc()
        return acked

    async def _publish_all(self, rows: Sequence[Any]) -> list[int]:
        """One chain per resource, all chains at once. Within a chain a row goes out only once the previous one
        was acknowledged, and the chain stops at the first failure: a row that failed is never overtaken by a
        later row of its resource (pipelining them would reorder the stream when only the earlier one fails)."""
        js = self._broker.js
        if js is None:
            raise BrokerUnavailable("not connected")
        chains: dict[str, list[Any]] = {}
        for row in rows:
            chains.setdefault(row.resource, []).append(row)

        async def chain(resource_rows: list[Any]) -> list[int]:
            acked = []
            for row in resource_rows:
                event = Event(
                    id=row.id, type=row.type, source=self._source, subject=row.resource, time=row.time,
                    data=row.payload, traceparent=row.traceparent,
                )  # fmt: skip
                try:
                    await js.publish(row.type, row.payload, timeout=PUBLISH_TIMEOUT, headers=event.headers())
                except (
                    Exception
                ) as exc:  # no ack (timeout, no stream, refused): the row stays for the next round
                    log.warning(
                        "JetStream did not take %s %s: %s", row.type, row.id, exc or type(exc).__name__
                    )
                    break
                acked.append(row.seq)
            return acked

        results = await asyncio.gather(*(chain(c) for c in chains.values()))
        return [seq for acked in results for seq in acked]

    def _refresh_backlog(self) -> None:
        now = time.monotonic()
        if now - self._backlog_at < BACKLOG_EVERY:
            return
        self._backlog_at = now
        try:
            with self._db.read() as conn:
                rows, oldest = conn.execute(self._backlog).one()
        except Exception:  # the database is down: the figures wait for the next round
            return
        self._metrics.outbox_rows.set(rows)
        self._metrics.outbox_age.set((utcnow() - oldest).total_seconds() if oldest else 0.0)
