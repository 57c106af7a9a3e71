"""A private Postgres and a private RabbitMQ node that a fault test may restart at will.

The shared servers on 5432 and 5672 belong to everyone working on this machine: a fault test
never touches them. It starts its own embedded Postgres (pgserver, on a Unix socket in a
temporary folder) and a second RabbitMQ node (own node name, ports and data folders), runs
the platform's five processes against them, and restarts each on demand.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from marfiq_shared.testing import free_port, missing_dependency

RABBITMQ_SERVER = "rabbitmq-server"
RABBITMQCTL = "rabbitmqctl"


def require_binaries() -> None:
    """Skip (outside CI) or fail (CI=true) when the private servers cannot be started."""
    missing = [name for name in (RABBITMQ_SERVER, RABBITMQCTL) if shutil.which(name) is None]
    try:
        import pgserver  # noqa: F401
    except ImportError:
        missing.append("pgserver")
    if missing:
        missing_dependency(f"fault tests need {', '.join(missing)}")


@dataclass
class PrivatePostgres:
    """An embedded Postgres 16 under `folder` (world-traversable: it runs as its own user)."""

    folder: Path
    server: Any = None

    def start(self) -> str:
        import pgserver

        self.folder.mkdir(parents=True, exist_ok=True)
        self.folder.chmod(0o755)
        self.server = pgserver.get_server(str(self.folder), cleanup_mode="stop")
        self.server.psql("CREATE DATABASE marfiq;")
        return f"postgresql+asyncpg://postgres@/marfiq?host={self.folder}"

    def restart(self, down_for: float = 2.0) -> None:
        """Fast shutdown (every connection is cut), `down_for` seconds down, start again."""
        from pgserver._commands import pg_ctl

        user = self.server.system_user
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.folder, user=user, timeout=60)
        time.sleep(down_for)
        pg_ctl(
            [
                "-w",
                "-o",
                '-h ""',
                "-o",
                f"-k {self.folder}",
                "-l",
                str(self.folder / "log"),
                "start",
            ],
            pgdata=self.folder,
            user=user,
            timeout=60,
        )

    def stop(self) -> None:
        from pgserver._commands import pg_ctl

        if self.server is not None:
            with suppress(Exception):
                pg_ctl(
                    ["-w", "-m", "immediate", "stop"],
                    pgdata=self.folder,
                    user=self.server.system_user,
                    timeout=30,
                )


@dataclass
class PrivateRabbit:
    """A second RabbitMQ node on this host: its own name, ports and data folders."""

    folder: Path
    node: str = field(default_factory=lambda: f"marfiqfault{uuid.uuid4().hex[:8]}@localhost")
    port: int = field(default_factory=free_port)
    dist_port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def _env(self) -> dict[str, str]:
        plugins = self.folder / "enabled_plugins"
        return os.environ | {
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.folder / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.folder / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(plugins),
            "RABBITMQ_PID_FILE": str(self.folder / "pid"),
            # The host's rabbitmq.conf pins the listener to 5672: this node has its own.
            "RABBITMQ_CONFIG_FILE": str(self.folder / "rabbitmq.conf"),
        }

    def start(self, timeout: float = 90.0) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        for sub in ("mnesia", "log"):
            (self.folder / sub).mkdir(exist_ok=True)
        (self.folder / "enabled_plugins").write_text("[].\n")
        (self.folder / "rabbitmq.conf").write_text(
            f"listeners.tcp.local = 127.0.0.1:{self.port}\nloopback_users = none\n"
        )
        if os.geteuid() == 0:
            # As root, rabbitmq-server drops to the `rabbitmq` user: it must own its folders.
            subprocess.run(["chown", "-R", "rabbitmq:rabbitmq", str(self.folder)], check=True)
        subprocess.run(
            [RABBITMQ_SERVER, "-detached"],
            env=self._env(),
            check=True,
            timeout=30,
            capture_output=True,
        )
        # A detached node is not reachable for its first seconds: ask until it answers.
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.ctl("await_startup", "--timeout", "30", timeout=40)
                return
            except subprocess.CalledProcessError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def ctl(self, *args: str, timeout: float = 60.0) -> None:
        subprocess.run(
            [RABBITMQCTL, "-n", self.node, *args],
            env=self._env(),
            check=True,
            timeout=timeout,
            capture_output=True,
        )

    def stop(self) -> None:
        with suppress(Exception):
            self.ctl("stop", timeout=60)

    def restart(self) -> None:
        self.stop()
        self.start()


def readyz_all(urls: dict[str, str], timeout: float = 60.0) -> float:
    """Wait until every process answers /readyz with 200; return the seconds it took."""
    started = time.monotonic()
    pending = dict(urls)
    while pending:
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"not ready after {timeout}s: {sorted(pending)}")
        for name, url in list(pending.items()):
            with suppress(httpx.HTTPError):
                if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                    del pending[name]
        if pending:
            time.sleep(0.2)
    return time.monotonic() - started


def private_folder(prefix: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    folder.chmod(0o755)
    return folder


async def wait_for(predicate: Any, *, within: float, interval: float = 0.2) -> Any:
    """Await `predicate()` until it returns something truthy; return that."""
    deadline = time.monotonic() + within
    while True:
        value = await predicate()
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(interval)
