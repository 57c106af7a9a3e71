"""Complaints: submissions per second through the gateway, and the p99 latency of an agent's
queue page and of the public statistics with 1,000,000 complaints in the table.

Run: `.venv/bin/python bench/bench_complaints.py [--rows 1000000] [--duration 10]`.

Distributed mode, as an operator runs it, on a throwaway database of the local Postgres and
(when it answers) a uniquely named exchange on the local RabbitMQ: identity, complaints and
the gateway each in their own uvicorn process (uvloop, httptools, access log off). Tokens are
real: accounts are created in identity's tables and sessions opened with identity's own code
and signing key, exactly as a sign-in leaves them; the gateway and the service verify them
against identity's JWKS. The load generator is `wrk` (one thread) with a Lua script that
rotates citizens and administrations; without `wrk` the script stops and says so.

1. Submissions: `POST /v1/complaints` through the gateway, `--connections` concurrent
   connections for `--duration` seconds, each request a different citizen and
   administration in turn; then the same straight to the service, for comparison. Every
   answer must be 201. Each round also prints the CPU each of our processes spent per
   submission, read from /proc: on a shared machine that figure holds when the rate
   depends on the neighbours. Postgres is one of them: the backends serving the bench's
   database (on two cores they compete with the services for the same CPU), and with
   several workers the busiest worker's share of its part says how evenly the keep-alive
   connections spread over them. Each complaints worker gets enough pooled connections for
   its share of the connections (`--pool` 0), so no overflow connection is opened and
   closed per request. Target: >= 500/s. (bench_scaling.py reuses this platform for the
   curve with 1 and 2 workers per service.)
2. `--rows` complaints are bulk-loaded in batches of 100,000 rows, each one
   `INSERT … SELECT … FROM generate_series` computed inside Postgres (no row crosses the
   network; one loading connection per core), with the table's secondary indexes dropped
   first and rebuilt once at the end (their definitions are read from pg_indexes, so they
   are the migrations' own); then the monthly statistics and answer-time histograms they
   imply (two GROUP BY statements), VACUUM ANALYZE and a CHECKPOINT, so the measurements
   pay neither for hint bits nor for the write-out. 200,000 rows took 42 s with the machine
   shared (load average 5.6): about 3 to 4 minutes for 1,000,000, less when it is quiet.
3. Latency: one connection, sequential requests for `--latency-duration` seconds each, in
   `--latency-rounds` alternated rounds (the median of the rounds is reported),
   through the gateway with real tokens: the queue page of an agent of the largest
   administration (newest first, 50 items), its second page by cursor, filtered by status,
   by overdue; the public statistics (12 and 24 months, 50 administrations a page) as
   configured by default (a page computed at most once a minute per process), then again
   with that cache off (every request computes its page). Target: p99 < 50 ms at 1M rows.

The deadline scheduler is switched off in the complaints process and the gateway's rate
limits (one load generator is one client address) are off, so that the figures are those of
the requests alone; the load average is printed with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
KEY_SECRET = "bench-key-encryption-secret-not-for-production"
PARTS = ("identity", "complaints", "gateway")

SUBMIT_LUA = r"""
local tokens, admins, n = {}, {}, 0
init = function(args)
  for line in io.lines(args[1]) do tokens[#tokens + 1] = line end
  for line in io.lines(args[2]) do admins[#admins + 1] = line end
end
request = function()
  n = n + 1
  local body = '{"administration_id":"' .. admins[(n % #admins) + 1] .. '",' ..
    '"kind":"complaint","subject":"Réclamation de charge ' .. n .. '",' ..
    '"description":"Le guichet a refusé mon dossier sans motif écrit. شكاية رقم ' .. n .. '"}'
  return wrk.format("POST", "/v1/complaints", {
    ["Authorization"] = "Bearer " .. tokens[(n % #tokens) + 1],
    ["Content-Type"] = "application/json",
  }, body)
end
"""


# --- platform -------------------------------------------------------------------------------


async def prepare_database(admin_url: str, administrations: int) -> tuple[str, list[uuid.UUID]]:
    """A migrated throwaway database with `administrations` in identity and the replica."""
    from marfiq.distributed import migrate_all
    from marfiq_identity.administrations.models import AdministrationKind
    from marfiq_identity.administrations.schemas import AdministrationCreate
    from marfiq_identity.administrations.service import add_if_absent
    from marfiq_identity.db import SCHEMA, outbox
    from marfiq_shared.db import Database
    from marfiq_shared.testing import create_database

    url = await create_database(admin_url, prefix="marfiq_bench_complaints")
    await asyncio.to_thread(migrate_all, url)
    ids = [uuid.uuid4() for _ in range(administrations)]
    database = Database(url, schema=SCHEMA, source="identity-service", outbox=outbox)
    try:
        async with database.sessionmaker() as session, session.begin():
            for number, id_ in enumerate(ids):
                data = AdministrationCreate(
                    code=f"ADM-{number:04d}",
                    name_ar=f"إدارة رقم {number}",
                    name_fr=f"Administration n° {number}",
                    kind=AdministrationKind.commune,
                )
                await add_if_absent(session, data=data, administration_id=id_)
    finally:
        await database.dispose()
    # The complaints replica is filled from identity's events when the platform runs; here
    # it is written at once so the bench does not wait for the bus.
    connection = await _connect(url)
    try:
        await connection.executemany(
            "INSERT INTO complaints.administrations (id, code, name_ar, name_fr, kind, "
            "parent_id, active, version, updated_at) "
            "VALUES ($1, $2, $3, $4, 'commune', NULL, true, 1, now()) ON CONFLICT DO NOTHING",
            [
                (id_, f"ADM-{n:04d}", f"إدارة رقم {n}", f"Administration n° {n}")
                for n, id_ in enumerate(ids)
            ],
        )
    finally:
        await connection.close()
    return url, ids


async def _connect(url: str) -> Any:
    import asyncpg
    from sqlalchemy.engine import make_url

    return await asyncpg.connect(
        make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    )


async def mint_tokens(
    url: str, env: dict[str, str], *, citizens: int, agent_of: uuid.UUID
) -> tuple[list[str], str]:
    """Real access tokens: `citizens` citizens and one agent of `agent_of`."""
    from marfiq_identity.accounts.models import AccountKind
    from marfiq_identity.accounts.service import create_account
    from marfiq_identity.db import SCHEMA, outbox
    from marfiq_identity.keys.service import KeyRing
    from marfiq_identity.settings import IdentitySettings
    from marfiq_identity.tokens.service import start_session
    from marfiq_shared.db import Database

    settings = IdentitySettings(
        database_url=url,
        key_encryption_secret=env["IDENTITY_KEY_ENCRYPTION_SECRET"],
        marfiq_issuer=env["MARFIQ_ISSUER"],
    )
    database = Database(url, schema=SCHEMA, source="identity-service", outbox=outbox)
    tokens: list[str] = []
    try:
        keyring = KeyRing(settings)
        await keyring.refresh(database)
        async with database.sessionmaker() as session, session.begin():
            accounts = [
                await create_account(
                    session, kind=AccountKind.citizen, phone=f"+21266{n:07d}", language="fr"
                )
                for n in range(citizens)
            ]
            agent = await create_account(
                session,
                kind=AccountKind.agent,
                email="bench-agent@marfiq.ma",
                administration_id=agent_of,
            )
            now = datetime.now(UTC)
            for account in [*accounts, agent]:
                issued = await start_session(
                    session,
                    account=account,
                    acr="low",
                    amr=("otp",),
                    keyring=keyring,
                    settings=settings,
                    now=now,
                )
                tokens.append(issued.access_token)
    finally:
        await database.dispose()
    return tokens[:-1], tokens[-1]


def broker_url() -> str | None:
    """The local RabbitMQ when it answers; otherwise each process uses in-process events."""
    import socket
    from urllib.parse import urlsplit

    from marfiq_shared.testing import amqp_test_url

    url = amqp_test_url()
    parsed = urlsplit(url)
    try:
        socket.create_connection((parsed.hostname, parsed.port or 5672), timeout=1).close()
    except OSError:
        return None
    return url


# --- bulk load ------------------------------------------------------------------------------

BULK_INSERT = """
INSERT INTO complaints.complaints (
    id, tracking_number, kind, status, owner_sub, administration_id, subject, description,
    urgent, created_at, received_at, updated_at, due_ack_at, due_answer_at, assignee_id,
    acknowledged_at, answer, answered_at, first_answered_at, answer_count, reopen_until,
    closed_at, ack_overdue_at, answer_overdue_at, overdue_since, version)
SELECT
    gen_random_uuid(),
    'PLT-BULK-' || lpad(g::text, 10, '0'),
    (ARRAY['complaint', 'complaint', 'complaint', 'observation', 'suggestion',
           'information_request'])[1 + g % 6],
    s.status,
    'bulk-citizen-' || (g % 200000),
    a.id,
    (ARRAY['Retard de délivrance', 'Coupure d''eau', 'شكاية بخصوص الطريق',
           'Accueil au guichet', 'طلب الحصول على معلومات', 'Facture contestée'])[1 + g % 6]
        || ' n° ' || g,
    'Description de la réclamation numéro ' || g || '. وصف الشكاية رقم ' || g
        || '. Le citoyen attend une réponse de l''administration.',
    false,
    t.created, t.created, t.created,
    t.created + interval '15 days', t.created + interval '60 days',
    CASE WHEN s.status IN ('assigned', 'answered', 'closed', 'reopened')
         THEN 'bulk-agent-' || (g % 50) END,
    CASE WHEN s.status NOT IN ('submitted', 'rejected') THEN t.created + interval '3 days' END,
    CASE WHEN s.answered THEN 'Réponse de l''administration.' END,
    CASE WHEN s.answered THEN t.created + make_interval(days => d.days) END,
    CASE WHEN s.answered THEN t.created + make_interval(days => d.days) END,
    CASE WHEN s.answered THEN 1 ELSE 0 END,
    CASE WHEN s.status = 'answered' THEN t.created + make_interval(days => d.days + 30) END,
    CASE WHEN s.status IN ('closed', 'rejected') THEN t.created + interval '70 days' END,
    NULL,
    CASE WHEN s.overdue THEN t.created + interval '61 days' END,
    CASE WHEN s.overdue THEN t.created + interval '61 days' END,
    3
FROM generate_series($1::bigint, $2::bigint) AS g
CROSS JOIN LATERAL (
    -- A few administrations receive most complaints, as ministries do.
    -- (g * 0 + random()): referring to g makes each row draw its own number.
    SELECT ($3::uuid[])[1 + floor($4 * power(g * 0 + random(), 2))::int] AS id
) AS a
CROSS JOIN LATERAL (
    SELECT now() - make_interval(secs => (g * 0 + random()) * 730 * 86400) AS created
) AS t
CROSS JOIN LATERAL (SELECT ((g * 0 + random()) * random() * 90)::int AS days) AS d
CROSS JOIN LATERAL (
    SELECT v.status, v.status IN ('answered', 'closed') AS answered,
           v.status IN ('acknowledged', 'assigned') AND t.created < now() - interval '61 days'
               AND g % 10 = 0 AS overdue
    FROM (SELECT CASE
        WHEN t.created > now() - interval '20 days' AND g % 3 = 0 THEN 'submitted'
        WHEN g % 100 < 4 THEN 'rejected'
        WHEN g % 100 < 9 THEN 'acknowledged'
        WHEN g % 100 < 18 THEN 'assigned'
        WHEN g % 100 < 30 THEN 'answered'
        ELSE 'closed' END AS status) AS v
) AS s
"""

BULK_STATS = """
INSERT INTO complaints.stats_monthly AS m (
    administration_id, month, received, answered, answered_on_time, answer_days_total, rejected)
SELECT administration_id,
       date_trunc('month', received_at AT TIME ZONE 'Africa/Casablanca')::date,
       count(*),
       count(first_answered_at),
       count(*) FILTER (WHERE first_answered_at <= due_answer_at),
       coalesce(sum((first_answered_at AT TIME ZONE 'Africa/Casablanca')::date
                    - (received_at AT TIME ZONE 'Africa/Casablanca')::date), 0),
       count(*) FILTER (WHERE status = 'rejected')
FROM complaints.complaints WHERE tracking_number LIKE 'PLT-BULK-%'
GROUP BY 1, 2
ON CONFLICT (administration_id, month) DO UPDATE SET
    received = m.received + excluded.received,
    answered = m.answered + excluded.answered,
    answered_on_time = m.answered_on_time + excluded.answered_on_time,
    answer_days_total = m.answer_days_total + excluded.answer_days_total,
    rejected = m.rejected + excluded.rejected
"""

BULK_HISTOGRAM = """
SELECT administration_id, month, array_agg(count ORDER BY days) AS counts,
       array_agg(days ORDER BY days) AS days
FROM (
    SELECT administration_id,
           date_trunc('month', received_at AT TIME ZONE 'Africa/Casablanca')::date AS month,
           least((first_answered_at AT TIME ZONE 'Africa/Casablanca')::date
                 - (received_at AT TIME ZONE 'Africa/Casablanca')::date, 366) AS days,
           count(*) AS count
    FROM complaints.complaints
    WHERE tracking_number LIKE 'PLT-BULK-%' AND first_answered_at IS NOT NULL
    GROUP BY 1, 2, 3
) AS per_day
GROUP BY 1, 2
"""


SECONDARY_INDEXES = """
SELECT indexname, indexdef FROM pg_indexes
WHERE schemaname = 'complaints' AND tablename = 'complaints'
  AND indexname NOT IN (
      SELECT conname FROM pg_constraint WHERE conrelid = 'complaints.complaints'::regclass)
"""


async def bulk_load(url: str, ids: list[uuid.UUID], rows: int, batch: int = 100_000) -> None:
    """`rows` complaints in batches (one statement each), then their monthly statistics."""
    connection = await _connect(url)
    try:
        await connection.execute("SET synchronous_commit = off")
        await connection.execute("SET maintenance_work_mem = '256MB'")
        began = time.perf_counter()
        # Secondary indexes (the queues' B-trees, the full-text GIN) are built once at the
        # end, several times faster than maintained row by row; constraints stay.
        indexes = await connection.fetch(SECONDARY_INDEXES)
        for index in indexes:
            await connection.execute(f"DROP INDEX complaints.{index['indexname']}")
        # The generated search vector (regexp over every text) makes the insert CPU-bound:
        # one loader per core, each taking the next batch.
        batches = iter(range(1, rows + 1, batch))
        loaded = 0

        async def loader() -> None:
            nonlocal loaded
            worker = await _connect(url)
            try:
                await worker.execute("SET synchronous_commit = off")
                for start in batches:
                    end = min(start + batch - 1, rows)
                    await worker.execute(BULK_INSERT, start, end, ids, float(len(ids)))
                    loaded += end - start + 1
                    print(
                        f"  loaded {loaded:>9,} rows ({time.perf_counter() - began:5.0f} s)",
                        flush=True,
                    )
            finally:
                await worker.close()

        await asyncio.gather(*(loader() for _ in range(os.cpu_count() or 1)))
        for index in indexes:
            await connection.execute(index["indexdef"])
        print(
            f"  {len(indexes)} indexes rebuilt ({time.perf_counter() - began:5.0f} s)",
            flush=True,
        )
        await connection.execute(BULK_STATS)
        histograms = await connection.fetch(BULK_HISTOGRAM)
        updates = []
        for row in histograms:
            counts = [0] * (max(row["days"]) + 1)
            for day, count in zip(row["days"], row["counts"], strict=True):
                counts[day] = count
            updates.append((row["administration_id"], row["month"], counts))
        await connection.executemany(
            "UPDATE complaints.stats_monthly SET answer_days = $3 "
            "WHERE administration_id = $1 AND month = $2",
            updates,
        )
        await connection.execute("VACUUM ANALYZE complaints.complaints")
        await connection.execute("VACUUM ANALYZE complaints.stats_monthly")
        # Write the loaded pages out now rather than during the measurements.
        await connection.execute("CHECKPOINT")
        total = await connection.fetchval("SELECT count(*) FROM complaints.complaints")
        print(f"  {total:,} complaints in the table, loaded in {time.perf_counter() - began:.0f} s")
    finally:
        await connection.close()


# --- measuring ------------------------------------------------------------------------------


def wrk(
    url: str, *, connections: int, duration: float, script: Path | None = None, args: list[str]
) -> dict[str, float]:
    """One wrk run: requests per second, latency percentiles, refused answers."""
    command = [
        "wrk", "-t1", f"-c{connections}", f"-d{max(1, round(duration))}s", "--latency",
        "--timeout", "10s",
    ]  # fmt: skip
    if script is not None:
        command += ["-s", str(script)]
    command += [url]
    if args:
        command += ["--", *args]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),  # type: ignore[union-attr]
        "requests": float(re.search(r"(\d+) requests in", output).group(1)),  # type: ignore[union-attr]
        "p50_ms": _ms(output, "50%"),
        "p99_ms": _ms(output, "99%"),
        "failed": float(errors.group(1)) if errors else 0.0,
        "socket_errors": 1.0 if socket_errors else 0.0,
    }


def _ms(output: str, percentile: str) -> float:
    match = re.search(rf"^\s+{re.escape(percentile)}\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
    if match is None:
        raise RuntimeError(f"no {percentile} in wrk output:\n{output}")
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def latency(url: str, token: str, duration: float) -> dict[str, float]:
    """Sequential requests on one connection (latency, not queueing), all must be 200."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(
            f'wrk.headers["Authorization"] = "Bearer {token}"\n' if token else "-- public\n"
        )
    try:
        wrk(url, connections=1, duration=1, script=Path(script.name), args=[])  # warm-up
        result = wrk(url, connections=1, duration=duration, script=Path(script.name), args=[])
    finally:
        os.unlink(script.name)
    if result["failed"]:
        raise RuntimeError(f"{result['failed']:.0f} failed answers from {url}")
    return result


async def check(url: str, token: str | None) -> dict[str, Any]:
    import httpx

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.get(url, headers=headers)
    if response.status_code != 200:
        raise RuntimeError(f"{url}: {response.status_code} {response.text[:300]}")
    body: dict[str, Any] = response.json()
    return body


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: process exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} not ready after {timeout} s")


# --- the benchmark --------------------------------------------------------------------------


@dataclass
class Bench:
    """A migrated throwaway database, the platform's environment and ports, and (once
    `start` ran) its processes, real tokens and the wrk script that files complaints."""

    admin_url: str
    amqp: str | None
    database_url: str
    administrations: list[uuid.UUID]
    env: dict[str, str]
    ports: dict[str, int]
    storage: Path
    scratch: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    citizen_count: int = 200
    citizens: list[str] = field(default_factory=list)
    agent: str = ""

    @property
    def gateway(self) -> str:
        return f"http://127.0.0.1:{self.ports['gateway']}"

    @property
    def service(self) -> str:
        return f"http://127.0.0.1:{self.ports['complaints']}"

    async def start(self, workers: dict[str, int], pool: int) -> None:
        """Identity, complaints and the gateway, each with its uvicorn worker count;
        `pool` database connections per complaints worker."""
        from marfiq.distributed import start_process

        env = self.env | {"COMPLAINTS_DATABASE_POOL_SIZE": str(pool)}
        for part in PARTS:
            self.processes[part] = start_process(
                part, env, self.ports[part], workers=workers.get(part, 1)
            )
            # The gateway is ready only when every service answers; two are not started.
            probe = "/livez" if part == "gateway" else "/readyz"
            wait_ready(f"http://127.0.0.1:{self.ports[part]}{probe}", self.processes[part])
        if not self.citizens:  # identity's signing key exists once it started
            self.citizens, self.agent = await mint_tokens(
                self.database_url,
                self.env,
                citizens=self.citizen_count,
                agent_of=self.administrations[0],
            )
            (self.scratch / "tokens.txt").write_text("\n".join(self.citizens) + "\n")
            (self.scratch / "admins.txt").write_text(
                "\n".join(map(str, self.administrations)) + "\n"
            )
            (self.scratch / "submit.lua").write_text(SUBMIT_LUA)
        await check(self.gateway + "/v1/complaints?limit=1", self.citizens[0])

    def stop(self) -> None:
        """Stop the processes (the database stays)."""
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes.clear()

    def submissions(self, url: str, *, connections: int, duration: float) -> dict[str, float]:
        """One wrk run of filings against `url` (every answer must be 201), with the CPU
        each of our processes (with its workers) spent per filing, in ms."""
        script_args = [str(self.scratch / "tokens.txt"), str(self.scratch / "admins.txt")]
        database = self.database_url.rsplit("/", 1)[1]
        before = _processes_cpu(self.processes, database)
        result = wrk(
            url,
            connections=connections,
            duration=duration,
            script=self.scratch / "submit.lua",
            args=script_args,
        )
        if result["failed"]:
            raise RuntimeError(f"{result['failed']:.0f} submissions were not 201")
        after = _processes_cpu(self.processes, database)
        return result | _cpu_per_op(before, after, result["requests"])


@asynccontextmanager
async def bench_platform(administrations: int, citizens: int) -> AsyncIterator[Bench]:
    """A `Bench` on a fresh database (and exchange), removed with everything at the end."""
    from marfiq.distributed import delete_topology, platform_env
    from marfiq_shared.testing import drop_database, postgres_admin_url

    admin_url = postgres_admin_url()
    amqp = broker_url()
    run_id = uuid.uuid4().hex[:8]
    database_url, ids = await prepare_database(admin_url, administrations)
    ports = {
        part: _free_port()
        for part in ("gateway", "identity", "correspondence", "complaints", "pensions")
    }
    storage = Path(tempfile.mkdtemp(prefix="marfiq-bench-attachments-"))
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "MARFIQ_"))}
    base |= {
        "DATABASE_URL": database_url,
        "IDENTITY_KEY_ENCRYPTION_SECRET": KEY_SECRET,
        "LOG_LEVEL": "WARNING",
        "EVENT_EXCHANGE": f"marfiq.bench.{run_id}",
        "EVENT_QUEUE_PREFIX": f"bench-{run_id}-",
        "COMPLAINTS_SCHEDULER_ENABLED": "false",
        "COMPLAINTS_STORAGE_URL": str(storage),
        # One load generator is one client address: the gateway's per-address and
        # per-token rate limits would measure themselves, not the service.
        "GATEWAY_RATE_LIMIT_PER_ADDRESS": "0",
        "GATEWAY_RATE_LIMIT_PER_CLIENT": "0",
    }
    if amqp:
        base["AMQP_URL"] = amqp
    else:
        base.pop("AMQP_URL", None)
    env = platform_env(base, ports)
    if not amqp:
        env.pop("AMQP_URL", None)
    bench = Bench(
        admin_url=admin_url,
        amqp=amqp,
        database_url=database_url,
        administrations=ids,
        env=env,
        ports=ports,
        storage=storage,
        scratch=Path(tempfile.mkdtemp(prefix="marfiq-bench-")),
        citizen_count=citizens,
    )
    try:
        yield bench
    finally:
        bench.stop()
        if amqp:
            await delete_topology(amqp, env["EVENT_EXCHANGE"], env["EVENT_QUEUE_PREFIX"])
        await drop_database(admin_url, database_url)
        shutil.rmtree(storage, ignore_errors=True)
        shutil.rmtree(bench.scratch, ignore_errors=True)


def describe_machine() -> str:
    """What shares the machine with the figures that follow."""
    return (
        f"{os.cpu_count()} CPU(s), load average {os.getloadavg()[0]:.1f} before start; "
        f"events on {'RabbitMQ' if broker_url() else 'in-process transports (no broker)'}; "
        f"load generator: wrk, one thread"
    )


async def run(args: argparse.Namespace) -> None:
    print(describe_machine(), flush=True)
    async with bench_platform(args.administrations, args.citizens) as bench:
        # As bench_scaling: every part of the path gets the workers, the gateway too (a
        # second complaints worker behind one gateway mostly gets the gateway's
        # keep-alive connections unevenly).
        workers = args.workers
        await bench.start(
            {"identity": workers, "complaints": workers, "gateway": workers},
            pool=pool_size(args, workers),
        )
        submissions = await measure_submissions(args, bench)

        print(f"bulk load: {args.rows:,} complaints (generate_series, not the API)", flush=True)
        await bulk_load(bench.database_url, bench.administrations, args.rows)
        biggest = bench.administrations[0]
        queue_size = await _scalar(
            bench.database_url,
            "SELECT count(*) FROM complaints.complaints WHERE administration_id = $1",
            biggest,
        )
        overdue = await _scalar(
            bench.database_url,
            "SELECT count(*) FROM complaints.complaints WHERE administration_id = $1 "
            "AND overdue_since IS NOT NULL",
            biggest,
        )
        print(
            f"agent's administration holds {queue_size:,} complaints ({overdue:,} overdue)",
            flush=True,
        )
        figures = await measure_latency(args, gateway=bench.gateway, agent=bench.agent)
        # The same statistics with the per-process cache off: the cost of computing a page.
        from marfiq.distributed import start_process

        complaints = bench.processes["complaints"]
        complaints.terminate()
        complaints.wait(timeout=15)
        uncached_env = bench.env | {"COMPLAINTS_STATS_CACHE_S": "0"}
        bench.processes["complaints"] = start_process(
            "complaints", uncached_env, bench.ports["complaints"]
        )
        wait_ready(f"{bench.service}/readyz", bench.processes["complaints"])
        figures |= await measure_latency(
            args,
            gateway=bench.gateway,
            agent=bench.agent,
            only=("statistics",),
            suffix=", no cache",
        )

    best = max(result["rps"] for result in submissions["gateway"])
    direct = max(result["rps"] for result in submissions["direct"])
    worst_p99 = max(result["p99_ms"] for result in figures.values())
    print(
        f"RESULT submissions through the gateway: {best:.0f}/s best of {args.rounds} "
        f"(target >= 500), straight to the service {direct:.0f}/s; p99 at {args.rows:,} rows: "
        f"queue {figures['queue page (newest 50)']['p99_ms']:.1f} ms, statistics "
        f"{figures['statistics (12 months)']['p99_ms']:.1f} ms (computed: "
        f"{figures['statistics (12 months), no cache']['p99_ms']:.1f} ms), worst of all "
        f"{worst_p99:.1f} ms (target < 50 ms); load average {os.getloadavg()[0]:.1f} at the end"
    )


def pool_size(args: argparse.Namespace, workers: int) -> int:
    """Connections per complaints worker: `--pool`, or enough for its share of the load.
    A pool smaller than the concurrent requests opens and closes overflow connections all
    the time (a Postgres backend each), which measures connection churn, not filings."""
    return args.pool or args.connections // workers + 4


def cpu_summary(result: dict[str, float]) -> str:
    """ "identity 0.08, complaints 1.90 (busiest worker 55%), gateway 0.30, postgres 0.90"
    (ms of CPU per filing)."""
    parts = []
    for key, value in result.items():
        if key.startswith("cpu_"):
            part = key.removeprefix("cpu_")
            busiest = result.get(f"busiest_{part}")
            share = f" (busiest worker {busiest:.0%})" if busiest is not None else ""
            parts.append(f"{part} {value:.2f}{share}")
    return ", ".join(parts)


async def measure_submissions(
    args: argparse.Namespace, bench: Bench
) -> dict[str, list[dict[str, float]]]:
    """Rounds of wrk POSTs, through the gateway then straight to the service, with the CPU
    each of our processes spent per submission."""
    print(
        f"submissions: {args.connections} connections x {args.duration:.0f} s, "
        f"{len(bench.citizens)} citizens, {args.administrations} administrations; through "
        "the gateway, and straight to the service for comparison",
        flush=True,
    )
    urls = {"gateway": bench.gateway + "/v1/complaints", "direct": bench.service + "/v1/complaints"}
    for url in urls.values():  # warm-up: pools, prepared statements, token caches
        await asyncio.to_thread(bench.submissions, url, connections=args.connections, duration=2)
    submissions: dict[str, list[dict[str, float]]] = {name: [] for name in urls}
    for round_ in range(args.rounds):
        for name, url in urls.items():
            result = await asyncio.to_thread(
                bench.submissions, url, connections=args.connections, duration=args.duration
            )
            submissions[name].append(result)
            print(
                f"  round {round_ + 1} {name:<7} {result['rps']:6.0f} submissions/s "
                f"(p50 {result['p50_ms']:6.1f} ms, p99 {result['p99_ms']:6.1f} ms); "
                f"CPU ms per submission: {cpu_summary(result)}; "
                f"load average {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    return submissions


async def measure_latency(
    args: argparse.Namespace,
    *,
    gateway: str,
    agent: str,
    only: tuple[str, ...] = ("queue", "statistics"),
    suffix: str = "",
) -> dict[str, dict[str, float]]:
    """p50/p99 of the agent's queue pages and of the statistics, one connection."""
    first_page = await check(gateway + "/v1/complaints?limit=50", agent)
    queue = gateway + "/v1/complaints?limit=50"
    targets = {
        "queue page (newest 50)": (queue, agent),
        "queue page 2 (cursor)": (f"{queue}&cursor={first_page['next_cursor']}", agent),
        "queue, status=assigned": (queue + "&status=assigned", agent),
        "queue, overdue=true": (queue + "&overdue=true", agent),
        "statistics (12 months)": (gateway + "/v1/complaints/stats", ""),
        "statistics, 24 months": (gateway + "/v1/complaints/stats?from=" + _months_ago(23), ""),
    }
    chosen = {name + suffix: target for name, target in targets.items() if name.startswith(only)}
    for url, token in chosen.values():
        await check(url, token or None)
    # Rounds alternate the targets, so that a burst of a neighbour's load falls on all of
    # them alike; each figure is the median over the rounds.
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in chosen}
    for round_ in range(args.latency_rounds):
        for name, (url, token) in chosen.items():
            result = latency(url, token, args.latency_duration)
            runs[name].append(result)
            print(
                f"  round {round_ + 1} {name:<34} p50 {result['p50_ms']:6.2f} ms  "
                f"p99 {result['p99_ms']:6.2f} ms  ({result['requests']:.0f} requests; "
                f"load average {os.getloadavg()[0]:.1f})",
                flush=True,
            )
    figures = {
        name: {key: median([run[key] for run in results]) for key in results[0]}
        for name, results in runs.items()
    }
    for name, figure in figures.items():
        print(
            f"  median {name:<33} p50 {figure['p50_ms']:6.2f} ms  p99 {figure['p99_ms']:6.2f} ms",
            flush=True,
        )
    return figures


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


async def _scalar(url: str, query: str, *params: Any) -> Any:
    connection = await _connect(url)
    try:
        return await connection.fetchval(query, *params)
    finally:
        await connection.close()


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time a process used so far (Linux /proc); 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _processes_cpu(
    processes: dict[str, subprocess.Popen[bytes]], database: str
) -> dict[str, dict[int, float]]:
    """CPU seconds of each process of each part: our processes with their children (uvicorn
    workers), and "postgres": the backends serving `database` (the bench's own database,
    so a neighbour's queries do not count)."""
    children: dict[int, list[int]] = {}
    backends: list[int] = []
    marker = f" {database} ".encode()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                command = (entry / "cmdline").read_bytes()
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
            if command.startswith(b"postgres: ") and marker in command:
                backends.append(int(entry.name))
    spent = {
        part: {pid: _cpu_seconds(pid) for pid in (process.pid, *children.get(process.pid, ()))}
        for part, process in processes.items()
    }
    spent["postgres"] = {pid: _cpu_seconds(pid) for pid in backends}
    return spent


def _cpu_per_op(
    before: dict[str, dict[int, float]], after: dict[str, dict[int, float]], operations: float
) -> dict[str, float]:
    """ms of CPU per operation of each part, and for a part of several busy processes (the
    uvicorn workers) the share of its busiest one: how evenly the connections spread.

    A process started during the run (a pooled backend opened late) counts whole; one that
    ended during it is missed (pools are sized so that none is closed under load)."""
    figures: dict[str, float] = {}
    for part, processes in after.items():
        used = {pid: cpu - before.get(part, {}).get(pid, 0.0) for pid, cpu in processes.items()}
        total = sum(used.values())
        figures[f"cpu_{part}"] = 1000 * total / operations
        busy = sorted(used.values(), reverse=True)
        if part != "postgres" and len(busy) > 2 and total > 0:  # supervisor + 2+ workers
            figures[f"busiest_{part}"] = busy[0] / total
    return figures


def _months_ago(months: int) -> str:
    now = datetime.now(UTC)
    index = now.year * 12 + now.month - 1 - months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="complaints bulk-loaded")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per submit run")
    parser.add_argument("--latency-duration", type=float, default=10.0)
    parser.add_argument("--latency-rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--citizens", type=int, default=200)
    parser.add_argument("--administrations", type=int, default=200)
    parser.add_argument(
        "--pool", type=int, default=0, help="complaints connections per worker (0: enough)"
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="uvicorn workers of identity, complaints, gateway"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench_complaints needs wrk (apt-get install -y wrk)")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
