from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest
from pydantic import ValidationError

from marfiq_shared.events import CloudEvent


def test_envelope_survives_a_round_trip_through_json() -> None:
    event = CloudEvent(
        source="identity-service",
        type="identity.administration.created",
        subject="administration/42",
        data={"code": "MIN", "names": ["وزارة", "Ministère"]},
        correlationid="req-1",
        traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    )

    again = CloudEvent.from_json(event.to_json())

    assert again == event
    wire = orjson.loads(event.to_json())
    assert wire["specversion"] == "1.0"
    assert wire["datacontenttype"] == "application/json"
    assert wire["time"].endswith("Z")
    assert set(wire) >= {"id", "source", "type", "time", "subject", "data", "correlationid"}


def test_absent_optional_attributes_are_left_out_of_the_json() -> None:
    event = CloudEvent(source="s", type="a.b.c", data={})

    assert set(orjson.loads(event.to_json())) == {
        "specversion", "id", "source", "type", "time", "datacontenttype", "data",
    }  # fmt: skip


def test_time_is_stored_in_utc_and_must_carry_a_zone() -> None:
    casablanca = timezone(timedelta(hours=1))
    event = CloudEvent(
        source="s", type="a.b.c", data={}, time=datetime(2025, 3, 1, 10, tzinfo=casablanca)
    )

    assert event.time == datetime(2025, 3, 1, 9, tzinfo=UTC)
    assert event.time.tzinfo is UTC
    with pytest.raises(ValidationError):
        CloudEvent(source="s", type="a.b.c", data={}, time=datetime(2025, 3, 1, 10))


def test_id_must_be_a_uuid() -> None:
    with pytest.raises(ValidationError):
        CloudEvent(id="not-a-uuid", source="s", type="a.b.c", data={})


def test_unknown_extensions_are_kept_when_relayed() -> None:
    raw = CloudEvent(source="s", type="a.b.c", data={}).model_dump(mode="json")
    raw["partnerref"] = "X-12"

    again = CloudEvent.from_json(CloudEvent.from_json(orjson.dumps(raw)).to_json())

    assert again.model_extra == {"partnerref": "X-12"}


def test_envelope_of_another_spec_version_is_refused() -> None:
    raw = orjson.loads(CloudEvent(source="s", type="a.b.c", data={}).to_json())
    raw["specversion"] = "0.3"

    with pytest.raises(ValidationError):
        CloudEvent.from_json(orjson.dumps(raw))
