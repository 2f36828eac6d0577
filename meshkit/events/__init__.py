"""The asynchronous half of the mesh: events through NATS JetStream (see envelope, outbox, consumer).

A service declares what it publishes (an `Outbox`) and what it consumes (`DurableConsumer`s, `Broadcast`s);
`EventRuntime` builds the rest for one replica — the broker connection, the relay, the consumer workers —
and `meshkit.server.ServiceServer` starts and stops it with the gRPC server.
"""

from __future__ import annotations

from collections.abc import Sequence

from meshkit.db import Database
from meshkit.events.broker import Broker
from meshkit.events.consumer import (
    Broadcast,
    BroadcastWorker,
    ConsumerWorker,
    DurableConsumer,
    RetryLater,
    consumer_tables,
)
from meshkit.events.envelope import Event, Malformed, StreamSpec, stream_of, stream_spec, subject_of
from meshkit.events.metrics import EventMetrics
from meshkit.events.outbox import Outbox, Relay, create_outbox, outbox_table
from meshkit.settings import EventSettings


class EventRuntime:
    """One replica's broker connection, outbox relay and consumers. Without a broker URL only the outbox
    works (events wait in it): nothing connects, nothing is consumed."""

    def __init__(
        self,
        settings: EventSettings,
        replica: str,
        db: Database,
        metrics: EventMetrics,
        *,
        outbox: Outbox | None = None,
        consumers: Sequence[DurableConsumer] = (),
        broadcasts: Sequence[Broadcast] = (),
    ) -> None:
        self.broker: Broker | None = None
        self.relay: Relay | None = None
        self.workers: list[ConsumerWorker] = []
        if not settings.nats_url:
            return
        streams: list[StreamSpec] = [
            *(outbox.streams if outbox else []),
            *(c.stream for c in consumers),
            *(stream_spec(t) for b in broadcasts for t in b.types),
        ]
        self.broker = broker = Broker(
            settings.nats_url,
            replica,
            list(dict.fromkeys(streams)),
            metrics,
            stream_replicas=settings.stream_replicas,
        )
        for spec in broadcasts:
            BroadcastWorker(
                spec, broker, metrics
            )  # lives in the broker's (re)connect and disconnect callbacks
        if outbox is not None:
            self.relay = Relay(db, outbox, broker, metrics)
        self.workers = [
            ConsumerWorker(
                spec,
                db,
                broker,
                metrics,
                max_deliver=settings.max_deliver,
                retry_seconds=settings.retry_seconds,
            )
            for spec in consumers
        ]

    def start(self) -> None:
        if self.broker is None:
            return
        self.broker.start()
        if self.relay is not None:
            self.relay.start()
        for worker in self.workers:
            worker.start()

    def stop(self) -> None:
        if self.broker is None:
            return
        if self.relay is not None:
            self.relay.stop()  # its last round publishes what the final calls wrote
        self.broker.stop()
        for worker in self.workers:
            worker.stop()


__all__ = [
    "Broadcast",
    "DurableConsumer",
    "Event",
    "EventMetrics",
    "EventRuntime",
    "Malformed",
    "Outbox",
    "RetryLater",
    "consumer_tables",
    "create_outbox",
    "outbox_table",
    "stream_of",
    "subject_of",
]
