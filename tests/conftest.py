"""End-to-end fixtures: the platform in distributed mode and in embedded mode."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from delivery_standins import MailStandIn, SmsStandIn
from harness import (
    ADMIN_EMAIL,
    FINDINGS,
    KEY_SECRET,
    PARTS,
    Platform,
    wait_ready,
)

from marfiq.distributed import (
    declare_topology,
    delete_topology,
    migrate_all,
    platform_env,
    start_process,
)
from marfiq_identity.administrations.seed import seed_directory
from marfiq_identity.eid.testing import Csca
from marfiq_shared.testing import (
    amqp_test_url,
    create_database,
    drop_database,
    free_port,
    postgres_admin_url,
    require_url,
)


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Run a deployment step of this process under the platform's environment."""
    saved = dict(os.environ)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="session")
async def distributed() -> AsyncIterator[Platform]:
    """The platform in distributed mode: one process per service and the gateway."""
    admin_url = postgres_admin_url()
    require_url(admin_url, "Postgres")
    require_url(amqp_test_url(), "RabbitMQ")
    run = uuid.uuid4().hex[:8]
    database_url = await create_database(admin_url, prefix="marfiq_e2e")
    sms, mail = SmsStandIn(), MailStandIn()
    csca = Csca.create()
    ports = {part: free_port() for part in PARTS}
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "MARFIQ_"))}
    base |= {
        "DATABASE_URL": database_url,
        "AMQP_URL": amqp_test_url(),
        "EVENT_EXCHANGE": f"marfiq.e2e.{run}",
        "EVENT_QUEUE_PREFIX": f"e2e-{run}-",
        "IDENTITY_KEY_ENCRYPTION_SECRET": KEY_SECRET,
        "MARFIQ_BOOTSTRAP_ADMIN_EMAIL": ADMIN_EMAIL,
        "LOG_LEVEL": "WARNING",
        "GATEWAY_UPSTREAM_TIMEOUT_S": "3",
        "IDENTITY_OTP_SECRET": "e2e-otp-secret-not-for-production",
        "IDENTITY_SMS_GATEWAY_URL": sms.url,
        "IDENTITY_SMS_GATEWAY_TOKEN": "e2e-sms-token",
        "IDENTITY_SMTP_HOST": "127.0.0.1",
        "IDENTITY_SMTP_PORT": str(mail.port),
        "IDENTITY_SMTP_SECURITY": "none",
        "IDENTITY_EID_CSCA_PEM": csca.pem.decode(),
    }
    env = platform_env(base, ports)
    await asyncio.to_thread(migrate_all, database_url)
    with environment(env):
        await declare_topology(env["AMQP_URL"])
    await seed_directory(database_url)
    platform = Platform(
        sms=sms,
        mail=mail,
        csca=csca,
        gateway=f"http://127.0.0.1:{ports['gateway']}",
        database_url=database_url,
        env=env,
        ports=ports,
    )
    try:
        for part in PARTS:
            platform.processes[part] = start_process(part, env, ports[part])
        for part in PARTS:
            await asyncio.to_thread(
                wait_ready, platform.url(part) + "/readyz", process=platform.processes[part]
            )
        yield platform
    finally:
        for process in platform.processes.values():
            process.terminate()
        for process in platform.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        sms.stop()
        mail.stop()
        await delete_topology(amqp_test_url(), env["EVENT_EXCHANGE"], env["EVENT_QUEUE_PREFIX"])
        await drop_database(admin_url, database_url)


@pytest.fixture(scope="session")
def embedded() -> Iterator[Platform]:
    """The platform as `make run` starts it: one process, embedded Postgres, in-process bus."""
    # Run as root, the embedded Postgres drops to its own user, which must reach the data
    # folder: pytest's private temporary folders are closed to it.
    data_dir = Path(tempfile.mkdtemp(prefix="marfiq-embedded-"))
    data_dir.chmod(0o755)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "MARFIQ_"))}
    env.pop("DATABASE_URL", None)
    env.pop("AMQP_URL", None)
    env |= {
        "MARFIQ_PORT": str(port),
        "MARFIQ_DATA_DIR": str(data_dir),
        "IDENTITY_KEY_ENCRYPTION_SECRET": KEY_SECRET,
        "MARFIQ_BOOTSTRAP_ADMIN_EMAIL": ADMIN_EMAIL,
        "MARFIQ_ISSUER": f"http://127.0.0.1:{port}",
        "LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "marfiq.cli", "run"], env=env, cwd=Path(__file__).parents[1]
    )
    platform = Platform(
        gateway=f"http://127.0.0.1:{port}",
        database_url=f"postgresql+asyncpg://postgres@/marfiq?host={data_dir / 'postgres'}",
        env=env,
        ports={"gateway": port},
        processes={"embedded": process},
    )
    try:
        wait_ready(platform.gateway + "/readyz", timeout=120, process=process)
        yield platform
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(data_dir, ignore_errors=True)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """What the fault, fuzz and deploy tests checked, printed even when they pass."""
    if FINDINGS:
        terminalreporter.section("what the fault, fuzz and deploy tests checked")
        for line in FINDINGS:
            terminalreporter.write_line(line)
