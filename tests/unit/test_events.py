"""meshkit.events without a broker: the envelope, naming, after-commit hooks, and what a consumer decides."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from shopmesh.order.v1 import events_pb2 as order_events
from shopmesh.order.v1 import order_service_pb2 as order_pb
from shopmesh.user.v1 import events_pb2 as user_events

from meshkit.db import Database, after_commit, open_database
from meshkit.errors import Unavailable
from meshkit.events import DurableConsumer, Event, EventMetrics, Malformed, RetryLater, consumer_tables
from meshkit.events.consumer import ConsumerWorker, Delivery, list_dead_letters, replay_dead_letter
from meshkit.events.envelope import stream_of, stream_spec, subject_of

NOW = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)


def _event(message: Any, resource: str = "orders/o1", event_id: str = "e1") -> Event:
    return Event(
        event_id, subject_of(message), "//tests.shopmesh.dev", resource, NOW, message.SerializeToString()
    )


def test_names_are_derived_from_the_message() -> None:
    assert subject_of(order_events.OrderConfirmed) == "shopmesh.order.v1.OrderConfirmed"
    assert stream_of(order_events.OrderConfirmed) == "SHOPMESH_ORDER_V1"
    assert stream_spec(order_events.OrderFailed).subjects == ("shopmesh.order.v1.>",)
    assert stream_spec(user_events.UserCreated).max_age_seconds == 0  # accounts are kept for ever
    assert stream_spec(order_events.OrderFailed).max_age_seconds == 7 * 24 * 3600


def test_the_envelope_is_the_cloudevents_nats_binding_and_reads_back() -> None:
    message = order_events.OrderConfirmed(order=order_pb.Order(name="orders/o1", user="users/u1"))
    event = Event("e1", subject_of(message), "//orders.shopmesh.dev", "orders/o1", NOW, message.SerializeToString(),
                  "00-" + "a" * 32 + "-" + "b" * 16 + "-01")  # fmt: skip
    headers = event.headers()
    assert headers == {
        "ce-specversion": "1.0",
        "ce-id": "e1",
        "ce-type": "shopmesh.order.v1.OrderConfirmed",
        "ce-source": "//orders.shopmesh.dev",
        "ce-subject": "orders/o1",
        "ce-time": "2026-12-03T12:00:00Z",
        "content-type": "application/protobuf",
        "Nats-Msg-Id": "e1",
        "traceparent": event.traceparent,
    }
    back = Event.from_wire(headers, event.data)
    assert back == event
    assert back.decode({subject_of(message): order_events.OrderConfirmed}) == message


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"ce-id": None}, "missing ce-id"),
        ({"ce-specversion": "0.3"}, "unsupported ce-specversion"),
        ({"content-type": "application/json"}, "unsupported content-type"),
        ({"ce-time": "yesterday"}, "not an RFC 3339 time"),
    ],
)
def test_a_malformed_envelope_is_refused_with_the_reason(change: dict[str, str | None], error: str) -> None:
    headers = {**_event(order_events.OrderConfirmed()).headers(), **change}
    with pytest.raises(Malformed, match=error):
        Event.from_wire({k: v for k, v in headers.items() if v is not None}, b"")


def test_an_unknown_type_or_a_body_that_does_not_parse_is_malformed() -> None:
    types = {"shopmesh.order.v1.OrderConfirmed": order_events.OrderConfirmed}
    with pytest.raises(Malformed, match="unknown event type"):
        _event(user_events.UserCreated()).decode(types)
    garbage = Event("e", "shopmesh.order.v1.OrderConfirmed", "s", "", NOW, b"\xff\xfe\x00")
    with pytest.raises(Malformed, match="body is not"):
        garbage.decode(types)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    metadata = sa.MetaData()
    consumer_tables(metadata)
    sa.Table("effects", metadata, sa.Column("event_id", sa.String(100), primary_key=True))
    database = open_database(f"sqlite:///{tmp_path / 'c.sqlite3'}", metadata, [], "test")
    yield database
    database.dispose()


def test_after_commit_callbacks_run_once_after_a_commit_and_never_after_a_rollback(db: Database) -> None:
    ran: list[str] = []

    def note() -> None:
        ran.append("committed")

    with db.transaction() as conn:
        after_commit(conn, note)
        after_commit(conn, note)
        assert ran == []
    assert ran == ["committed"]
    with pytest.raises(RuntimeError), db.transaction() as conn:
        after_commit(conn, note)
        raise RuntimeError("rolled back")
    with db.transaction():
        pass
    assert ran == ["committed"]


class Handler:
    """An effect in the consumer's database that fails as told."""

    def __init__(self) -> None:
        self.fail: BaseException | None = None
        self.calls = 0

    def __call__(self, conn: sa.Connection, event: Event, message: Any) -> None:
        self.calls += 1
        if self.fail is not None:
            raise self.fail
        conn.execute(sa.text("INSERT INTO effects (event_id) VALUES (:e)"), {"e": event.id})


