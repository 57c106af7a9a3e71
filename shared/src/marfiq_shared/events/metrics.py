"""Prometheus series of the event backbone (served by each process's /metrics)."""

from prometheus_client import Counter, Gauge

OUTBOX_BACKLOG = Gauge(
    "marfiq_outbox_backlog", "Outbox rows not yet published to the broker.", ["source"]
)
OUTBOX_OLDEST_AGE = Gauge(
    "marfiq_outbox_oldest_age_seconds",
    "Age of the oldest unpublished outbox row (0 when the outbox is drained).",
    ["source"],
)
EVENTS_PUBLISHED = Counter(
    "marfiq_events_published", "Events confirmed by the broker and marked sent.", ["source"]
)
PUBLISH_ERRORS = Counter(
    "marfiq_outbox_publish_errors",
    "Relay batches that failed to publish (the rows stay and are retried).",
    ["source"],
)
EVENTS_CONSUMED = Counter(
    "marfiq_events_consumed", "Events whose handler committed.", ["queue", "type"]
)
EVENTS_DUPLICATE = Counter(
    "marfiq_events_duplicate",
    "Deliveries skipped because the inbox already held their id.",
    ["queue", "type"],
)
EVENTS_FAILED = Counter(
    "marfiq_events_failed", "Handler attempts that raised (each retry counts).", ["queue", "type"]
)
EVENTS_DEAD_LETTERED = Counter(
    "marfiq_events_dead_lettered", "Messages moved to a dead-letter queue.", ["queue"]
)
