"""A Postgres owned by the project, for `make run` on a machine with only Python."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger("marfiq.embedded")


def start(data_dir: Path) -> tuple[Any, str]:
    """Start (or reuse) the embedded server under `data_dir`; return it and its URL."""
    import pgserver  # imported late: only the embedded mode needs it

    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(str(data_dir), cleanup_mode="stop")
    if "marfiq" not in server.psql("SELECT datname FROM pg_database;"):
        server.psql("CREATE DATABASE marfiq;")
    # pgserver listens on a Unix socket inside the data folder: nothing is exposed.
    url = f"postgresql+asyncpg://postgres@/marfiq?host={data_dir}"
    log.info("embedded postgres ready", extra={"data_dir": str(data_dir)})
    return server, url
