"""Fault tests: the platform in distributed mode survives a killed service, a broker restart
and a database restart under a steady load of complaint submissions, losing nothing.

Everything runs on loopback against a private Postgres and a private RabbitMQ node that the
test starts itself (see fault_harness.py); the shared servers are never touched. After each
fault and its recovery the test checks, and prints:

- every accepted submission (2xx) is in the database exactly once (by id and by
  idempotency key), and no submission left more than one complaint behind;
- every `complaints.complaint.submitted` event reached the broker: nothing in the platform
  consumes that type, so the test binds its own durable queue to it and checks every complaint
  has its event there, counting redeliveries of the same event id (at-least-once publishing,
  which an inbox suppresses) and failing on two different events for one complaint;
- the outbox is drained and every process answers /readyz 200 again without intervention.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import aio_pika
import asyncpg
import httpx
import pytest
from fault_harness import (
    PrivatePostgres,
    PrivateRabbit,
    private_folder,
    readyz_all,
    require_binaries,
    wait_for,
)
from harness import (
    ADMIN_EMAIL,
    KEY_SECRET,
    PARTS,
    Platform,
    mint_tokens,
    report,
    wait_ready,
)

from marfiq.distributed import migrate_all, platform_env, start_process
from marfiq_shared.settings import MarfiqSettings
from marfiq_shared.testing import free_port

SUBMITTED = "complaints.complaint.submitted"
CITIZEN_EMAIL = "fault.citizen@example.ma"
CONCURRENCY = 4
ATTEMPTS = 40  # per submission, with back-off: a request survives ~20 s of outage
LOAD_BEFORE_S = 2.0
LOAD_AFTER_S = 2.5


@dataclass
class Faulty:
    platform: Platform
    postgres: PrivatePostgres
    rabbit: PrivateRabbit
    dsn: str  # asyncpg, to count rows
    citizen_token: str
    citizen_sub: str
    administration_id: str
    probe: aio_pika.abc.AbstractRobustConnection | None = None
    probe_queue: str = ""
    seen_events: dict[str, int] = field(default_factory=dict)  # event id -> deliveries
    event_by_complaint: dict[str, set[str]] = field(default_factory=dict)

    def urls(self) -> dict[str, str]:
        return {part: self.platform.url(part) for part in PARTS}


async def _create_citizen(database_url: str) -> str:
    from marfiq_identity.accounts.models import AccountKind
    from marfiq_identity.accounts.service import create_account
    from marfiq_identity.db import SCHEMA, outbox
    from marfiq_shared.db import Database

    database = Database(database_url, schema=SCHEMA, source="identity-service", outbox=outbox)
    try:
        async with database.sessionmaker() as session, session.begin():
            account = await create_account(
                session, kind=AccountKind.citizen, email=CITIZEN_EMAIL, language="fr"
            )
        return str(account.id)
    finally:
        await database.dispose()


async def _bind_probe(rabbit_url: str, exchange: str, queue: str) -> Any:
    connection = await aio_pika.connect_robust(rabbit_url)
    channel = await connection.channel()
    target = await channel.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC, durable=True)
    probe = await channel.declare_queue(queue, durable=True, arguments={"x-queue-type": "quorum"})
    await probe.bind(target, routing_key=SUBMITTED)
    await channel.close()
    return connection


@pytest.fixture(scope="module")
async def faulty() -> AsyncIterator[Faulty]:
    require_binaries()
    folder = private_folder("marfiq-fault-")
    postgres = PrivatePostgres(folder / "pg")
    rabbit = PrivateRabbit(folder / "rabbit")
    processes: dict[str, subprocess.Popen[bytes]] = {}
    probe = None
    started = time.monotonic()

    def lap(what: str) -> None:
        print(f"[setup] {what} at {time.monotonic() - started:.1f}s", flush=True)

    try:
        database_url = await asyncio.to_thread(postgres.start)
        lap("private postgres up")
        await asyncio.to_thread(rabbit.start)
        lap("private rabbitmq up")
        run = uuid.uuid4().hex[:6]
        exchange = f"marfiq.fault.{run}"
        probe_queue = f"fault-{run}-probe-submitted"
        # Bound before any service publishes: the relay publishes without `mandatory`.
        probe = await _bind_probe(rabbit.url, exchange, probe_queue)
        ports = {part: free_port() for part in PARTS}
        base = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "MARFIQ_"))}
        base |= {
            "DATABASE_URL": database_url,
            "AMQP_URL": rabbit.url,
            "EVENT_EXCHANGE": exchange,
            "EVENT_QUEUE_PREFIX": f"fault-{run}-",
            "IDENTITY_KEY_ENCRYPTION_SECRET": KEY_SECRET,
            "MARFIQ_BOOTSTRAP_ADMIN_EMAIL": ADMIN_EMAIL,
            "LOG_LEVEL": "ERROR",
            "GATEWAY_UPSTREAM_TIMEOUT_S": "3",
            # One citizen submitting steadily is the load; the rate limits are not under test.
            "GATEWAY_RATE_LIMIT_PER_ADDRESS": "1000000",
            "GATEWAY_RATE_LIMIT_PER_CLIENT": "1000000",
        }
        env = platform_env(base, ports)
        await asyncio.to_thread(migrate_all, database_url)
        from marfiq_identity.administrations.seed import seed_directory

        await seed_directory(database_url)
        citizen_sub = await _create_citizen(database_url)
        lap("migrated and seeded")
        platform = Platform(
            gateway=f"http://127.0.0.1:{ports['gateway']}",
            database_url=database_url,
            env=env,
            ports=ports,
            processes=processes,
        )
        for part in PARTS:
            processes[part] = start_process(part, env, ports[part])
        for part in PARTS:
            await asyncio.to_thread(
                wait_ready, platform.url(part) + "/readyz", process=processes[part]
            )
            lap(f"{part} ready")
        tokens = await mint_tokens(database_url, env, email=CITIZEN_EMAIL)
        dsn = f"postgresql://postgres@/marfiq?host={postgres.folder}"

        async def first_administration() -> str | None:
            connection = await asyncpg.connect(dsn)
            try:
                value = await connection.fetchval(
                    "SELECT id::text FROM complaints.administrations ORDER BY code LIMIT 1"
                )
            finally:
                await connection.close()
            return value

        # The complaints service learns the directory from identity's events.
        administration_id = await wait_for(first_administration, within=30)
        assert administration_id, "the complaints service never received the directory"
        lap("directory replicated to complaints")
        yield Faulty(
            platform=platform,
            postgres=postgres,
            rabbit=rabbit,
            dsn=dsn,
            citizen_token=tokens["access_token"],
            citizen_sub=citizen_sub,
            administration_id=administration_id,
            probe=probe,
            probe_queue=probe_queue,
        )
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        if probe is not None:
            await probe.close()
        await asyncio.to_thread(rabbit.stop)
        await asyncio.to_thread(postgres.stop)
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class Load:
    """A steady stream of submissions, each retried with its own Idempotency-Key."""

    faulty: Faulty
    accepted: dict[str, str] = field(default_factory=dict)  # key -> complaint id
    failed: list[str] = field(default_factory=list)  # keys never answered 2xx
    attempts: int = 0
    retries: int = 0
    replays: int = 0
    statuses: dict[int | str, int] = field(default_factory=dict)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    def _count(self, status: int | str) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1

    async def submit(self, client: httpx.AsyncClient, n: int) -> None:
        key = str(uuid.uuid4())
        body = {
            "administration_id": self.faulty.administration_id,
            "kind": "complaint",
            "subject": f"Fault test submission {n}",
            "description": "Submitted while the platform is being broken on purpose.",
        }
        headers = {
            "Authorization": f"Bearer {self.faulty.citizen_token}",
            "Idempotency-Key": key,
        }
        delay = 0.1
        for attempt in range(ATTEMPTS):
            self.attempts += 1
            if attempt:
                self.retries += 1
            try:
                response = await client.post("/v1/complaints", json=body, headers=headers)
            except httpx.HTTPError as error:
                self._count(type(error).__name__)
            else:
                self._count(response.status_code)
                if response.is_success:
                    self.accepted[key] = response.json()["id"]
                    if response.headers.get("Idempotent-Replayed") == "true":
                        self.replays += 1
                    return
                # 409: the first attempt of this key is still in flight; 429/5xx: transient.
                if response.status_code not in (409, 429) and response.status_code < 500:
                    raise AssertionError(f"{response.status_code}: {response.text}")
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, 1.0)
        self.failed.append(key)

    async def worker(self, client: httpx.AsyncClient, counter: Callable[[], int]) -> None:
        while not self.stop.is_set():
            await self.submit(client, counter())
            await asyncio.sleep(0.05)


async def run_under_load(faulty: Faulty, fault: Callable[[], Any], name: str) -> Load:
    load = Load(faulty)
    numbers = iter(range(1_000_000))
    async with httpx.AsyncClient(base_url=faulty.platform.gateway, timeout=5) as client:
        workers = [
            asyncio.create_task(load.worker(client, lambda: next(numbers)))
            for _ in range(CONCURRENCY)
        ]
        await asyncio.sleep(LOAD_BEFORE_S)
        before = len(load.accepted)
        started = time.monotonic()
        await fault()
        recovered = await asyncio.to_thread(readyz_all, faulty.urls(), 90.0)
        outage = time.monotonic() - started
        await asyncio.sleep(LOAD_AFTER_S)
        load.stop.set()
        await asyncio.wait_for(asyncio.gather(*workers), timeout=60)
    report(
        f"\n[{name}] fault + recovery {outage:.1f}s (readyz 200 on all {len(PARTS)} processes "
        f"{recovered:.1f}s after the fault action); submissions accepted {len(load.accepted)} "
        f"({before} before the fault), attempts {load.attempts}, client retries {load.retries}, "
        f"idempotent replays {load.replays}, never accepted {len(load.failed)}, "
        f"answers {dict(sorted(load.statuses.items(), key=str))}"
    )
    return load


async def _rows(faulty: Faulty, load: Load) -> dict[str, Any]:
    connection = await asyncpg.connect(faulty.dsn)
    try:
        ids = [uuid.UUID(value) for value in load.accepted.values()]
        by_id = await connection.fetch(
            "SELECT id::text, count(*) AS n FROM complaints.complaints "
            "WHERE id = ANY($1::uuid[]) GROUP BY id",
            ids,
        )
        keys = list(load.accepted) + load.failed
        by_key = await connection.fetch(
            "SELECT key, body->>'id' AS id FROM complaints.idempotency_keys "
            "WHERE owner = $1 AND key = ANY($2::text[])",
            faulty.citizen_sub,
            keys,
        )
        outbox = await connection.fetch(
            "SELECT id::text, subject, published_at IS NOT NULL AS sent "
            "FROM complaints.outbox WHERE type = $1",
            SUBMITTED,
        )
        owned = await connection.fetchval(
            "SELECT count(*) FROM complaints.complaints WHERE owner_sub = $1",
            faulty.citizen_sub,
        )
        remembered = await connection.fetchval(
            "SELECT count(*) FROM complaints.idempotency_keys WHERE owner = $1",
            faulty.citizen_sub,
        )
    finally:
        await connection.close()
    return {
        "by_id": by_id,
        "by_key": by_key,
        "outbox": outbox,
        "owned": owned,
        "remembered": remembered,
    }


async def _drain_probe(faulty: Faulty, expected: set[str], within: float = 30.0) -> None:
    """Read the probe queue until every expected complaint has its event."""
    assert faulty.probe is not None
    channel = await faulty.probe.channel()
    queue = await channel.get_queue(faulty.probe_queue, ensure=False)
    deadline = time.monotonic() + within
    try:
        while time.monotonic() < deadline:
            message = await queue.get(no_ack=False, fail=False, timeout=5)
            if message is None:
                if expected <= set(faulty.event_by_complaint):
                    return
                await asyncio.sleep(0.2)
                continue
            envelope = json.loads(message.body)
            event_id = envelope["id"]
            complaint = str(envelope.get("subject") or envelope["data"].get("id"))
            complaint = complaint.rsplit("/", 1)[-1]
            faulty.seen_events[event_id] = faulty.seen_events.get(event_id, 0) + 1
            faulty.event_by_complaint.setdefault(complaint, set()).add(event_id)
            await message.ack()
    finally:
        await channel.close()


async def verify(faulty: Faulty, load: Load, name: str) -> None:
    assert load.accepted, "no submission was accepted"
    assert not load.failed, f"{len(load.failed)} submissions never accepted after retries"

    async def drained() -> bool:
        rows = await _rows(faulty, load)
        return all(row["sent"] for row in rows["outbox"])

    assert await wait_for(drained, within=45), "the outbox did not drain"
    rows = await _rows(faulty, load)
    accepted_ids = set(load.accepted.values())
    found = {row["id"]: row["n"] for row in rows["by_id"]}
    assert set(found) == accepted_ids, f"accepted but missing: {accepted_ids - set(found)}"
    assert all(n == 1 for n in found.values())
    by_key = {row["key"]: row["id"] for row in rows["by_key"]}
    for key, complaint_id in load.accepted.items():
        assert by_key.get(key) == complaint_id, f"idempotency record of {key} is wrong"
    outbox_by_complaint: dict[str, list[str]] = {}
    for row in rows["outbox"]:
        outbox_by_complaint.setdefault(str(row["subject"]).rsplit("/", 1)[-1], []).append(row["id"])

    await _drain_probe(faulty, accepted_ids)
    missing_events = accepted_ids - set(faulty.event_by_complaint)
    assert not missing_events, f"no {SUBMITTED} event for {len(missing_events)} complaints"
    two_events = {c: e for c, e in faulty.event_by_complaint.items() if len(e) > 1}
    assert not two_events, f"complaints with more than one distinct submitted event: {two_events}"
    for complaint in accepted_ids:
        assert len(outbox_by_complaint.get(complaint, [])) == 1
    ours = [next(iter(faulty.event_by_complaint[c])) for c in accepted_ids]
    deliveries = sum(faulty.seen_events[e] for e in ours)
    duplicates = deliveries - len(ours)
    report(
        f"[{name}] rows found {len(found)}/{len(accepted_ids)} (each exactly once by id and "
        f"by idempotency key; citizen owns {rows['owned']} complaints, "
        f"{rows['remembered']} idempotency records so far); outbox rows for them "
        f"{len(ours)}, all published; events delivered {len(ours)} distinct "
        f"({deliveries} deliveries, {duplicates} duplicate deliveries suppressed by event id)"
    )
    # No submission left a second complaint behind (retries after a lost answer included):
    # the citizen owns exactly one complaint per idempotency record.
    assert rows["owned"] == rows["remembered"]


def _metric(text: str, name: str, source: str) -> float | None:
    pattern = re.compile(rf'^{name}\{{[^}}]*source="{re.escape(source)}"[^}}]*\}} (\S+)$', re.M)
    match = pattern.search(text)
    return float(match.group(1)) if match else None


async def _backlog(client: httpx.AsyncClient, url: str) -> float | None:
    try:
        response = await client.get(url + "/metrics", timeout=3)
    except httpx.HTTPError:
        return None
    return _metric(response.text, "marfiq_outbox_backlog", "complaints-service")


async def test_kill_9_complaints_service(faulty: Faulty) -> None:
    platform = faulty.platform

    async def fault() -> None:
        process = platform.processes.pop("complaints")
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        await asyncio.sleep(1.0)
        platform.processes["complaints"] = start_process(
            "complaints", platform.env, platform.ports["complaints"]
        )

    load = await run_under_load(faulty, fault, "kill -9 complaints")
    await verify(faulty, load, "kill -9 complaints")


async def test_restart_rabbitmq(faulty: Faulty) -> None:
    complaints = faulty.platform.url("complaints")
    samples: list[tuple[str, float]] = []

    async def fault() -> None:
        async with httpx.AsyncClient() as client:
            before = await _backlog(client, complaints)
            samples.append(("before", before or 0.0))
            await asyncio.to_thread(faulty.rabbit.ctl, "stop_app")
            for _ in range(8):  # ~4 s with the broker down, submissions still accepted
                await asyncio.sleep(0.5)
                value = await _backlog(client, complaints)
                if value is not None:
                    samples.append(("down", value))
            await asyncio.to_thread(faulty.rabbit.stop)
            await asyncio.to_thread(faulty.rabbit.start)

    load = await run_under_load(faulty, fault, "restart RabbitMQ")
    async with httpx.AsyncClient() as client:

        async def drained() -> float | None:
            value = await _backlog(client, complaints)
            return value is not None and value == 0

        await wait_for(drained, within=45)
        samples.append(("after", await _backlog(client, complaints) or 0.0))
    down = [value for phase, value in samples if phase == "down"]
    report(
        "[restart RabbitMQ] /metrics marfiq_outbox_backlog{source=complaints-service}: "
        + " ".join(f"{phase}={value:g}" for phase, value in samples)
    )
    assert down, "no /metrics sample while the broker was down"
    assert max(down) > samples[0][1], "the backlog did not rise with the broker down"
    assert down == sorted(down), "the backlog should only rise while the broker is down"
    assert samples[-1] == ("after", 0.0), "the backlog did not drain"
    await verify(faulty, load, "restart RabbitMQ")


async def test_restart_postgres(faulty: Faulty) -> None:
    # The processes run with the default settings: no pool pre-ping. Every connection in
    # the pools dies with the server; the requests that meet one answer 503 (the client
    # retries with its key) and the pools renew themselves, with no one stepping in.
    assert not MarfiqSettings().database_pool_pre_ping
    assert not any(name.endswith("DATABASE_POOL_PRE_PING") for name in os.environ)

    async def fault() -> None:
        await asyncio.to_thread(faulty.postgres.restart, 2.0)

    load = await run_under_load(faulty, fault, "restart Postgres")
    await verify(faulty, load, "restart Postgres")
    # The services stay up: an outage is their 503, never the gateway's 502 for a
    # connection the service closed after answering (an error left to escape the app).
    assert 502 not in load.statuses, load.statuses
