"""The event figures of one replica, on its /metrics (the same registry as its RPC metrics)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class EventMetrics:
    """Outbox backlog and publishing; consumers' work, lag, redeliveries and dead letters; the broker link."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        registry = registry or CollectorRegistry()
        self.broker_connected = Gauge(
            "shopmesh_events_broker_connected",
            "1 while the replica is connected to the NATS broker",
            registry=registry,
        )
        self.outbox_rows = Gauge(
            "shopmesh_outbox_backlog_rows",
            "Events committed but not yet acknowledged by JetStream",
            registry=registry,
        )
        self.outbox_age = Gauge(
            "shopmesh_outbox_oldest_age_seconds",
            "Age of the oldest event waiting in the outbox (0 when it is empty)",
            registry=registry,
        )
        self.published = Counter(
            "shopmesh_events_published",
            "Events this replica published and JetStream acknowledged, by type",
            ["type"],
            registry=registry,
        )
        self.publish_errors = Counter(
            "shopmesh_events_publish_errors",
            "Publish attempts that got no acknowledgement (the event stays in the outbox)",
            registry=registry,
        )
        self.consumed = Counter(
            "shopmesh_events_consumed",
            "Deliveries handled by a consumer, by outcome: processed, duplicate (already processed), "
            "retry (failed, redelivered later), parked (dead letter)",
            ["consumer", "type", "outcome"],
            registry=registry,
        )
        self.redeliveries = Counter(
            "shopmesh_events_redeliveries",
            "Deliveries of an event that had been delivered before",
            ["consumer"],
            registry=registry,
        )
        self.dead_letters = Counter(
            "shopmesh_events_dead_letters",
            "Events parked as dead letters (python -m svc_<name> dead-letters list)",
            ["consumer"],
            registry=registry,
        )
        self.pending = Gauge(
            "shopmesh_events_consumer_pending",
            "Consumer lag: events in the stream the durable consumer has not been delivered yet",
            ["consumer"],
            registry=registry,
        )
        self.unacked = Gauge(
            "shopmesh_events_consumer_ack_pending",
            "Events delivered to the durable consumer and not acknowledged yet",
            ["consumer"],
            registry=registry,
        )
        self.broadcast = Counter(
            "shopmesh_events_broadcast_received",
            "Events received by a per-replica subscription (every replica hears each one), by type",
            ["subscription", "type"],
            registry=registry,
        )
        self.broadcast_resets = Counter(
            "shopmesh_events_broadcast_resets",
            "Times a per-replica subscription was lost or re-established (its listeners were told to reset)",
            ["subscription"],
            registry=registry,
        )
