"""Requested notifications queued by the consumer, and delivered by the worker in batches:
rows in the right state, in as few statements as the batch allows."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from identity_support import make_settings
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from marfiq_identity.accounts.models import Account, AccountKind
from marfiq_identity.accounts.service import create_account
from marfiq_identity.db import SCHEMA, inbox, outbox
from marfiq_identity.notifications.channels import DeliveryFailed
from marfiq_identity.notifications.messages import Message
from marfiq_identity.notifications.postman import Postman
from marfiq_identity.notifications.service import on_notification_requested
from marfiq_identity.notifications.worker import RETRY_AFTER, DeliveryWorker
from marfiq_identity.subscriptions import SUBSCRIPTIONS
from marfiq_shared.db import Database
from marfiq_shared.events.catalogue import NotificationRequested
from marfiq_shared.events.consumer import Consumer
from marfiq_shared.events.envelope import CloudEvent
from marfiq_shared.events.transport import Delivery


@pytest.fixture
async def database(database_url: str, clean: None) -> AsyncIterator[Database]:
    """The identity database without the app: no delivery worker of its own polls it."""
    db = Database(database_url, schema=SCHEMA, source="identity-service", outbox=outbox)
    yield db
    await db.dispose()


class Provider:
    """Accepts every message except those to the addresses it is told to refuse."""

    def __init__(self, refused: set[str] | None = None) -> None:
        self.refused = refused or set()
        self.sent: list[Message] = []

    async def send(self, message: Message) -> None:
        if message.to in self.refused:
            raise DeliveryFailed("refused", transient=False)
        self.sent.append(message)

    async def close(self) -> None:
        return None


def worker(database: Database, database_url: str, provider: Provider) -> DeliveryWorker:
    settings = make_settings(database_url, delivery_attempts=1, delivery_backoff_s=0)
    postman = Postman({"sms": provider, "email": provider}, settings)
    return DeliveryWorker(database, postman, settings)


async def citizen(database: Database, **fields: Any) -> Account:
    async with database.sessionmaker() as session, session.begin():
        return await create_account(session, kind=AccountKind.citizen, **fields)


def request(**fields: Any) -> tuple[CloudEvent, NotificationRequested]:
    data = NotificationRequested(kind="correspondence.status_changed", **fields)
    event = CloudEvent(
        source="correspondence-service", type=data.type, data=data.model_dump(mode="json")
    )
    return event, data


def delivery(event: CloudEvent) -> Delivery:
    return Delivery(event.id, event.type, event.to_json(), 1)


PARAMS = {"registration_number": "CO-2026-000042", "status": {"fr": "reçue", "ar": "مستلمة"}}


async def rows(database_url: str, where: str = "true", *args: Any) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(database_url)
    try:
        return await connection.fetch(
            f"SELECT * FROM identity.deliveries WHERE {where} ORDER BY destination",
            *args,
        )
    finally:
        await connection.close()


@asynccontextmanager
async def counted_updates(database_url: str) -> AsyncIterator[Callable[[], Awaitable[int]]]:
    """Counts UPDATE statements on the deliveries (a statement-level trigger, whatever sends
    them: the ORM or the driver); dropped afterwards."""
    connection = await asyncpg.connect(database_url)
    await connection.execute(
        """
        CREATE SEQUENCE public.delivery_updates MINVALUE 0 START 0;
        CREATE FUNCTION public.count_delivery_update() RETURNS trigger LANGUAGE plpgsql
            AS $$ BEGIN PERFORM nextval('public.delivery_updates'); RETURN NULL; END $$;
        CREATE TRIGGER count_updates AFTER UPDATE ON identity.deliveries
            FOR EACH STATEMENT EXECUTE FUNCTION public.count_delivery_update();
        """
    )

    async def count() -> int:
        value, called = await connection.fetchrow(
            "SELECT last_value, is_called FROM public.delivery_updates"
        )
        return int(value) + 1 if called else 0

    try:
        yield count
    finally:
        await connection.execute(
            """
            DROP TRIGGER count_updates ON identity.deliveries;
            DROP FUNCTION public.count_delivery_update();
            DROP SEQUENCE public.delivery_updates;
            """
        )
        await connection.close()


class RoundTripCounter:
    """A loopback proxy in front of Postgres counting the round trips clients make: each
    Sync (extended protocol) or Query (simple protocol) message waits for the server's
    ReadyForQuery, whatever library sent it."""

    def __init__(self, url: str) -> None:
        self._target = make_url(url)
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()
        self.round_trips = 0
        self.url = ""

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = self._target.set(host="127.0.0.1", port=port).render_as_string(False)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for pipe in self._pipes:
            pipe.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(self._target.host, self._target.port)
        for pipe in (self._client(reader, up_writer), self._relay(up_reader, writer)):
            task = asyncio.create_task(pipe)
            self._pipes.add(task)
            task.add_done_callback(self._pipes.discard)

    async def _client(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            started = False
            while True:
                if not started:  # SSLRequest, then the startup message: no type byte
                    head = await source.readexactly(4)
                    body = await source.readexactly(struct.unpack("!i", head)[0] - 4)
                    started = struct.unpack("!i", body[:4])[0] == 196608
                else:
                    head = await source.readexactly(5)
                    body = await source.readexactly(struct.unpack("!i", head[1:])[0] - 4)
                    if head[:1] in (b"S", b"Q"):
                        self.round_trips += 1
                sink.write(head + body)
                await sink.drain()
        sink.close()

    @staticmethod
    async def _relay(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        sink.close()


# --- queueing ----------------------------------------------------------------------------


async def test_a_requested_notification_is_one_statement_of_the_consumers_transaction(
    database_url: str, clean: None
) -> None:
    counter = RoundTripCounter(database_url)
    await counter.start()
    database = Database(
        counter.url, schema=SCHEMA, source="identity-service", outbox=outbox, pool_size=1
    )
    try:
        person = await citizen(database, phone="+212661700030", email="rt@example.ma")
        spent: list[int] = []

        async def counted(session: Any, event: CloudEvent, data: Any) -> None:
            before = counter.round_trips
            await on_notification_requested(session, event, data)
            spent.append(counter.round_trips - before)

        consumer = Consumer(database, inbox, {NotificationRequested.type: counted}, queue="q")
        # The first ones prepare their statements on the connection.
        for _ in range(3):
            event, _data = request(recipient_sub=person.id, params=PARAMS)
            assert await consumer([delivery(event)]) == [None]

        # The person read and both channels queued, in one round trip.
        assert spent[-1] == 1
        assert len(await rows(database_url)) == 6
    finally:
        await database.dispose()
        await counter.stop()


async def test_a_notification_handled_twice_queues_each_channel_once(
    database: Database, database_url: str
) -> None:
    person = await citizen(database, phone="+212661700001", email="amal@example.ma", language="ar")
    event, data = request(recipient_sub=person.id, params=PARAMS)

    # Twice past the inbox (as after a crash between the handler and the inbox's commit).
    for _ in range(2):
        async with database.sessionmaker() as session, session.begin():
            await on_notification_requested(session, event, data)

    found = await rows(database_url)
    assert [(r["channel"], r["destination"]) for r in found] == [
        ("sms", "+212661700001"),
        ("email", "amal@example.ma"),
    ]
    for row in found:
        assert row["event_id"] == uuid.UUID(event.id)
        assert row["account_id"] == person.id
        assert row["kind"] == "correspondence.status_changed"
        assert row["language"] == "ar"
        assert row["subject"] == "تحديث مراسلتك"
        assert row["body"] == "مرفق: مراسلتك رقم CO-2026-000042 أصبحت في حالة: مستلمة."
        assert row["attempts"] == 0
        assert row["next_attempt_at"] == row["created_at"]
        assert row["sent_at"] is None
        assert row["failed_at"] is None


async def test_a_batch_queues_for_the_reachable_only_on_the_channels_asked(
    database: Database, database_url: str
) -> None:
    both = await citizen(database, phone="+212661700002", email="both@example.ma")
    by_cin = await citizen(database, phone="+212661700003", cin="BK300003")
    disabled = await citizen(database, phone="+212661700004")
    no_email = await citizen(database, phone="+212661700005")
    async with database.sessionmaker() as session, session.begin():
        from sqlalchemy import text

        await session.execute(
            text("UPDATE identity.accounts SET disabled_at = now() WHERE id = :id"),
            {"id": disabled.id},
        )
    consumer = Consumer(database, inbox, SUBSCRIPTIONS, queue="identity")
    events = [
        request(recipient_sub=both.id, params=PARAMS, channels=["email"]),
        request(recipient_cin="BK300003", params=PARAMS),
        request(recipient_sub=disabled.id, params=PARAMS),
        request(recipient_cin="ZZ000000", params=PARAMS),
        request(recipient_sub=no_email.id, params=PARAMS, channels=["email"]),
        request(recipient_sub=uuid.uuid4(), params=PARAMS),
    ]

    outcomes = await consumer([delivery(event) for event, _ in events])

    assert outcomes == [None] * len(events)
    found = await rows(database_url)
    assert [(r["account_id"], r["channel"], r["destination"]) for r in found] == [
        (by_cin.id, "sms", "+212661700003"),
        (both.id, "email", "both@example.ma"),
    ]
    assert "CO-2026-000042" in found[0]["body"]


async def test_a_contact_changed_earlier_in_the_transaction_is_the_one_told(
    database: Database, database_url: str
) -> None:
    person = await citizen(database, phone="+212661700006")
    event, data = request(recipient_sub=person.id, params=PARAMS)

    async with database.sessionmaker() as session, session.begin():
        account = await session.get(Account, person.id)
        assert account is not None
        account.phone = "+212661700007"  # not flushed yet
        await on_notification_requested(session, event, data)

    assert [r["destination"] for r in await rows(database_url)] == ["+212661700007"]


async def test_requested_notifications_are_consumed_without_an_orm_session(
    database: Database, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    person = await citizen(database, phone="+212661700008", email="drv@example.ma")
    sessions: list[object] = []
    make_session = database.sessionmaker

    def counted_session(*args: Any, **kwargs: Any) -> Any:
        sessions.append(args)
        return make_session(*args, **kwargs)

    monkeypatch.setattr(database, "sessionmaker", counted_session)
    consumer = Consumer(database, inbox, SUBSCRIPTIONS, queue="identity")
    batch = [delivery(request(recipient_sub=person.id, params=PARAMS)[0]) for _ in range(3)]

    assert await consumer(batch) == [None, None, None]
    assert await consumer(batch[:1]) == [None]  # redelivered: skipped

    # The driver handler's batches: asyncpg's transaction, the inbox claimed through it.
    assert sessions == []
    assert len(await rows(database_url)) == 6
    async with database.sessionmaker() as session:
        claimed = await session.scalar(select(func.count()).select_from(inbox))
    assert claimed == 3


# --- delivery ----------------------------------------------------------------------------


async def test_a_batch_of_mixed_outcomes_is_recorded_in_one_statement(
    database: Database, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    phones = {
        "sent": "+212661700010",
        "first_retry": "+212661700011",
        "third_retry": "+212661700012",
        "last": "+212661700013",
    }
    for phone in phones.values():
        person = await citizen(database, phone=phone)
        event, data = request(recipient_sub=person.id, params=PARAMS)
        async with database.sessionmaker() as session, session.begin():
            await on_notification_requested(session, event, data)
    # Tried before: twice (the third round now), and every round (this one is the last).
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute(
            "UPDATE identity.deliveries SET attempts = CASE destination "
            "WHEN $1 THEN 2 WHEN $2 THEN $3 ELSE 0 END",
            phones["third_retry"],
            phones["last"],
            len(RETRY_AFTER),
        )
    finally:
        await connection.close()
    provider = Provider(refused={phones["first_retry"], phones["third_retry"], phones["last"]})
    caplog.set_level(logging.ERROR, logger="marfiq.identity.delivery")

    async with counted_updates(database_url) as updates:
        before = datetime.now(UTC)
        assert await worker(database, database_url, provider).run_once() == 4
        after = datetime.now(UTC)
        # The lease, then every outcome of the batch: not one statement per failure.
        assert await updates() == 2

    state = {r["destination"]: r for r in await rows(database_url)}
    sent = state[phones["sent"]]
    assert before <= sent["sent_at"] <= after
    assert sent["failed_at"] is None
    assert [m.to for m in provider.sent] == [phones["sent"]]
    for name, wait in (("first_retry", RETRY_AFTER[0]), ("third_retry", RETRY_AFTER[2])):
        row = state[phones[name]]
        assert row["sent_at"] is None
        assert row["failed_at"] is None
        assert before + wait <= row["next_attempt_at"] <= after + wait
    last = state[phones["last"]]
    assert before <= last["failed_at"] <= after
    assert last["sent_at"] is None
    assert [r.delivery_id for r in caplog.records if r.msg == "notification given up"] == [
        str(last["id"])
    ]
    assert {r["destination"]: r["attempts"] for r in state.values()} == {
        phones["sent"]: 1,
        phones["first_retry"]: 1,
        phones["third_retry"]: 3,
        phones["last"]: len(RETRY_AFTER) + 1,
    }
    # Nothing due any more: the retries wait, the rest is done.
    assert await worker(database, database_url, provider).run_once() == 0


async def test_a_batch_failing_on_one_channel_costs_two_statements_whatever_its_size(
    database: Database, database_url: str
) -> None:
    provider = Provider(refused={f"+2126617002{n:02d}" for n in range(30)})
    for n in range(30):
        person = await citizen(database, phone=f"+2126617002{n:02d}", email=f"p{n}@example.ma")
        event, data = request(recipient_sub=person.id, params=PARAMS)
        async with database.sessionmaker() as session, session.begin():
            await on_notification_requested(session, event, data)

    async with counted_updates(database_url) as updates:
        before = datetime.now(UTC)
        assert await worker(database, database_url, provider).run_once() == 60
        assert await updates() == 2

    found = await rows(database_url)
    sent = [r for r in found if r["channel"] == "email"]
    retried = [r for r in found if r["channel"] == "sms"]
    assert all(r["sent_at"] is not None for r in sent)
    assert all(r["sent_at"] is None for r in retried)
    assert all(r["next_attempt_at"] >= before + RETRY_AFTER[0] for r in retried)
    assert len(sent) == len(retried) == 30


async def test_a_row_sent_by_another_replica_meanwhile_stays_sent(
    database: Database, database_url: str
) -> None:
    person = await citizen(database, phone="+212661700020")
    event, data = request(recipient_sub=person.id, params=PARAMS)
    async with database.sessionmaker() as session, session.begin():
        await on_notification_requested(session, event, data)
    elsewhere = datetime(2026, 12, 1, tzinfo=UTC)

    class SentElsewhere(Provider):
        # While this replica's provider hesitates, its lease expires and another one sends.
        async def send(self, message: Message) -> None:
            connection = await asyncpg.connect(database_url)
            try:
                await connection.execute("UPDATE identity.deliveries SET sent_at = $1", elsewhere)
            finally:
                await connection.close()
            raise DeliveryFailed("timeout", transient=False)

    await worker(database, database_url, SentElsewhere()).run_once()

    (row,) = await rows(database_url)
    assert row["sent_at"] == elsewhere
    assert row["failed_at"] is None