def _worker(db: Database, handler: Handler, max_deliver: int = 3) -> ConsumerWorker:
    metadata = sa.MetaData()
    processed, dead = consumer_tables(metadata)
    spec = DurableConsumer("test-orders", {order_events.OrderConfirmed: handler}, processed, dead)
    return ConsumerWorker(
        spec, db, broker=None, metrics=EventMetrics(), max_deliver=max_deliver, retry_seconds=0.5
    )  # type: ignore[arg-type]


def _delivery(event: Event, deliveries: int = 1, seq: int = 1) -> Delivery:
    return Delivery(event.type, event.headers(), event.data, deliveries, seq)


def _effects(db: Database) -> list[str]:
    with db.snapshot() as conn:
        return list(conn.execute(sa.text("SELECT event_id FROM effects")).scalars())


def test_an_event_is_handled_once_however_often_it_is_delivered(db: Database) -> None:
    handler = Handler()
    worker = _worker(db, handler)
    event = _event(order_events.OrderConfirmed(order=order_pb.Order(name="orders/o1")))
    assert worker.process(_delivery(event)).ack
    assert worker.process(_delivery(event, deliveries=2)).ack  # the ack was lost: a redelivery
    assert _effects(db) == ["e1"] and handler.calls == 1


def test_a_failing_handler_is_retried_with_a_doubling_delay_then_parked_and_replayed(db: Database) -> None:
    handler = Handler()
    handler.fail = RetryLater("users/u1 is not known yet")
    worker = _worker(db, handler, max_deliver=3)
    event = _event(order_events.OrderConfirmed())
    outcomes = [worker.process(_delivery(event, deliveries=n)) for n in (1, 2, 3)]
    assert [(o.ack, o.delay) for o in outcomes] == [(False, 0.5), (False, 1.0), (True, 0.0)]
    [letter] = list_dead_letters(db, worker.spec.dead_letters)
    assert (letter.event_id, letter.deliveries, letter.consumer) == ("e1", 3, "test-orders")
    assert "is not known yet" in letter.error and _effects(db) == []
    with pytest.raises(RetryLater):
        replay_dead_letter(db, [worker.spec], letter.id)  # still failing: it stays
    assert len(list_dead_letters(db, worker.spec.dead_letters)) == 1
    handler.fail = None
    assert replay_dead_letter(db, [worker.spec], letter.id) == "processed"
    assert list_dead_letters(db, worker.spec.dead_letters) == [] and _effects(db) == ["e1"]


def test_an_outage_of_the_consumers_database_is_never_parked(db: Database) -> None:
    handler = Handler()
    handler.fail = Unavailable("the database is unavailable; retry shortly", reason="DATABASE_UNAVAILABLE")
    worker = _worker(db, handler, max_deliver=2)
    outcome = worker.process(_delivery(_event(order_events.OrderConfirmed()), deliveries=2))
    # Held, not redelivered: the delivery count that parks events does not grow while the database is down.
    assert outcome.hold and not outcome.ack and list_dead_letters(db, worker.spec.dead_letters) == []


def test_an_unreadable_event_is_parked_at_once_and_one_delivered_too_often_without_an_answer_too(
    db: Database,
) -> None:
    handler = Handler()
    worker = _worker(db, handler)
    good = _event(order_events.OrderConfirmed(), event_id="e2")
    assert worker.process(Delivery("shopmesh.order.v1.OrderConfirmed", {}, b"hi", 1, 7)).ack
    assert worker.process(_delivery(good, deliveries=4, seq=8)).ack  # a crash loop: it never came back
    letters = list_dead_letters(db, worker.spec.dead_letters)
    assert [(x.stream_seq, x.type) for x in letters] == [(7, ""), (8, "shopmesh.order.v1.OrderConfirmed")]
    assert "not a CloudEvent" in letters[0].error and "after 3 deliveries" in letters[1].error
    assert handler.calls == 0
    with db.snapshot() as conn:
        stored = conn.execute(sa.text("SELECT headers FROM dead_letters WHERE stream_seq = 8")).scalar_one()
    assert json.loads(stored)["ce-id"] == "e2"  # replayable: the whole envelope is kept
