"""Alembic, one history per service, each in its own schema with its own version table."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, pool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from marfiq_shared.db import async_url


def alembic_config(migrations_dir: Path, database_url: str) -> Config:
    """An Alembic config for one service's `migrations/` folder (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("sqlalchemy.url", async_url(database_url).replace("%", "%%"))
    config.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s")
    return config


def upgrade(migrations_dir: Path, database_url: str, revision: str = "head") -> None:
    """Apply a service's migrations (blocking; call from a thread inside an event loop)."""
    command.upgrade(alembic_config(migrations_dir, database_url), revision)


async def upgrade_async(migrations_dir: Path, database_url: str) -> None:
    await asyncio.to_thread(upgrade, migrations_dir, database_url)


def run_env(metadata: MetaData, schema: str) -> None:
    """Body of every service's `migrations/env.py`."""

    def do_run(connection: Connection) -> None:
        # A migration waiting on a lock must fail fast instead of queueing live traffic.
        connection.execute(text("SET lock_timeout = '5s'"))
        connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        connection.commit()
        context.configure(
            connection=connection,
            target_metadata=metadata,
            version_table_schema=schema,
            # Tables live in the service's schema: compare that schema, and only that one,
            # so `alembic check` neither misses them nor reports other services' tables.
            include_schemas=True,
            include_name=lambda name, type_, _parent: type_ != "schema" or name == schema,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def run_async() -> None:
        url = context.config.get_main_option("sqlalchemy.url")
        assert url is not None
        engine = create_async_engine(url, poolclass=pool.NullPool)
        async with engine.connect() as connection:
            await connection.run_sync(do_run)
        await engine.dispose()

    connection = context.config.attributes.get("connection")
    if connection is not None:
        do_run(connection)
    else:
        asyncio.run(run_async())
