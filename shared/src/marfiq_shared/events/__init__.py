"""The event backbone: catalogue, outbox, relay, transports, inbox-deduplicated consumers.

Business code needs only `add_event(session, data)` and the catalogue's classes; a
service's `app.py` builds an `EventRuntime` and starts and stops it in its lifespan.
"""

from marfiq_shared.events.catalogue import (
    EVENT_TYPES,
    AdministrationCreated,
    AdministrationSnapshot,
    AdministrationUpdated,
    EventData,
    UnknownEventType,
    data_model,
    parse_data,
    render_markdown,
)
from marfiq_shared.events.consumer import Consumer, Handler
from marfiq_shared.events.envelope import CloudEvent, current_correlation_id
from marfiq_shared.events.inbox import claim_events, inbox_table, prune_inbox
from marfiq_shared.events.inprocess import InProcessTransport
from marfiq_shared.events.outbox import (
    OutboxBacklog,
    add_event,
    on_outbox_commit,
    outbox_backlog,
    outbox_table,
    prune_outbox,
)
from marfiq_shared.events.rabbitmq import RabbitMQTransport, dlq_name, retry_name
from marfiq_shared.events.relay import OutboxRelay
from marfiq_shared.events.runtime import EventRuntime, make_transport
from marfiq_shared.events.transport import (
    BatchHandler,
    DeadLetter,
    Delivery,
    DeliveryHandler,
    OutgoingEvent,
    PoisonMessage,
    PublishFailed,
    Subscription,
    Transport,
    UnknownQueue,
    topic_matches,
)

__all__ = [
    "EVENT_TYPES",
    "AdministrationCreated",
    "AdministrationSnapshot",
    "AdministrationUpdated",
    "BatchHandler",
    "CloudEvent",
    "Consumer",
    "DeadLetter",
    "Delivery",
    "DeliveryHandler",
    "EventData",
    "EventRuntime",
    "Handler",
    "InProcessTransport",
    "OutboxBacklog",
    "OutboxRelay",
    "OutgoingEvent",
    "PoisonMessage",
    "PublishFailed",
    "RabbitMQTransport",
    "Subscription",
    "Transport",
    "UnknownEventType",
    "UnknownQueue",
    "add_event",
    "claim_events",
    "current_correlation_id",
    "data_model",
    "dlq_name",
    "inbox_table",
    "make_transport",
    "on_outbox_commit",
    "outbox_backlog",
    "outbox_table",
    "parse_data",
    "prune_inbox",
    "prune_outbox",
    "render_markdown",
    "retry_name",
    "topic_matches",
]
