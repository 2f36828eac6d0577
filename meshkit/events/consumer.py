"""Consuming events: durable consumers with exactly-once effects, dead letters, per-replica broadcasts.

A durable consumer is shared by a service's replicas (each event goes to one of them). Its handler runs in a
database transaction that also records the event's `ce-id` as processed, so the effect and the record
commit together: a redelivery (the ack was lost, the replica died after the commit) finds the record and
does nothing. The ack goes out after the commit.

A failing handler gets the event again later (`nak` with a doubling delay); after `max_deliver` deliveries
the event is parked as a dead letter in the consumer's own database, counted, and acknowledged, so it never
blocks the ones behind it. An event that cannot be read (no CloudEvents headers, an unknown type, a body
that does not parse) is parked at once. An operator lists and replays dead letters from the command line
(`python -m svc_<name> dead-letters`). An outage of the consumer's own database is not the event's fault:
the consumer holds the event (in progress, not redelivered) and tries it again every second until the database
is back, so an outage never parks anything.

A broadcast is the other kind: every replica hears every event (an ordered, ephemeral consumer per replica,
from "now" on), to drop what it caches. Losing it (a disconnect) tells the listener to reset, since events
may be missed until it is back.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from google.protobuf.message import Message
from nats.js import api
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from sqlalchemy.engine import Connection

from meshkit.db import Database, UTCDateTime, insert_if_absent, utcnow
from meshkit.errors import Unavailable
from meshkit.events.broker import Broker
from meshkit.events.envelope import Event, Malformed, StreamSpec, describe, stream_spec, subject_of
from meshkit.events.metrics import EventMetrics
from meshkit.logs import FIELDS
from meshkit.telemetry import context_of

log = logging.getLogger(__name__)

MAX_RETRY_DELAY = 30.0
HOLD_SECONDS = 1.0
"""How often a consumer whose database is down tries the event it holds again."""
ACK_WAIT = 10.0
"""Seconds JetStream waits for an ack before redelivering (a replica that died mid-handler, an ack lost with
the connection). A handler takes milliseconds; one whose database is down holds its event (`in_progress`)."""


def consumer_tables(metadata: sa.MetaData) -> tuple[sa.Table, sa.Table]:
    """The `processed_events` and `dead_letters` tables, in a consuming service's own schema."""
    processed = sa.Table(
        "processed_events",
        metadata,
        sa.Column("consumer", sa.String(100), primary_key=True),
        sa.Column("event_id", sa.String(100), primary_key=True),
        sa.Column("processed_time", UTCDateTime(), nullable=False),
        extend_existing=True,
    )
    dead = sa.Table(
        "dead_letters",
        metadata,
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
        sa.Column("consumer", sa.String(100), nullable=False),
        sa.Column("event_id", sa.String(100), nullable=False),
        sa.Column("type", sa.String(200), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("stream_seq", sa.BigInteger(), nullable=False),
        sa.Column("deliveries", sa.Integer(), nullable=False),
        sa.Column("headers", sa.Text(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("error", sa.String(1000), nullable=False),
        sa.Column("parked_time", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("consumer", "stream_seq", name="dead_letters_consumer_seq"),
        extend_existing=True,
    )
    return processed, dead


Handler = Callable[[Connection, Event, Any], None]
"""Does an event's effect inside the consumer's transaction: (conn, envelope, decoded message)."""


class RetryLater(Exception):
    """The handler cannot do its work yet (what it needs has not arrived): redeliver later."""


@dataclass(frozen=True)
class DurableConsumer:
    """A durable consumer of one stream, shared by the service's replicas."""

    name: str
    """The durable consumer's name, also the `consumer` in processed_events and dead_letters."""
    handlers: Mapping[type[Message], Handler]
    processed: sa.Table
    dead_letters: sa.Table

    def __post_init__(self) -> None:
        if len({stream_spec(t) for t in self.handlers}) != 1:
            raise ValueError(f"{self.name}: one durable consumer reads one stream")

    @property
    def stream(self) -> StreamSpec:
        return stream_spec(next(iter(self.handlers)))

    @property
    def types(self) -> dict[str, type[Message]]:
        return {subject_of(t): t for t in self.handlers}

    def handle(self, conn: Connection, event: Event, message: Message) -> bool:
        """The effect, once per event id; False when it was processed before."""
        if not insert_if_absent(
            conn, self.processed, {"consumer": self.name, "event_id": event.id, "processed_time": utcnow()}
        ):
            return False
        self.handlers[type(message)](conn, event, message)
        return True


@dataclass(frozen=True)
class Delivery:
    subject: str
    headers: dict[str, str]
    data: bytes
    deliveries: int
    stream_seq: int


@dataclass(frozen=True)
class Outcome:
    ack: bool
    delay: float = 0.0
    hold: bool = False
    """Keep the event (telling JetStream it is in progress) and try again shortly: our database is down."""


class ConsumerWorker:
    """Pulls a durable consumer's events and handles them, on the broker's loop (handlers in a thread)."""

    def __init__(
        self,
        spec: DurableConsumer,
        db: Database,
        broker: Broker,
        metrics: EventMetrics,
        *,
        max_deliver: int,
        retry_seconds: float,
    ) -> None:
        self.spec = spec
        self._db = db
        self._broker = broker
        self._metrics = metrics
        self._max_deliver = max_deliver
        self._retry = retry_seconds
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=spec.name)
        self._tracer = trace.get_tracer("meshkit.events")
        self._types = spec.types

    def start(self) -> None:
        self._broker.spawn(self._run())

    def stop(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _config(self) -> api.ConsumerConfig:
        return api.ConsumerConfig(
            durable_name=self.spec.name,
            name=self.spec.name,
            filter_subjects=sorted(self._types),
            deliver_policy=api.DeliverPolicy.ALL,
            ack_policy=api.AckPolicy.EXPLICIT,
            ack_wait=ACK_WAIT,
            # Parking is ours (after max_deliver, into the dead letters); the server must never stop delivering.
            max_deliver=-1,
            max_ack_pending=1000,
        )

    async def _run(self) -> None:
        stream = self.spec.stream.name
        while True:
            await self._broker.wait_connected()
            try:
                js = self._broker.js
                await js.add_consumer(stream, config=self._config())
                sub = await js.pull_subscribe_bind(durable=self.spec.name, stream=stream)
                last_lag = 0.0
                while self._broker.connected:
                    if time.monotonic() - last_lag > 2.0:
                        last_lag = time.monotonic()
                        await self._record_lag(sub)
                    try:
                        messages = await sub.fetch(batch=32, timeout=1.0)
                    except TimeoutError:
                        continue
                    for msg in messages:
                        await self._deliver(msg)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self._broker.connected:
                    log.warning("consumer %s: %s", self.spec.name, exc or type(exc).__name__)
                await asyncio.sleep(1.0)

    async def _record_lag(self, sub: Any) -> None:
        info = await sub.consumer_info()
        self._metrics.pending.labels(self.spec.name).set(info.num_pending or 0)
        self._metrics.unacked.labels(self.spec.name).set(info.num_ack_pending or 0)

    async def _deliver(self, msg: Any) -> None:
        meta = msg.metadata
        delivery = Delivery(
            subject=msg.subject,
            headers=describe(msg.headers),
            data=bytes(msg.data),
            deliveries=int(meta.num_delivered),
            stream_seq=int(meta.sequence.stream),
        )
        if delivery.deliveries > 1:
            self._metrics.redeliveries.labels(self.spec.name).inc()
        loop = asyncio.get_running_loop()
        outcome = await loop.run_in_executor(self._pool, self.process, delivery)
        while outcome.hold:
            # Not a redelivery: the delivery count (which parks events) must not grow while our database is down.
            await msg.in_progress()
            await asyncio.sleep(HOLD_SECONDS)
            outcome = await loop.run_in_executor(self._pool, self.process, delivery)
        if outcome.ack:
            await msg.ack()
        else:
            await msg.nak(delay=outcome.delay)

    # -- handling (in the worker thread) ---------------------------------------------

    def process(self, delivery: Delivery) -> Outcome:
        try:
            event = Event.from_wire(delivery.headers, delivery.data)
            message = event.decode(self._types)
        except Malformed as exc:
            return self._park(delivery, str(exc), event_type=delivery.headers.get("ce-type", ""))
        if (
            delivery.deliveries > self._max_deliver
        ):  # delivered again and again without an answer: a crash loop
            return self._park(delivery, f"not handled after {delivery.deliveries - 1} deliveries", event.type)
        with self._tracer.start_as_current_span(
            f"process {event.type.rpartition('.')[2]}",
            context=context_of(event.traceparent),
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "nats",
                "messaging.consumer.group.name": self.spec.name,
                "messaging.destination.name": delivery.subject,
                "messaging.message.id": event.id,
                "cloudevents.event_subject": event.subject,
            },
        ) as span:
            started = time.perf_counter()
            try:
                with self._db.transaction() as conn:
                    fresh = self.spec.handle(conn, event, message)
            except Unavailable as exc:  # our database is down: not the event's fault, never parked
                span.set_status(Status(StatusCode.ERROR, "database unavailable"))
                log.warning(
                    "consumer %s: %s; holding %s %s", self.spec.name, exc.message, event.type, event.id
                )
                return Outcome(ack=False, hold=True)
            except Exception as exc:
                span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
                if not isinstance(exc, RetryLater):
                    log.exception("consumer %s failed on %s %s", self.spec.name, event.type, event.id)
                return self._retry_later(delivery, event, f"{type(exc).__name__}: {exc}")
            outcome = "processed" if fresh else "duplicate"
            self._metrics.consumed.labels(self.spec.name, event.type, outcome).inc()
            log.info(
                "%s %s %s",
                self.spec.name,
                outcome,
                event.type,
                extra={
                    FIELDS: {
                        "event": "consume",
                        "consumer": self.spec.name,
                        "ce_id": event.id,
                        "ce_type": event.type,
                        "ce_subject": event.subject,
                        "outcome": outcome,
                        "deliveries": delivery.deliveries,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    }
                },
            )
            return Outcome(ack=True)

    def _retry_later(self, delivery: Delivery, event: Event, error: str) -> Outcome:
        if delivery.deliveries >= self._max_deliver:
            return self._park(delivery, error, event.type)
        self._metrics.consumed.labels(self.spec.name, event.type, "retry").inc()
        delay = min(self._retry * 2 ** (delivery.deliveries - 1), MAX_RETRY_DELAY)
        log.warning(
            "consumer %s: %s %s failed (delivery %d), retrying in %.1fs: %s",
            self.spec.name, event.type, event.id, delivery.deliveries, delay, error,
        )  # fmt: skip
        return Outcome(ack=False, delay=delay)

    def _park(self, delivery: Delivery, error: str, event_type: str) -> Outcome:
        try:
            with self._db.transaction() as conn:
                insert_if_absent(
                    conn,
                    self.spec.dead_letters,
                    {
                        "consumer": self.spec.name,
                        "event_id": delivery.headers.get("ce-id", "")[:100],
                        "type": event_type[:200],
                        "subject": delivery.subject[:200],
                        "stream_seq": delivery.stream_seq,
                        "deliveries": delivery.deliveries,
                        "headers": json.dumps(delivery.headers),
                        "payload": delivery.data,
                        "error": error[:1000],
                        "parked_time": utcnow(),
                    },
                )
        except Exception as exc:  # cannot record it: keep it in the stream
            log.warning("consumer %s could not park a dead letter: %s", self.spec.name, exc)
            return Outcome(ack=False, delay=MAX_RETRY_DELAY)
        self._metrics.dead_letters.labels(self.spec.name).inc()
        self._metrics.consumed.labels(self.spec.name, event_type or "unknown", "parked").inc()
        log.error(
            "consumer %s parked stream message %d (%s) as a dead letter: %s",
            self.spec.name, delivery.stream_seq, event_type or "unreadable", error,
            extra={FIELDS: {"event": "dead_letter", "consumer": self.spec.name,
                            "ce_id": delivery.headers.get("ce-id", ""), "ce_type": event_type}},
        )  # fmt: skip
        return Outcome(ack=True)


# -- dead letters: what an operator lists and replays ------------------------------------------------


@dataclass(frozen=True)
class DeadLetter:
    id: int
    consumer: str
    event_id: str
    type: str
    subject: str
    stream_seq: int
    deliveries: int
    error: str
    parked_time: dt.datetime


def list_dead_letters(db: Database, table: sa.Table) -> list[DeadLetter]:
    with db.snapshot() as conn:
        rows = conn.execute(sa.select(table).order_by(table.c.id)).all()
    return [
        DeadLetter(
            r.id,
            r.consumer,
            r.event_id,
            r.type,
            r.subject,
            r.stream_seq,
            r.deliveries,
            r.error,
            r.parked_time,
        )
        for r in rows
    ]


def replay_dead_letter(db: Database, consumers: Sequence[DurableConsumer], letter_id: int) -> str:
    """Runs a parked event's handler again; on success the dead letter goes (in the same transaction).

    Returns "processed" or "duplicate" (it had been processed meanwhile); raises KeyError for an unknown id
    and the handler's error (or Malformed) when it still fails — the dead letter then stays."""
    by_name = {c.name: c for c in consumers}
    table = consumers[0].dead_letters
    with db.transaction() as conn:
        row = conn.execute(sa.select(table).where(table.c.id == letter_id).with_for_update()).first()
        if row is None:
            raise KeyError(letter_id)
        spec = by_name.get(row.consumer)
        if spec is None:
            raise Malformed(f"no consumer named {row.consumer!r} in this service")
        event = Event.from_wire(json.loads(row.headers), row.payload)
        message = event.decode(spec.types)
        fresh = spec.handle(conn, event, message)
        conn.execute(sa.delete(table).where(table.c.id == letter_id))
    return "processed" if fresh else "duplicate"


def drop_dead_letter(db: Database, table: sa.Table, letter_id: int) -> bool:
    with db.transaction() as conn:
        return bool(conn.execute(sa.delete(table).where(table.c.id == letter_id)).rowcount == 1)


# -- broadcasts: every replica hears every event ----------------------------------------------------------


@dataclass(frozen=True)
class Broadcast:
    """A per-replica subscription: `listener(event, message)` for each event of `types`, `on_reset(live)` when
    events may have been missed: the subscription was lost (`live` False) or is up again (True)."""

    name: str
    types: Sequence[type[Message]]
    listener: Callable[[Event, Any], None]
    on_reset: Callable[[bool], None]


class BroadcastWorker:
    """Subscribes a broadcast on every (re)connect of the broker and resets it on a disconnect; the broker's
    close ends the subscriptions, so there is nothing to start or stop."""

    def __init__(self, spec: Broadcast, broker: Broker, metrics: EventMetrics) -> None:
        self.spec = spec
        self._broker = broker
        self._metrics = metrics
        self._types = {subject_of(t): t for t in spec.types}
        self._subs: list[Any] = []
        broker.on_connect(self._subscribe)
        broker.on_disconnect(self._lost)

    async def _subscribe(self) -> None:
        for sub in self._subs:
            try:
                await sub.unsubscribe()
            except Exception:  # already gone with the old connection
                pass
        self._subs = []
        for subject, message_type in self._types.items():
            self._subs.append(
                await self._broker.js.subscribe(
                    subject,
                    stream=stream_spec(message_type).name,
                    cb=self._on_message,
                    ordered_consumer=True,
                    deliver_policy=api.DeliverPolicy.NEW,
                    inactive_threshold=60.0,
                )
            )
        self._reset(live=True)

    def _lost(self) -> None:
        self._reset(live=False)

    def _reset(self, live: bool) -> None:
        self._metrics.broadcast_resets.labels(self.spec.name).inc()
        try:
            self.spec.on_reset(live)
        except Exception:
            log.exception("broadcast %s: reset failed", self.spec.name)

    async def _on_message(self, msg: Any) -> None:
        try:
            event = Event.from_wire(describe(msg.headers), bytes(msg.data))
            message = event.decode(self._types)
        except Malformed as exc:
            log.warning("broadcast %s: ignoring an unreadable event: %s", self.spec.name, exc)
            return
        self._metrics.broadcast.labels(self.spec.name, event.type).inc()
        try:
            self.spec.listener(event, message)
        except Exception:
            log.exception("broadcast %s: listener failed on %s; resetting", self.spec.name, event.id)
            self._reset(live=True)
