import re
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest
from pydantic import ValidationError

from marfiq_shared.events import (
    EVENT_TYPES,
    AdministrationCreated,
    AdministrationUpdated,
    EventData,
    UnknownEventType,
    parse_data,
    render_markdown,
)

DOCS = Path(__file__).resolve().parents[3] / "docs" / "events.md"


@pytest.fixture
def scratch_catalogue() -> Iterator[None]:
    """Event classes defined by a test leave the catalogue as they found it."""
    before = dict(EVENT_TYPES)
    yield
    EVENT_TYPES.clear()
    EVENT_TYPES.update(before)


def administration(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "id": str(uuid4()),
        "code": "MIN-SANTE",
        "name_ar": "وزارة الصحة",
        "name_fr": "Ministère de la Santé",
        "kind": "ministry",
        "parent_id": None,
        "active": True,
        "version": 3,
        "occurred_at": "2025-01-01T09:00:00Z",
    }
    return data | changes


def test_identity_administration_events_are_in_the_catalogue() -> None:
    assert EVENT_TYPES["identity.administration.created"] is AdministrationCreated
    assert EVENT_TYPES["identity.administration.updated"] is AdministrationUpdated


def test_data_is_validated_against_the_model_of_its_type() -> None:
    data = parse_data("identity.administration.updated", administration())

    assert isinstance(data, AdministrationUpdated)
    assert data.version == 3
    with pytest.raises(ValidationError):
        parse_data("identity.administration.updated", administration(version=0))
    without_code = administration()
    del without_code["code"]
    with pytest.raises(ValidationError):
        parse_data("identity.administration.created", without_code)


def test_fields_a_newer_producer_added_are_ignored() -> None:
    data = parse_data("identity.administration.created", administration(website="x.ma"))

    assert "website" not in data.model_dump()


def test_unknown_type_is_refused() -> None:
    with pytest.raises(UnknownEventType):
        parse_data("identity.administration.exploded", administration())


@pytest.mark.usefixtures("scratch_catalogue")
def test_subclass_with_a_type_is_registered_and_a_shared_base_is_not() -> None:
    class ParcelBase(EventData):
        parcel_id: str

    class ParcelShipped(ParcelBase):
        """A parcel left."""

        type = "post.parcel.shipped"

    assert EVENT_TYPES["post.parcel.shipped"] is ParcelShipped
    assert ParcelBase not in EVENT_TYPES.values()
    assert "post.parcel.shipped" in render_markdown()


@pytest.mark.usefixtures("scratch_catalogue")
def test_a_type_name_is_taken_once_and_must_follow_the_convention() -> None:
    with pytest.raises(ValueError, match="already"):

        class Impostor(EventData):
            type = "identity.administration.created"

    with pytest.raises(ValueError, match=re.escape("<service>.<aggregate>.<verb>")):

        class Shouting(EventData):
            type = "Identity.AdministrationCreated"


def test_generated_catalogue_page_is_up_to_date() -> None:
    assert DOCS.read_text(encoding="utf-8") == render_markdown(), (
        "docs/events.md is stale: run `python -m marfiq_shared.events > docs/events.md`"
    )
