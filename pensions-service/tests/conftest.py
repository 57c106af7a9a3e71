"""Fixtures: a throwaway migrated database per test session, and the app in its lifespan.

Without Postgres (TEST_POSTGRES_URL, default 127.0.0.1:5432) the database tests are
skipped, or fail when CI=true.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pensions_support import FrozenClock, Service, Signer, make_settings, running

from marfiq_pensions.app import MIGRATIONS
from marfiq_pensions.db import SCHEMA, metadata
from marfiq_pensions.settings import PensionsSettings
from marfiq_shared.testing import empty_tables, migrated_database


@pytest.fixture(scope="session")
async def database_url() -> AsyncIterator[str]:
    """A fresh database for this test session, migrated to head, dropped afterwards."""
    async with migrated_database(MIGRATIONS, prefix="pensions_test") as url:
        yield url


@pytest.fixture(scope="session")
def signer() -> Signer:
    return Signer()


@pytest.fixture
async def clean(database_url: str) -> None:
    """Every pensions table emptied: each test starts from a freshly migrated state."""
    await empty_tables(database_url, SCHEMA, metadata)


@pytest.fixture(scope="session")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One platform authority for the session (creating one per test would be slow)."""
    return tmp_path_factory.mktemp("pki")


@pytest.fixture
def settings(database_url: str, clean: None, pki_dir: Path) -> PensionsSettings:
    return make_settings(database_url, pki_dir=pki_dir)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
async def service(
    settings: PensionsSettings, clock: FrozenClock, signer: Signer
) -> AsyncIterator[Service]:
    async with running(settings, clock=clock, signer=signer) as started:
        started.employers = [await started.employer("MEN"), await started.employer("MS")]
        yield started
