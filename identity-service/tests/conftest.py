"""Fixtures: a throwaway migrated database per test session, and the app in its lifespan.

Without Postgres on 127.0.0.1:5432 the run is skipped, or fails when CI=true.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from identity_support import ADMIN_DSN, Identity, admin_connection, make_settings, started

from marfiq_identity.app import MIGRATIONS
from marfiq_identity.db import SCHEMA, metadata
from marfiq_identity.settings import IdentitySettings
from marfiq_shared.migrations import upgrade


@pytest.fixture(scope="session")
async def database_url() -> AsyncIterator[str]:
    """A fresh database for this test session, migrated to head, dropped afterwards."""
    name = f"identity_test_{uuid.uuid4().hex[:12]}"
    connection = await admin_connection()
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    url = ADMIN_DSN.rsplit("/", 1)[0] + f"/{name}"
    try:
        await asyncio.to_thread(upgrade, MIGRATIONS, url)
        yield url
    finally:
        connection = await admin_connection()
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()


@pytest.fixture
async def clean(database_url: str) -> None:
    """Every identity table emptied: each test starts from a freshly migrated state."""
    tables = ", ".join(f'"{SCHEMA}"."{table.name}"' for table in metadata.sorted_tables)
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute(f"TRUNCATE {tables} CASCADE")
    finally:
        await connection.close()


@pytest.fixture
def settings(database_url: str, clean: None) -> IdentitySettings:
    return make_settings(database_url)


@pytest.fixture
async def identity(settings: IdentitySettings) -> AsyncIterator[Identity]:
    async with started(settings) as running_identity:
        yield running_identity
