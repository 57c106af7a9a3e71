"""Test helpers every service's suite can reuse: throwaway databases, service checks, a
TCP proxy that cuts a connection on demand, a local S3-compatible server, and the check that
a service's migrations build the tables its models describe.

Tests run against real Postgres and RabbitMQ. When one is missing, a developer's run skips
with one line saying so; a CI run (CI=true) fails instead, so nothing passes by not running.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

import asyncpg  # type: ignore[import-untyped]
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, MetaData
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from marfiq_shared.db import async_url
from marfiq_shared.migrations import upgrade


def free_port() -> int:
    """A loopback port nothing listens on (free when asked: a server to start, or a
    service out of reach)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def local_s3_server() -> Iterator[str]:
    """A real S3 HTTP server on 127.0.0.1 (moto's, a dev dependency) for the time of the
    block; yields its endpoint URL. Credentials: any AWS_ACCESS_KEY_ID / SECRET pair."""
    from moto.server import ThreadedMotoServer  # type: ignore[import-untyped]

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def postgres_admin_url() -> str:
    """A URL to a database this suite may create databases from (env TEST_POSTGRES_URL)."""
    return os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def amqp_test_url() -> str:
    """The broker the suite uses (env TEST_AMQP_URL)."""
    return os.environ.get("TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


def missing_dependency(message: str) -> NoReturn:
    """A test cannot run without something this machine lacks: fail in CI, skip elsewhere.

    The one place that decides it, so that nothing passes in CI by not running.
    """
    import pytest  # only test runs import this module; keep the library free of pytest

    if os.environ.get("CI", "").lower() in ("true", "1"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def require_service(host: str, port: int, name: str) -> None:
    """Skip the test when nothing answers on host:port, or fail when running in CI."""
    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError as error:
        missing_dependency(f"{name} is not reachable at {host}:{port} ({error})")


def require_url(url: str, name: str) -> None:
    """`require_service` for the host and port of a URL (postgresql:// or amqp://)."""
    parsed = urlsplit(url)
    default_port = 5672 if parsed.scheme.startswith("amqp") else 5432
    require_service(parsed.hostname or "127.0.0.1", parsed.port or default_port, name)


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def create_database(admin_url: str, prefix: str = "marfiq_test") -> str:
    """Create a database with a random name; returns its URL (same server and user)."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    connection = await asyncpg.connect(_asyncpg_dsn(admin_url))
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


@asynccontextmanager
async def migrated_database(migrations: Path, prefix: str) -> AsyncIterator[str]:
    """A throwaway database migrated to head, dropped afterwards; its URL.

    Without Postgres (TEST_POSTGRES_URL) the tests using it skip, or fail when CI=true.
    """
    admin = postgres_admin_url()
    require_url(admin, "Postgres")
    url = await create_database(admin, prefix=prefix)
    try:
        await asyncio.to_thread(upgrade, migrations, url)
        yield url
    finally:
        await drop_database(admin, url)


async def empty_tables(database_url: str, schema: str, metadata: MetaData) -> None:
    """Every table of a service's schema emptied, so a test starts from a migrated state."""
    tables = ", ".join(f'"{schema}"."{table.name}"' for table in metadata.sorted_tables)
    connection = await asyncpg.connect(_asyncpg_dsn(database_url))
    try:
        await connection.execute(f"TRUNCATE {tables} CASCADE")
    finally:
        await connection.close()


async def schema_drift(database_url: str, metadata: MetaData, schema: str) -> list[Any]:
    """What `alembic check` would report between a migrated database and the models.

    Only the service's own schema is compared (each service owns one), and the version table
    is Alembic's own, not a model's. An empty list means the migrations and models agree.
    """

    def include(name: str | None, type_: str, parent_names: dict[str, Any]) -> bool:
        if type_ == "schema":
            return name == schema
        return not (type_ == "table" and name == "alembic_version")

    def differences(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(
            connection,
            opts={
                "version_table_schema": schema,
                "include_schemas": True,
                "include_name": include,
                "compare_type": True,
            },
        )
        return list(compare_metadata(context, metadata))

    engine = create_async_engine(async_url(database_url))
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(differences)
    finally:
        await engine.dispose()


async def drop_database(admin_url: str, url: str) -> None:
    """Drop a database made by `create_database`, closing whatever still uses it."""
    name = make_url(url).database
    connection = await asyncpg.connect(_asyncpg_dsn(admin_url))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


class TcpProxy:
    """A loopback TCP relay in front of a server; `cut()` drops every connection and
    refuses new ones until `restore()`, which is how a test loses its broker without
    restarting a broker that others share."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.StreamWriter] = set()
        self._pipes: set[asyncio.Task[None]] = set()
        self.port = 0

    async def start(self) -> None:
        """Listen (on a free port the first time, on the same port after a cut)."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        """Stop listening and abort every open connection."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in self._links:
            writer.transport.abort()
        self._links.clear()
        for pipe in self._pipes:
            pipe.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    async def restore(self) -> None:
        """Accept connections again."""
        await self.start()

    async def stop(self) -> None:
        await self.cut()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.transport.abort()
            return
        self._links.update((writer, up_writer))
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            pipe = asyncio.create_task(self._pipe(source, sink))
            self._pipes.add(pipe)
            pipe.add_done_callback(self._pipes.discard)

    @staticmethod
    async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            with suppress(Exception):
                sink.transport.abort()


def without_middleware(app: Any, kind: type) -> None:
    """Remove `kind` from an app's middleware before it first serves: tests compare a
    service's fast path (`hot_routes`) with the same app answering through FastAPI."""
    app.user_middleware = [entry for entry in app.user_middleware if entry.cls is not kind]
