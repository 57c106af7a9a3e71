"""Processing staged declarations, a chunk per transaction, in every replica.

A chunk's lines, its new affiliates, its refused rows, its contact events and its `done`
mark are written in one transaction: a worker that dies half-way leaves the chunk pending
with nothing of it written, and the next worker (here or in another replica) does it whole.
A declaration whose chunks are all done is put in force in one more transaction, replacing
the month's previous declaration of the same employer at once.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_pensions.affiliates import repository as affiliates
from marfiq_pensions.affiliates.events import contact_registered
from marfiq_pensions.affiliates.models import AffiliateStatus
from marfiq_pensions.background import Loop
from marfiq_pensions.bulk import collector_paused
from marfiq_pensions.declarations import repository
from marfiq_pensions.declarations.errors import RowError
from marfiq_pensions.declarations.repository import Chunk
from marfiq_pensions.dependencies import Clock
from marfiq_pensions.events import add_events
from marfiq_pensions.regimes import RegimeCatalogue, RegimeCode
from marfiq_pensions.settings import PensionsSettings
from marfiq_shared.db import Database, session_driver
from marfiq_shared.events.catalogue import DeclarationProcessed, EventData
from marfiq_shared.events.outbox import add_event

log = logging.getLogger("marfiq.pensions.declarations")

# Called after a chunk's writes, before its commit: tests use it to die half-way.
ChunkHook = Callable[[Chunk], Awaitable[None]]
# Failed attempts at a chunk before its remaining rows are refused.
MAX_ATTEMPTS = 5
PROCESSING_FAILED_DETAIL = "this line could not be processed; declare it again or contact the fund"


async def claim_chunk(session: AsyncSession) -> Chunk | None:
    """The oldest pending chunk no other worker holds, locked until the commit."""
    # The commit waits for the WAL flush like every other (no `synchronous_commit = off`):
    # the outbox relay may publish a chunk's events as soon as they are visible, so a commit
    # lost in a crash would leave consumers acting on events whose rows never existed. One
    # flush per chunk of thousands of rows costs well under a microsecond a row.
    connection = await session_driver(session)
    return await repository.claim_chunk(connection, max_attempts=MAX_ATTEMPTS)


async def process_chunk(
    session: AsyncSession, chunk: Chunk, *, catalogue: RegimeCatalogue, now: datetime
) -> None:
    """Process a claimed chunk: lines, new affiliates, refusals, contacts, the done mark."""
    connection = await session_driver(session)
    await repository.mark_processing(connection, chunk.declaration_id, now)
    rows = await repository.chunk_rows(connection, chunk)
    known = await affiliates.resolve(
        connection, chunk.declaration_id, chunk.first_row, chunk.last_row
    )
    by_cin = {person["cin"]: person for person in known}
    by_number = {person["affiliation_number"]: person for person in known}
    refusals: list[tuple[int, str, str, str]] = []
    matched: list[tuple[Any, uuid.UUID]] = []
    newcomers: list[Any] = []
    updates: list[affiliates.PersonUpdate] = []
    contacts: list[tuple[str, str, str]] = []  # cin, phone, affiliation number
    for row in rows:
        number = row["affiliation_number"]
        person = by_number.get(number) if number is not None else by_cin.get(row["cin"])
        refusal = _refusal(row, person, regime=chunk.regime)
        if refusal is not None:
            refusals.append((row["row_number"], *refusal))
            continue
        if person is None:
            newcomers.append(row)
            continue
        matched.append((row, person["id"]))
        phone = row["phone"]
        new_phone = phone is not None and phone != person["phone"]
        if new_phone or _fills_gaps(row, person):
            updates.append(
                (person["id"], phone, row["last_name"], row["first_name"], row["birth_date"])
            )
        if new_phone:
            contacts.append((row["cin"], phone, person["affiliation_number"]))
    # Rows are locked in CIN (then id) order, so that two chunks creating or updating the
    # same people concurrently wait for each other instead of deadlocking.
    newcomers.sort(key=lambda row: row["cin"])
    updates.sort(key=lambda update: update[0])
    created = await affiliates.insert_new(
        connection,
        chunk.declaration_id,
        [(row["row_number"], row["cin"]) for row in newcomers],
        regime=chunk.regime,
        now=now,
    )
    for row in newcomers:
        affiliate_id, number = created[row["cin"]]
        matched.append((row, affiliate_id))
        if row["phone"] is not None:
            contacts.append((row["cin"], row["phone"], number))
    await affiliates.complete(connection, updates, now=now)
    if matched:
        regime = catalogue.regime(RegimeCode(chunk.regime))
        lines = [(row_id, row["row_number"]) for row, row_id in matched]
        await repository.insert_lines(
            connection, chunk, lines, regime.contribution_rates(chunk.period)
        )
    await repository.refuse_rows(connection, chunk.declaration_id, refusals)
    events: list[tuple[EventData, str | None]] = [
        (contact_registered(cin=cin, phone=phone), number) for cin, phone, number in contacts
    ]
    await add_events(session, events)
    await repository.finish_chunk(connection, chunk, now)


async def chunk_failed(session: AsyncSession, chunk: Chunk, *, now: datetime) -> bool:
    """Count a failed attempt at a chunk; after the last one, refuse its rows (the employer
    sees them in the report and can declare them again) and mark it done, so that one bad
    chunk cannot hold its declaration, or the ones after it, for ever. Whether it gave up."""
    connection = await session_driver(session)
    attempts = await repository.count_attempt(connection, chunk)
    if attempts < MAX_ATTEMPTS:
        return False
    await repository.refuse_remaining(
        connection, chunk, code=RowError.PROCESSING_FAILED, detail=PROCESSING_FAILED_DETAIL
    )
    await repository.finish_chunk(connection, chunk, now)
    return True


def _refusal(row: Any, person: Any, *, regime: str) -> tuple[str, str, str] | None:
    """Why the fund's files refuse a row: (code, field, detail), or None."""
    number = row["affiliation_number"]
    if number is not None and person is None:
        return RowError.UNKNOWN_PERSON, "affiliation_number", f"no affiliate number {number}"
    if person is None:
        return None  # a new employee
    if number is not None and person["cin"] != row["cin"]:
        return (
            RowError.PERSON_MISMATCH,
            "cin",
            f"affiliation number {number} is not that of CIN {row['cin']}",
        )
    if person["status"] == AffiliateStatus.DECEASED:
        return RowError.DECEASED, "cin", "the affiliate is recorded as deceased"
    if person["regime"] != regime:
        return (
            RowError.WRONG_REGIME,
            "cin",
            f"the affiliate is under the {person['regime']} regime, not {regime}",
        )
    return None


