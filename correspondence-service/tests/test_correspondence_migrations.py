"""The migration history builds exactly the tables the models describe (`alembic check`)."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from marfiq_correspondence import models
from marfiq_correspondence.db import SCHEMA
from marfiq_shared.db import async_url


def _only_correspondence(name: str | None, type_: str, parent_names: dict[str, Any]) -> bool:
    if type_ == "schema":
        return name == SCHEMA
    return not (type_ == "table" and name == "alembic_version")


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection,
        opts={
            "version_table_schema": SCHEMA,
            "include_schemas": True,
            "include_name": _only_correspondence,
            "compare_type": True,
        },
    )
    return list(compare_metadata(context, models.metadata))


async def test_models_and_migrations_agree(database_url: str) -> None:
    engine = create_async_engine(async_url(database_url))
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(_differences)
    finally:
        await engine.dispose()

    assert differences == []
