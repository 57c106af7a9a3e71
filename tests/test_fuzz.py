"""Fuzzing: schemathesis against the gateway's merged OpenAPI document, with real tokens.

The platform runs as `make run` starts it (embedded mode: one process, its own Postgres);
every operation of `/openapi.json` is called with a bounded number of generated examples,
signed as a citizen, or as the platform admin for the administration routes. Checks: no 5xx,
every 4xx a problem document (`application/problem+json`), and every response conforms to
the schema. The number of requests made is printed at the end.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from harness import ADMIN_EMAIL, KEY_SECRET, mint_tokens, report, wait_ready
from hypothesis import HealthCheck, Phase, given, settings

from marfiq_shared.testing import free_port

CITIZEN_EMAIL = "fuzz.citizen@example.ma"
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "10"))
COUNTS = {"requests": 0, "operations": 0}


class FuzzTarget:
    def __init__(self, url: str, citizen: str, admin: str, spare: str) -> None:
        self.url = url
        self.citizen = citizen
        self.admin = admin
        # A session of its own for the sign-in routes: the fuzzer's logouts revoke it, not
        # the session every other operation runs with.
        self.spare = spare
        self.session = requests.Session()

        def count(response: requests.Response, *args: Any, **kwargs: Any) -> None:
            COUNTS["requests"] += 1

        self.session.hooks["response"].append(count)

    def token_for(self, path: str) -> str:
        # Administration and platform routes are the admin's; everything else a citizen's.
        if path.startswith("/v1/auth"):
            return self.spare
        admin_prefixes = ("/v1/administrations", "/v1/pensions/payment-runs")
        return self.admin if path.startswith(admin_prefixes) else self.citizen


async def _create_citizen(database_url: str) -> None:
    from marfiq_identity.accounts.models import AccountKind
    from marfiq_identity.accounts.service import create_account
    from marfiq_identity.db import SCHEMA, outbox
    from marfiq_shared.db import Database

    database = Database(database_url, schema=SCHEMA, source="identity-service", outbox=outbox)
    try:
        async with database.sessionmaker() as session, session.begin():
            await create_account(session, kind=AccountKind.citizen, email=CITIZEN_EMAIL)
    finally:
        await database.dispose()


def _stop_embedded_postgres(pgdata: Path) -> None:
    """The embedded Postgres outlives a killed `marfiq run`: never leave it behind."""
    if not (pgdata / "postmaster.pid").exists():
        return
    from pgserver._commands import pg_ctl

    user = "pgserver" if os.geteuid() == 0 else None
    with contextlib.suppress(Exception):
        pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=pgdata, user=user, timeout=30)


@pytest.fixture(scope="module")
def fuzz_target() -> Iterator[FuzzTarget]:
    """`marfiq run` in a subprocess (as the `embedded` fixture), and tokens for it."""
    import asyncio

    data_dir = Path(tempfile.mkdtemp(prefix="marfiq-fuzz-"))
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
        "LOG_LEVEL": "ERROR",
        # Generated data comes fast; the rate limits are the gateway's own test.
        "GATEWAY_RATE_LIMIT_PER_ADDRESS": "1000000",
        "GATEWAY_RATE_LIMIT_PER_CLIENT": "1000000",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "marfiq.cli", "run"], env=env, cwd=Path(__file__).parents[1]
    )
    url = f"http://127.0.0.1:{port}"
    database_url = f"postgresql+asyncpg://postgres@/marfiq?host={data_dir / 'postgres'}"
    try:
        wait_ready(url + "/readyz", timeout=120, process=process)
        asyncio.run(_create_citizen(database_url))
        citizen = asyncio.run(mint_tokens(database_url, env, email=CITIZEN_EMAIL))
        admin = asyncio.run(mint_tokens(database_url, env, email=ADMIN_EMAIL))
        spare = asyncio.run(mint_tokens(database_url, env, email=CITIZEN_EMAIL))
        yield FuzzTarget(url, citizen["access_token"], admin["access_token"], spare["access_token"])
    finally:
        report(
            f"\n[fuzz] {COUNTS['requests']} requests over {COUNTS['operations']} "
            f"operation runs, at most {MAX_EXAMPLES} generated examples each"
        )
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        _stop_embedded_postgres(data_dir / "postgres")
        shutil.rmtree(data_dir, ignore_errors=True)


def check_response(case: Any, response: Any) -> None:
    """No 5xx; every 4xx a problem document; the answer conforms to the schema."""
    where = f"{case.method} {response.request.path_url} -> {response.status_code}"
    assert response.status_code < 500, f"{where}: {response.text[:300]}"
    if 400 <= response.status_code < 500:
        content_type = response.headers.get("content-type", "")
        if isinstance(content_type, list):  # schemathesis keeps every value of a header
            content_type = content_type[0] if content_type else ""
        assert content_type.startswith("application/problem+json"), (
            f"{where} answered as {content_type!r}, not a problem document"
        )
    case.operation.validate_response(response, case=case)


# Operations left out, each with the bug that keeps it out (see the report of the run).
EXCLUDED: dict[str, str] = {}


def _fuzzer(operation: Any, target: FuzzTarget, headers: dict[str, str]) -> Any:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        response = case.call(base_url=target.url, session=target.session, headers=headers)
        check_response(case, response)

    return run


def test_fuzz_gateway_openapi(fuzz_target: FuzzTarget) -> None:
    schema = schemathesis.openapi.from_url(fuzz_target.url + "/openapi.json")
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        label = f"{operation.method.upper()} {operation.path}"
        if label in EXCLUDED:
            continue
        COUNTS["operations"] += 1
        headers = {"Authorization": f"Bearer {fuzz_target.token_for(operation.path)}"}

        run = _fuzzer(operation, fuzz_target, headers)
        try:
            run()
        except (Exception, BaseExceptionGroup) as error:  # collect all, then report
            failures.append(f"{label}: {type(error).__name__}: {str(error)[:600]}")
    for failure in failures:
        report("\n[fuzz] FAILED " + failure)
    assert not failures, f"{len(failures)} operations failed: see the output above"
