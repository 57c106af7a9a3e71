"""End-to-end throughput of the event backbone on real Postgres and RabbitMQ.

    .venv/bin/python bench/bench_events.py [--events 20000] [--producers 8] [--per-tx 10]

Two services in two processes, as deployed: "identity" commits administration events
into its outbox from concurrent business transactions and its relay publishes them with
confirms; "complaints" (a child process) consumes them from its quorum queue and keeps a
local copy of the directory (an upsert keeping the highest version), inbox row in the
same transaction. The clock runs from the first outbox insert to the consumer's commit
of the last event. Everything created (database, exchange, queues) is removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import NamedTuple

import aio_pika
from sqlalchemy import Column, Integer, String, Table, Uuid, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.schema import CreateSchema

from marfiq_shared.db import Database, service_metadata
from marfiq_shared.events import (
    AdministrationCreated,
    CloudEvent,
    EventData,
    EventRuntime,
    RabbitMQTransport,
    add_event,
    dlq_name,
    inbox_table,
    outbox_table,
    retry_name,
)
from marfiq_shared.settings import MarfiqSettings
from marfiq_shared.testing import amqp_test_url, create_database, drop_database, postgres_admin_url


class Service(NamedTuple):
    database: Database
    outbox: Table
    inbox: Table
    copies: Table  # the consumer's local copy of the administration directory


class Run(NamedTuple):
    url: str
    exchange: str
    queue: str


def open_service(url: str, schema: str, source: str) -> Service:
    metadata = service_metadata(schema)
    outbox = outbox_table(metadata)
    copies = Table(
        "administrations",
        metadata,
        Column("id", Uuid, primary_key=True),
        Column("code", String, nullable=False),
        Column("name_fr", String, nullable=False),
        Column("version", Integer, nullable=False),
    )
    database = Database(url, schema=schema, source=source, outbox=outbox, pool_size=12)
    return Service(database, outbox, inbox_table(metadata), copies)


async def create_service(url: str, schema: str, source: str) -> Service:
    service = open_service(url, schema, source)
    async with service.database.engine.begin() as connection:
        await connection.execute(CreateSchema(schema))
        await connection.run_sync(service.outbox.metadata.create_all)
    return service


def settings_for(args: argparse.Namespace, exchange: str) -> MarfiqSettings:
    return MarfiqSettings(
        amqp_url=amqp_test_url(),
        event_exchange=exchange,
        event_prefetch=args.prefetch,
        event_relay_batch=args.batch,
    )


def copy_handler(
    table: Table,
) -> Callable[[AsyncSession, CloudEvent, EventData], Awaitable[None]]:
    """The consumer's handler: keep the newest version of each administration."""
    upsert = insert(table)
    statement = upsert.on_conflict_do_update(
        index_elements=[table.c.id],
        set_={"code": upsert.excluded.code, "version": upsert.excluded.version},
        where=table.c.version < upsert.excluded.version,
    )

    async def handle(session: AsyncSession, event: CloudEvent, data: EventData) -> None:
        assert isinstance(data, AdministrationCreated)
        values = {"id": data.id, "code": data.code, "name_fr": data.name_fr}
        await session.execute(statement, values | {"version": data.version})

    return handle


def administration() -> AdministrationCreated:
    return AdministrationCreated(
        id=uuid.uuid4(),
        code="MIN-SANTE",
        name_ar="وزارة الصحة",
        name_fr="Ministère de la Santé",
        kind="ministry",
        parent_id=None,
        active=True,
        version=1,
        occurred_at=datetime.now(UTC),
    )


