"""A Postgres owned by the project, for `make run` on a machine with only Python."""

from __future__ import annotations

import contextlib
import logging
import os
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


def stop(data_dir: Path) -> None:
    """Stop the server of `data_dir` if it runs: `make run` never leaves a Postgres behind."""
    if not (data_dir / "postmaster.pid").exists():
        return
    from pgserver._commands import pg_ctl

    # As root, pgserver runs Postgres under its own user; pg_ctl must run as that user too.
    user = "pgserver" if os.geteuid() == 0 else None
    with contextlib.suppress(Exception):
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=data_dir, user=user, timeout=30)