def _fills_gaps(row: Any, person: Any) -> bool:
    return bool(
        (person["no_last_name"] and row["last_name"])
        or (person["no_first_name"] and row["first_name"])
        or (person["no_birth_date"] and row["birth_date"])
    )


async def put_next_in_force(session: AsyncSession, *, now: datetime) -> uuid.UUID | None:
    """Put in force one declaration whose chunks are all done; its id, or None."""
    connection = await session_driver(session)
    declaration = await repository.claim_finished(connection)
    if declaration is None:
        return None
    accepted, refused = await repository.count_rows(connection, declaration["id"])
    replaced = await repository.put_in_force(
        connection, declaration, accepted=accepted, refused=refused, now=now
    )
    await add_event(
        session,
        DeclarationProcessed(
            declaration_id=declaration["id"],
            employer_id=declaration["employer_id"],
            period=declaration["period"],
            regime=declaration["regime"],
            rows=declaration["row_count"],
            accepted=accepted,
            rejected=refused,
            replaced_declaration_id=replaced,
            processed_at=now,
        ),
        subject=str(declaration["id"]),
    )
    return declaration["id"]  # type: ignore[no-any-return]


TRANSIENT = (
    OSError,
    TimeoutError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.TransactionRollbackError,  # deadlocks, serialization failures
    asyncpg.exceptions.OperatorInterventionError,  # shutdowns, cancelled statements
)


def transient(error: BaseException) -> bool:
    """Whether trying again later may succeed (SQLAlchemy wraps the driver's errors)."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, TRANSIENT):
            return True
        seen = seen.__cause__ or (seen.orig if isinstance(seen, DBAPIError) else None)
    return False


class DeclarationWorker:
    """Processes declarations until none is left, then waits to be woken or polls."""

    def __init__(
        self,
        database: Database,
        *,
        settings: PensionsSettings,
        catalogue: RegimeCatalogue,
        clock: Clock,
        after_chunk_writes: ChunkHook | None = None,
    ) -> None:
        self._database = database
        self._catalogue = catalogue
        self._clock = clock
        self._hook = after_chunk_writes
        self._concurrency = settings.declaration_concurrency
        self.loop = Loop(
            "pensions-declarations", self.run_once, interval_s=settings.declaration_poll_s
        )

    async def process_one_chunk(self) -> Chunk | None:
        """One chunk in its own transaction."""
        with collector_paused():
            return await self._process_one_chunk()

    async def _process_one_chunk(self) -> Chunk | None:
        chunk = None
        try:
            async with self._database.sessionmaker() as session, session.begin():
                chunk = await claim_chunk(session)
                if chunk is None:
                    return None
                await process_chunk(session, chunk, catalogue=self._catalogue, now=self._clock())
                if self._hook is not None:
                    await self._hook(chunk)
        except Exception as error:
            # Only failures that would happen again count: a lost connection, a deadlock or
            # a restarting server is retried as often as it takes (and a cancelled task is
            # a crash, not a failure).
            if chunk is not None and not transient(error):
                async with self._database.sessionmaker() as session, session.begin():
                    if await chunk_failed(session, chunk, now=self._clock()):
                        log.error(
                            "declaration chunk given up; its rows are refused",
                            extra={"declaration_id": str(chunk.declaration_id)},
                        )
            raise
        return chunk

    async def put_one_in_force(self) -> uuid.UUID | None:
        async with self._database.sessionmaker() as session, session.begin():
            return await put_next_in_force(session, now=self._clock())

    async def _drain(self) -> bool:
        worked = False
        while await self.process_one_chunk() is not None:
            worked = True
        return worked

    async def run_once(self) -> bool:
        """Every free chunk, `concurrency` at a time, then every declaration left complete;
        whether any work was done."""
        # A task group: when one drain fails, the others are cancelled (and roll back) too.
        async with asyncio.TaskGroup() as group:
            drains = [group.create_task(self._drain()) for _ in range(self._concurrency)]
        worked = any(drain.result() for drain in drains)
        while (declaration_id := await self.put_one_in_force()) is not None:
            log.info("declaration in force", extra={"declaration_id": str(declaration_id)})
            worked = True
        return worked

    def start(self) -> None:
        self.loop.start()

    def wake(self) -> None:
        self.loop.wake()

    async def stop(self) -> None:
        await self.loop.stop()
