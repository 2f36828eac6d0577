"""The events pipeline's row: outboxes, publishing, consumers, dead letters, the broker link, the catalog cache."""

from __future__ import annotations

from meshctl.dashboard.panels import Row, panel, q
from meshctl.dashboard.promql import SVC, rate

ROW = Row(
    "Events pipeline",
    (
        panel(
            "Outbox backlog",
            "Events committed and not yet acknowledged by JetStream, per service (every replica reads its "
            "service's one outbox).",
            q(f"max by (job) (shopmesh_outbox_backlog_rows{{{SVC}}})", "{{job}}"),
        ),
        panel(
            "Outbox oldest event age",
            "Age of the oldest unpublished event (ShopmeshOutboxBacklogAging over 60 s, Stuck over 15 min).",
            q(f"max by (job) (shopmesh_outbox_oldest_age_seconds{{{SVC}}})", "{{job}}"),
            unit="s",
        ),
        panel(
            "Published events",
            "Events JetStream acknowledged per second by type, and publish attempts that failed.",
            q(f"sum by (type) ({rate('shopmesh_events_published_total')})", "{{type}}"),
            q(f"sum by (job) ({rate('shopmesh_events_publish_errors_total')})", "{{job}} errors"),
            unit="ops",
        ),
        panel(
            "Consumer lag",
            "Events in the stream each durable consumer has not been delivered yet, and those delivered but "
            "not acknowledged (ShopmeshConsumerLagging).",
            q(f"max by (consumer) (shopmesh_events_consumer_pending{{{SVC}}})", "{{consumer}} pending"),
            q(
                f"max by (consumer) (shopmesh_events_consumer_ack_pending{{{SVC}}})",
                "{{consumer}} unacked",
            ),
        ),
        panel(
            "Deliveries by outcome",
            "processed, duplicate (already processed), retry (failed, redelivered later), parked.",
            q(
                f"sum by (consumer, outcome) ({rate('shopmesh_events_consumed_total')})",
                "{{consumer}} {{outcome}}",
            ),
            q(
                f"sum by (consumer) ({rate('shopmesh_events_redeliveries_total')})",
                "{{consumer}} redelivered",
            ),
            unit="ops",
        ),
        panel(
            "Dead letters",
            "Events parked per hour by consumer (ShopmeshDeadLetters; `python -m svc_<name> dead-letters "
            "list` shows them).",
            q(
                f"sum by (consumer) (increase(shopmesh_events_dead_letters_total{{{SVC}}}[1h]))",
                "{{consumer}}",
            ),
        ),
        panel(
            "Broker link",
            "Replicas connected to NATS, of those scraped (ShopmeshBrokerDisconnected).",
            q(f"sum by (job) (shopmesh_events_broker_connected{{{SVC}}})", "{{job}} connected"),
            q(f"count by (job) (shopmesh_events_broker_connected{{{SVC}}})", "{{job}} replicas"),
        ),
        panel(
            "Catalog cache hit ratio",
            "Catalog reads answered from the products replicas' cache, by kind (product, page).",
            q(
                f"sum by (cache) ({rate('shopmesh_cache_hits_total')}) / (sum by (cache) "
                f"({rate('shopmesh_cache_hits_total')}) + sum by (cache) ({rate('shopmesh_cache_misses_total')}))",
                "{{cache}}",
            ),
            unit="percentunit",
            max=1,
        ),
        panel(
            "Catalog cache",
            "Entries by kind, evictions and resets per minute, and replicas whose cache is live "
            "(ShopmeshCatalogCacheNotLive).",
            q(f"sum by (cache) (shopmesh_cache_entries{{{SVC}}})", "{{cache}} entries"),
            q(
                f"60 * sum by (cache) ({rate('shopmesh_cache_evictions_total')})",
                "{{cache}} evictions/min",
            ),
            q(f"60 * sum({rate('shopmesh_cache_resets_total')})", "resets/min"),
            q(f"sum(shopmesh_cache_live{{{SVC}}})", "live replicas"),
        ),
    ),
)
