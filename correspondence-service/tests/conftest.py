"""Fixtures: a throwaway migrated database per test session, and the app in its lifespan.

Without Postgres (TEST_POSTGRES_URL, default 127.0.0.1:5432) the database tests are
skipped, or fail when CI=true.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from correspondence_support import Clock, Service, Signer, make_settings, running

from marfiq_correspondence.app import MIGRATIONS
from marfiq_correspondence.db import SCHEMA, metadata
from marfiq_correspondence.settings import CorrespondenceSettings
from marfiq_shared.testing import empty_tables, migrated_database


@pytest.fixture(scope="session")
async def database_url() -> AsyncIterator[str]:
    """A fresh database for this test session, migrated to head, dropped afterwards."""
    async with migrated_database(MIGRATIONS, prefix="correspondence_test") as url:
        yield url


@pytest.fixture(scope="session")
def signer() -> Signer:
    return Signer()


@pytest.fixture(scope="session")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One platform authority for the session, as one deployment has."""
    return tmp_path_factory.mktemp("pki")


@pytest.fixture
async def clean(database_url: str) -> None:
    """Every table emptied: each test starts from a freshly migrated state."""
    await empty_tables(database_url, SCHEMA, metadata)


@pytest.fixture
def settings(
    database_url: str, clean: None, tmp_path: Path, pki_dir: Path
) -> CorrespondenceSettings:
    return make_settings(database_url, tmp_path, pki_dir)


@pytest.fixture
async def service(settings: CorrespondenceSettings, signer: Signer) -> AsyncIterator[Service]:
    async with running(settings, signer=signer, clock=Clock()) as started:
        started.administrations = [
            await started.administration("MEF"),
            await started.administration("MJ"),
            await started.administration("MSP"),
        ]
        yield started
