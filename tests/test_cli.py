"""The operator's command line against a throwaway migrated database and a uniquely named
exchange and queues on the local RabbitMQ: each command does what it says, writes go
through identity's own functions (their events land in the outbox), refusals exit 1.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import Iterator
from typing import Any

import aio_pika
import asyncpg
import pytest
from sqlalchemy.engine import make_url

from marfiq.cli import main
from marfiq.distributed import delete_topology, migrate_all
from marfiq_identity.administrations.seed import seed_directory
from marfiq_shared.testing import (
    amqp_test_url,
    create_database,
    drop_database,
    postgres_admin_url,
    require_url,
)

KEY_SECRET = "cli-test-key-encryption-secret"


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    admin = postgres_admin_url()
    require_url(admin, "Postgres")
    url = run(create_database(admin, prefix="marfiq_cli"))
    try:
        migrate_all(url)
        run(seed_directory(url))
        yield url
    finally:
        run(drop_database(admin, url))


@pytest.fixture
def env(database: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The environment an operator would have: the platform's URLs, nothing service-local.
    What the commands declared on the shared broker (their events' exchange) goes after."""
    run_id = uuid.uuid4().hex[:8]
    values = {
        "DATABASE_URL": database,
        "AMQP_URL": amqp_test_url(),
        "EVENT_EXCHANGE": f"marfiq.cli.{run_id}",
        "EVENT_QUEUE_PREFIX": f"cli-{run_id}-",
        "IDENTITY_KEY_ENCRYPTION_SECRET": KEY_SECRET,
    }
    for prefix in ("IDENTITY", "CORRESPONDENCE", "COMPLAINTS", "PENSIONS"):
        monkeypatch.delenv(f"{prefix}_DATABASE_URL", raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    yield values
    run(delete_topology(values["AMQP_URL"], values["EVENT_EXCHANGE"], values["EVENT_QUEUE_PREFIX"]))


def marfiq(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run `marfiq argv…`; return exit status, stdout, stderr."""
    try:
        main(list(argv))
        status = 0
    except SystemExit as exit_:
        status = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


async def _fetch(url: str, sql: str, *args: object) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(make_url(url).render_as_string(hide_password=False))
    try:
        return await connection.fetch(sql, *args)
    finally:
        await connection.close()


def fetch(url: str, sql: str, *args: object) -> list[asyncpg.Record]:
    return run(_fetch(url, sql, *args))


def code() -> str:
    return f"CLI-{uuid.uuid4().hex[:6].upper()}"


# ---------------------------------------------------------------- identity writes


def test_create_administration_writes_the_row_and_its_event(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    new = code()
    status, out, _ = marfiq(
        capsys,
        "create-administration",
        "--code",
        new,
        "--name-fr",
        "Agence de test",
        "--name-ar",
        "وكالة الاختبار",
        "--kind",
        "public_establishment",
        "--parent",
        "MI",
    )
    assert status == 0
    (row,) = fetch(
        env["DATABASE_URL"],
        "SELECT id, name_ar, parent_id FROM identity.administrations WHERE code = $1",
        new,
    )
    assert str(row["id"]) in out
    assert row["name_ar"] == "وكالة الاختبار"
    (event,) = fetch(
        env["DATABASE_URL"],
        "SELECT type, convert_from(payload, 'UTF8')::jsonb AS envelope, published_at "
        "FROM identity.outbox WHERE subject = $1",
        str(row["id"]),
    )
    assert event["type"] == "identity.administration.created"
    envelope = json.loads(event["envelope"])
    assert envelope["data"]["code"] == new
    assert envelope["data"]["parent_id"] == str(row["parent_id"])
    assert event["published_at"] is None  # the relay of a running identity sends it


def test_a_taken_code_is_refused_and_writes_nothing(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    before = fetch(env["DATABASE_URL"], "SELECT count(*) AS n FROM identity.outbox")[0]["n"]
    status, _, err = marfiq(
        capsys,
        "create-administration",
        "--code",
        "MI",
        "--name-fr",
        "Doublon",
        "--name-ar",
        "نسخة",
        "--kind",
        "ministry",
    )
    assert status == 1
    assert "administration-code-taken" in err
    after = fetch(env["DATABASE_URL"], "SELECT count(*) AS n FROM identity.outbox")[0]["n"]
    assert after == before


def test_create_admin_makes_one_platform_administrator(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    email = f"ops-{uuid.uuid4().hex[:6]}@marfiq.ma"
    first = marfiq(capsys, "create-admin", "--email", email.upper())
    again = marfiq(capsys, "create-admin", "--email", email)
    assert first[0] == again[0] == 0
    rows = fetch(
        env["DATABASE_URL"], "SELECT id, kind, roles FROM identity.accounts WHERE email = $1", email
    )
    (account,) = rows
    assert account["kind"] == "platform_admin"
    assert str(account["id"]) in first[1]
    assert str(account["id"]) in again[1]


def test_create_client_prints_its_secret_once_and_keeps_only_the_hash(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = marfiq(
        capsys,
        "create-client",
        "--administration",
        "MI",
        "--name",
        "Système de liquidation",
        "--scopes",
        "pensions:declare,complaints:read",
    )
    assert status == 0
    lines = dict(line.split(":", 1) for line in out.splitlines() if line.startswith("client_"))
    client_id, secret = lines["client_id"].strip(), lines["client_secret"].strip()
    assert secret.startswith("mcs_")
    (row,) = fetch(
        env["DATABASE_URL"],
        "SELECT c.secret_hash, c.scopes, a.code FROM identity.clients c "
        "JOIN identity.administrations a ON a.id = c.administration_id WHERE c.client_id = $1",
        client_id,
    )
    assert bytes(row["secret_hash"]) == hashlib.sha256(secret.encode()).digest()
    assert sorted(row["scopes"]) == ["complaints:read", "pensions:declare"]
    assert row["code"] == "MI"


def test_create_client_refuses_an_unknown_administration_or_scope(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    unknown = marfiq(
        capsys, "create-client", "--administration", "NOPE", "--name", "x", "--scopes", "a:b"
    )
    assert unknown[0] == 1
    assert "NOPE" in unknown[2]
    bad = marfiq(
        capsys, "create-client", "--administration", "MI", "--name", "x", "--scopes", "Bad"
    )
    assert bad[0] == 1
    assert "scopes" in bad[2]


def test_rotate_keys_makes_a_new_current_key(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    first = marfiq(capsys, "rotate-keys")
    second = marfiq(capsys, "rotate-keys", "--revoke-previous")
    assert first[0] == second[0] == 0
    kids = [out.split()[2] for out in (first[1], second[1])]
    assert kids[0] != kids[1]
    rows = fetch(
        env["DATABASE_URL"],
        "SELECT kid, not_before <= now() AS signing, retire_after <= now() AS retired "
        "FROM identity.signing_keys WHERE kid = ANY($1::text[])",
        kids,
    )
    state = {row["kid"]: (row["signing"], row["retired"]) for row in rows}
    assert state[kids[1]] == (True, False)
    assert state[kids[0]][1] is True  # --revoke-previous withdrew the first


def test_rotate_keys_needs_the_key_encryption_secret(
    env: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IDENTITY_KEY_ENCRYPTION_SECRET")
    status, _, err = marfiq(capsys, "rotate-keys")
    assert status == 1
    assert "IDENTITY_KEY_ENCRYPTION_SECRET" in err


# ---------------------------------------------------------------- outbox lag


def test_outbox_lag_reports_the_unpublished_backlog_per_service(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    marfiq(
        capsys,
        "create-administration",
        *("--code", code(), "--name-fr", "Lag", "--name-ar", "تأخر", "--kind", "other"),
    )
    expected = fetch(
        env["DATABASE_URL"],
        "SELECT count(*) AS n, extract(epoch FROM now() - min(created_at)) AS age "
        "FROM identity.outbox WHERE published_at IS NULL",
    )[0]
    status, out, _ = marfiq(capsys, "outbox-lag", "--json")
    assert status == 0
    lags = {lag["service"]: lag for lag in json.loads(out)}
    assert set(lags) == {"identity", "correspondence", "complaints", "pensions"}
    assert lags["identity"]["backlog"] == expected["n"] >= 1
    assert lags["identity"]["oldest_age_s"] >= float(expected["age"]) - 1
    assert lags["pensions"] == {"service": "pensions", "backlog": 0, "oldest_age_s": None}

    status, out, _ = marfiq(capsys, "outbox-lag")
    assert status == 0
    assert out.splitlines()[1].split()[:2] == ["identity", str(expected["n"])]
    # For monitoring: the oldest unpublished event is older than zero seconds.
    assert marfiq(capsys, "outbox-lag", "--fail-above", "0")[0] == 2
    assert marfiq(capsys, "outbox-lag", "--fail-above", "86400")[0] == 0


# ---------------------------------------------------------------- dead letters


@pytest.fixture
def complaints_queues(env: dict[str, str]) -> Iterator[tuple[str, str]]:
    """The complaints queue and its dead-letter queue, as the transport declares them."""
    require_url(amqp_test_url(), "RabbitMQ")
    queue = f"{env['EVENT_QUEUE_PREFIX']}complaints-service"

    async def declare() -> None:
        connection = await aio_pika.connect(amqp_test_url())
        async with connection:
            channel = await connection.channel()
            for name in (queue, f"{queue}.dlq"):
                await channel.declare_queue(
                    name, durable=True, arguments={"x-queue-type": "quorum"}
                )
            dead = aio_pika.Message(
                b'{"specversion": "1.0", "id": "evt-1", "type": "identity.administration.created"}',
                message_id="evt-1",
                type="identity.administration.created",
                headers={"x-marfiq-attempt": 4, "x-marfiq-error": "KeyError: 'parent'"},
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            )
            await channel.default_exchange.publish(dead, routing_key=f"{queue}.dlq")

    async def delete() -> None:
        connection = await aio_pika.connect(amqp_test_url())
        async with connection:
            channel = await connection.channel()
            for name in (queue, f"{queue}.dlq"):
                await channel.queue_delete(name)

    run(declare())
    try:
        yield queue, f"{queue}.dlq"
    finally:
        run(delete())


async def _take(queue: str) -> aio_pika.abc.AbstractIncomingMessage | None:
    connection = await aio_pika.connect(amqp_test_url())
    async with connection:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, passive=True)
        message = await declared.get(no_ack=True, fail=False)
        return message


def test_dlq_list_peek_and_replay_move_a_dead_letter_back(
    complaints_queues: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    queue, _ = complaints_queues
    status, out, _ = marfiq(capsys, "dlq", "list", "--json")
    assert status == 0
    counts = json.loads(out)
    assert counts["complaints"] == 1
    assert counts["pensions"] is None  # never declared under this prefix

    status, out, _ = marfiq(capsys, "dlq", "peek", "--service", "complaints", "--json")
    assert status == 0
    (letter,) = json.loads(out)
    assert letter["id"] == "evt-1"
    assert letter["attempts"] == 4
    assert letter["error"] == "KeyError: 'parent'"
    # Peeking leaves it where it was.
    assert json.loads(marfiq(capsys, "dlq", "list", "--json")[1])["complaints"] == 1

    status, out, _ = marfiq(capsys, "dlq", "replay", "--service", "complaints")
    assert status == 0
    assert out.startswith(f"1 dead letters sent back to {queue}")
    assert json.loads(marfiq(capsys, "dlq", "list", "--json")[1])["complaints"] == 0
    replayed = run(_take(queue))
    assert replayed is not None
    assert replayed.message_id == "evt-1"
    # A fresh start: the attempt count and the error are gone.
    assert "x-marfiq-attempt" not in (replayed.headers or {})
    assert "x-marfiq-error" not in (replayed.headers or {})


def test_dlq_peek_needs_a_service_and_an_existing_queue(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    require_url(amqp_test_url(), "RabbitMQ")
    assert marfiq(capsys, "dlq", "peek")[0] == 1
    status, _, err = marfiq(capsys, "dlq", "replay", "--service", "pensions")
    assert status == 1
    assert "no queue" in err
