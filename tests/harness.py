"""The whole platform in real processes over real HTTP, for end-to-end tests.

Distributed mode: five uvicorn processes against a throwaway database on the local Postgres
and a uniquely named exchange and queues on the local RabbitMQ. Embedded mode: `marfiq run`
as a subprocess, with its own embedded Postgres.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from marfiq.distributed import start_process
from marfiq.services import SERVICES

ADMIN_EMAIL = "admin@marfiq.ma"
KEY_SECRET = "e2e-key-encryption-secret-not-for-production"
# What the fault, fuzz and deploy tests checked, for CI's output: pytest keeps a passing
# test's own prints to itself, so conftest prints these lines in the run's summary.
FINDINGS: list[str] = []


def report(line: str) -> None:
    """Print a finding and keep it for the summary at the end of the run."""
    print(line, flush=True)
    FINDINGS.append(line.strip("\n"))


PARTS = [spec.name for spec in SERVICES] + ["gateway"]


def wait_ready(
    url: str, *, timeout: float = 60.0, process: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{url}: process exited with {process.returncode}")
        try:
            response = httpx.get(url, timeout=2)
            if response.status_code == 200:
                return
            last = response.text
        except httpx.HTTPError as error:
            last = error
        time.sleep(0.2)
    raise TimeoutError(f"{url} not ready after {timeout}s: {last}")


@dataclass
class Platform:
    """A running platform and the means to act on it."""

    gateway: str
    database_url: str
    env: dict[str, str]
    ports: dict[str, int]
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    # Distributed mode only: where identity delivers codes, and the eID trust anchor.
    sms: Any = None
    mail: Any = None
    csca: Any = None

    def url(self, part: str) -> str:
        return f"http://127.0.0.1:{self.ports[part]}"

    def stop(self, part: str) -> None:
        process = self.processes.pop(part)
        process.terminate()
        process.wait(timeout=15)

    def start(self, part: str) -> None:
        self.processes[part] = start_process(part, self.env, self.ports[part])
        wait_ready(self.url(part) + "/readyz", process=self.processes[part])

    async def admin_token(self) -> str:
        return (await mint_tokens(self.database_url, self.env, email=ADMIN_EMAIL))["access_token"]


async def mint_tokens(database_url: str, env: dict[str, str], *, email: str) -> dict[str, Any]:
    """Real tokens for an existing account, signed with the platform's current key.

    Stands in for the e-mail sign-in until that flow exists: it opens a session exactly as
    a sign-in does (identity's own code, the same key set in the database).
    """
    from sqlalchemy import select

    from marfiq_identity.accounts.models import Account
    from marfiq_identity.db import SCHEMA, outbox
    from marfiq_identity.keys.service import KeyRing
    from marfiq_identity.settings import IdentitySettings
    from marfiq_identity.tokens.service import start_session
    from marfiq_shared.db import Database

    settings = IdentitySettings(
        database_url=database_url,
        key_encryption_secret=env["IDENTITY_KEY_ENCRYPTION_SECRET"],
        marfiq_issuer=env["MARFIQ_ISSUER"],
    )
    database = Database(database_url, schema=SCHEMA, source="identity-service", outbox=outbox)
    try:
        keyring = KeyRing(settings)
        await keyring.refresh(database)
        async with database.sessionmaker() as session, session.begin():
            account = (
                await session.execute(select(Account).where(Account.email == email))
            ).scalar_one()
            tokens = await start_session(
                session,
                account=account,
                acr="low",
                amr=("otp",),
                keyring=keyring,
                settings=settings,
                now=datetime.now(UTC),
            )
        return tokens.model_dump()
    finally:
        await database.dispose()
