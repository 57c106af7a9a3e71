"""Fixtures: a throwaway migrated database per test session, and the app in its lifespan.

Without Postgres (TEST_POSTGRES_URL, default 127.0.0.1:5432) the database tests are
skipped, or fail when CI=true.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from complaints_support import FrozenClock, Service, Signer, make_settings, running

from marfiq_complaints.app import MIGRATIONS
from marfiq_complaints.db import SCHEMA, metadata
from marfiq_complaints.settings import ComplaintsSettings
from marfiq_shared.testing import empty_tables, migrated_database


@pytest.fixture(scope="session")
async def database_url() -> AsyncIterator[str]:
    """A fresh database for this test session, migrated to head, dropped afterwards."""
    async with migrated_database(MIGRATIONS, prefix="complaints_test") as url:
        yield url


@pytest.fixture(scope="session")
def signer() -> Signer:
    return Signer()


@pytest.fixture
async def clean(database_url: str) -> None:
    """Every complaints table emptied: each test starts from a freshly migrated state."""
    await empty_tables(database_url, SCHEMA, metadata)


@pytest.fixture
def settings(database_url: str, clean: None, tmp_path: Path) -> ComplaintsSettings:
    return make_settings(database_url, tmp_path / "attachments")


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
async def service(
    settings: ComplaintsSettings, clock: FrozenClock, signer: Signer
) -> AsyncIterator[Service]:
    async with running(settings, clock=clock, signer=signer) as started:
        started.administrations = [
            await started.administration("MIN-A"),
            await started.administration("MIN-B"),
        ]
        yield started
