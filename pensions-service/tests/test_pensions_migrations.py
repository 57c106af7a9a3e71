"""The migration history builds exactly the tables the models describe (`alembic check`)."""

from __future__ import annotations

from marfiq_pensions import models
from marfiq_pensions.db import SCHEMA
from marfiq_shared.testing import schema_drift


async def test_models_and_migrations_agree(database_url: str) -> None:
    assert await schema_drift(database_url, models.metadata, SCHEMA) == []
