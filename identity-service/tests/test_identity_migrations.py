"""The migration history builds exactly the tables the models describe (`alembic check`)."""

from __future__ import annotations

import asyncpg
import pytest

from marfiq_identity import models
from marfiq_identity.db import SCHEMA
from marfiq_shared.testing import schema_drift


async def test_models_and_migrations_agree(database_url: str) -> None:
    assert await schema_drift(database_url, models.metadata, SCHEMA) == []


@pytest.mark.parametrize(
    ("table", "column", "refused"),
    [
        ("accounts", "kind", "robot"),
        ("accounts", "language", "de"),
        ("otp_challenges", "channel", "fax"),
        ("otp_challenges", "purpose", "anything"),
    ],
)
async def test_the_closed_lists_still_refuse_other_values(
    database_url: str, table: str, column: str, refused: str
) -> None:
    # Since 0010 these lists are the columns' domains, not table CHECKs: a value of the
    # column's type outside its list is still refused by the database.
    connection = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        column_type = await connection.fetchval(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = $1::regclass AND attname = $2",
            f"{SCHEMA}.{table}",
            column,
        )
        with pytest.raises(asyncpg.CheckViolationError):
            await connection.fetchval(f"SELECT CAST($1::text AS {column_type})", refused)
    finally:
        await connection.close()