async def produce(database: Database, count: int, writers: int, per_tx: int) -> float:
    """Commit `count` events from concurrent writers; the seconds it took."""
    started = time.perf_counter()
    shares = [count // writers + (1 if i < count % writers else 0) for i in range(writers)]

    async def writer(todo: int) -> None:
        while todo:
            async with database.sessionmaker() as session, session.begin():
                for _ in range(min(per_tx, todo)):
                    await add_event(session, administration())
                    todo -= 1

    await asyncio.gather(*(writer(share) for share in shares))
    return time.perf_counter() - started


async def wait_for(service: Service, count: int) -> None:
    query = select(func.count()).select_from(service.copies)
    while True:
        async with service.database.sessionmaker() as session:
            if (await session.execute(query)).scalar_one() >= count:
                return
        await asyncio.sleep(0.02)


async def run_consumer(args: argparse.Namespace, run: Run) -> None:
    """The consuming service, in a process of its own: runs until terminated."""
    service = open_service(run.url, "complaints", "complaints-service")
    runtime = EventRuntime(
        service.database,
        RabbitMQTransport(amqp_test_url(), run.exchange),
        queue=run.queue,
        subscriptions={AdministrationCreated.type: copy_handler(service.copies)},
        outbox=service.outbox,
        inbox=service.inbox,
        settings=settings_for(args, run.exchange),
        max_batch=args.max_batch,
    )
    await runtime.start()
    print("ready", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runtime.stop()
        await service.database.dispose()


async def run_benchmark(args: argparse.Namespace) -> None:
    admin = postgres_admin_url()
    url = await create_database(admin, prefix="marfiq_bench")
    exchange = f"marfiq-bench-{uuid.uuid4().hex[:8]}"
    run = Run(url, exchange, f"{exchange}.complaints")
    consumer: asyncio.subprocess.Process | None = None
    try:
        identity = await create_service(url, "identity", "identity-service")
        complaints = await create_service(url, "complaints", "complaints-service")
        consumer = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--consumer-of", ",".join(run), *sys.argv[1:],
            stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert consumer.stdout is not None
        await consumer.stdout.readline()  # "ready": its queue is declared and bound
        producer = EventRuntime(
            identity.database,
            RabbitMQTransport(amqp_test_url(), exchange),
            queue=f"{exchange}.identity",
            subscriptions={},
            outbox=identity.outbox,
            inbox=identity.inbox,
            settings=settings_for(args, exchange),
        )
        await producer.start()
        warm_up = 500  # connections, prepared statements, caches
        await produce(identity.database, warm_up, 2, 10)
        await wait_for(complaints, warm_up)
        done = warm_up

        # 1. The backbone alone: the outbox already holds the events when the relay starts.
        # Several rounds: on a shared machine the neighbours' load comes and goes.
        backbone: list[tuple[float, tuple[float, float]]] = []
        for _ in range(args.rounds):
            await producer.relay.stop()
            await produce(identity.database, args.events, args.writers, args.per_tx)
            cpu = Cpu(consumer.pid)
            started = time.perf_counter()
            producer.relay.start()
            done += args.events
            await wait_for(complaints, done)
            rate = args.events / (time.perf_counter() - started)
            backbone.append((rate, cpu.per_event(args.events)))

        # 2. Live: business transactions commit events while the relay publishes them.
        cpu = Cpu(consumer.pid)
        started = time.perf_counter()
        insert_seconds = await produce(identity.database, args.events, args.writers, args.per_tx)
        done += args.events
        await wait_for(complaints, done)
        live = args.events / (time.perf_counter() - started)
        live_cpu = cpu.per_event(args.events)
        await producer.stop()

        best, (relay, consumed) = max(backbone)
        rounds = ", ".join(f"{rate:,.0f}" for rate, _ in backbone)
        writers_relay, consumed_live = live_cpu
        print(f"events per run  {args.events:,}; load average {os.getloadavg()[0]:.1f}")
        print(
            f"backbone        {best:7,.0f} events/s   a full outbox -> relay -> RabbitMQ -> "
            f"consumer commit (best of {args.rounds}: {rounds})"
        )
        print(
            f"live            {live:7,.0f} events/s   the same while {args.writers} writers "
            f"commit {args.per_tx} events per transaction ({args.events / insert_seconds:,.0f}/s)"
        )
        print(
            f"CPU per event   backbone: relay {relay:.0f} us, consumer {consumed:.0f} us; "
            f"live: writers and relay {writers_relay:.0f} us, consumer {consumed_live:.0f} us"
        )
        await identity.database.dispose()
        await complaints.database.dispose()
    finally:
        if consumer is not None:
            consumer.terminate()
            await consumer.wait()
        await drop_database(admin, url)
        await delete_broker_objects(exchange, run.queue)


class Cpu:
    """CPU time of this process and of the consumer's since creation (Linux /proc)."""

    def __init__(self, consumer_pid: int) -> None:
        self._pid = consumer_pid
        self._start = (time.process_time(), self._child())

    def _child(self) -> float:
        with open(f"/proc/{self._pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def per_event(self, events: int) -> tuple[float, float]:
        """Microseconds of CPU per event: (this process, the consumer)."""
        own, child = time.process_time() - self._start[0], self._child() - self._start[1]
        return own / events * 1e6, child / events * 1e6


async def delete_broker_objects(exchange: str, queue: str) -> None:
    connection = await aio_pika.connect(amqp_test_url())
    async with connection:
        channel = await connection.channel()
        for name in (queue, dlq_name(queue), *(retry_name(queue, n) for n in (1, 2, 3))):
            await channel.queue_delete(name)
        await channel.exchange_delete(exchange)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--per-tx", type=int, default=10, help="events per business transaction")
    # Throughput settings (MARFIQ_EVENT_PREFETCH, MARFIQ_EVENT_RELAY_BATCH and the
    # runtime's max_batch); the defaults of the services favour short transactions.
    parser.add_argument("--prefetch", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=1000, help="relay batch")
    parser.add_argument("--max-batch", type=int, default=500, help="consumer transaction")
    parser.add_argument("--rounds", type=int, default=3, help="backbone measurements")
    parser.add_argument("--consumer-of", help=argparse.SUPPRESS)
    args = parser.parse_args()
    try:
        import uvloop  # the event loop a production deployment would run

        uvloop.install()
    except ImportError:
        pass
    if args.consumer_of:
        asyncio.run(run_consumer(args, Run(*args.consumer_of.split(","))))
    else:
        asyncio.run(run_benchmark(args))


if __name__ == "__main__":
    main()
