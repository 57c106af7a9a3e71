"""The outbox rows `add_events` writes in bulk carry the envelope the shared model would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from uuid import uuid4

import pytest

from marfiq_pensions.affiliates.events import contact_registered
from marfiq_pensions.events import envelope_json
from marfiq_shared.events.envelope import CloudEvent


@pytest.mark.parametrize(
    ("subject", "correlation_id", "traceparent"),
    [
        ("100000001", None, None),
        (None, None, None),
        ("100000002", "corr-1", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
    ],
)
def test_the_bulk_envelope_is_the_models_to_the_byte(
    subject: str | None, correlation_id: str | None, traceparent: str | None
) -> None:
    data = contact_registered(cin="BE123456", phone="+212612345678")
    event_id = str(uuid4())
    time = datetime(2025, 11, 10, 10, 0, 0, 123456, tzinfo=timezone(timedelta(hours=1)))
    model = CloudEvent(
        id=event_id,
        source="marfiq.pensions",
        type=data.type,
        time=time,
        subject=subject,
        data=data.model_dump(mode="json"),
        correlationid=correlation_id,
        traceparent=traceparent,
    )
    fast = envelope_json(
        data,
        event_id=event_id,
        source="marfiq.pensions",
        subject=subject,
        time=time.astimezone(UTC),
        correlation_id=correlation_id,
        traceparent=traceparent,
    )
    assert fast == model.to_json()
    assert CloudEvent.from_json(fast) == model
