import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Column, MetaData, String, Table, Uuid, func, select

from marfiq_shared.events import (
    CloudEvent,
    add_event,
    current_correlation_id,
    on_outbox_commit,
    outbox_backlog,
    prune_inbox,
    prune_outbox,
)


async def with_state_table(service) -> Table:
    """A business table next to the outbox, standing for any state change."""
    schema = service.outbox.schema
    table = Table(
        "administrations",
        MetaData(schema=schema),
        Column("id", Uuid, primary_key=True),
        Column("code", String),
    )
    async with service.database.engine.begin() as connection:
        await connection.run_sync(table.create)
    return table


async def count(service, table: Table) -> int:
    return await service.scalar(select(func.count()).select_from(table))


async def test_event_row_commits_with_the_state_change(service, new_administration) -> None:
    administrations = await with_state_table(service)
    data = new_administration()

    async with service.database.sessionmaker() as session, session.begin():
        await session.execute(administrations.insert().values(id=data.id, code=data.code))
        event = await add_event(session, data, subject=f"administration/{data.id}")
        # Not visible to anyone else before the commit: state and event are one unit.
        assert await count(service, service.outbox) == 0

    assert await count(service, administrations) == 1
    async with service.database.sessionmaker() as session:
        row = (await session.execute(select(service.outbox))).one()
    assert row.id == uuid.UUID(event.id)
    assert row.type == "identity.administration.created"
    assert row.published_at is None
    stored = CloudEvent.from_json(row.payload)
    assert stored == event
    assert stored.source == service.source
    assert stored.subject == f"administration/{data.id}"
    assert stored.data["code"] == "MIN-SANTE"


async def test_rollback_leaves_neither_state_nor_event(service, new_administration) -> None:
    administrations = await with_state_table(service)
    data = new_administration()

    async def refused_change() -> None:
        async with service.database.sessionmaker() as session, session.begin():
            await session.execute(administrations.insert().values(id=data.id, code=data.code))
            await add_event(session, data)
            raise RuntimeError("refused by a business rule")

    with pytest.raises(RuntimeError, match="refused"):
        await refused_change()

    assert await count(service, administrations) == 0
    assert await count(service, service.outbox) == 0


async def test_commit_wakes_the_relays_of_its_source_only(service, new_administration) -> None:
    woken: list[str] = []
    undo = on_outbox_commit(service.source, lambda: woken.append("mine"))
    undo_other = on_outbox_commit("another-service", lambda: woken.append("other"))
    try:
        async with service.database.sessionmaker() as session, session.begin():
            await add_event(session, new_administration())
            assert woken == []  # not before the commit
        assert woken == ["mine"]

        async def rolled_back() -> None:
            async with service.database.sessionmaker() as session, session.begin():
                await add_event(session, new_administration())
                raise RuntimeError("rolled back")

        with pytest.raises(RuntimeError, match="rolled back"):
            await rolled_back()
        async with service.database.sessionmaker() as session, session.begin():
            await session.execute(select(1))  # a commit without events wakes nobody
        assert woken == ["mine"]
    finally:
        undo()
        undo_other()


async def test_correlation_id_comes_from_the_context_unless_given(
    service, new_administration
) -> None:
    token = current_correlation_id.set("req-77")
    try:
        async with service.database.sessionmaker() as session, session.begin():
            implicit = await add_event(session, new_administration())
            explicit = await add_event(session, new_administration(), correlation_id="c-1")
    finally:
        current_correlation_id.reset(token)

    assert implicit.correlationid == "req-77"
    assert explicit.correlationid == "c-1"


async def test_session_without_an_outbox_cannot_add_events(
    database_url: str, new_administration
) -> None:
    from marfiq_shared.db import Database

    database = Database(database_url, schema="public", source="nothing")
    try:
        async with database.sessionmaker() as session:
            with pytest.raises(RuntimeError, match="no outbox"):
                await add_event(session, new_administration())
    finally:
        await database.dispose()


async def test_backlog_counts_unpublished_rows_and_their_age(service) -> None:
    async with service.database.sessionmaker() as session:
        empty = await outbox_backlog(session, service.outbox)
    await service.add_events(3)
    async with service.database.sessionmaker() as session:
        backlog = await outbox_backlog(session, service.outbox)

    assert (empty.count, empty.oldest_age_seconds) == (0, 0.0)
    assert backlog.count == 3
    assert 0 <= backlog.oldest_age_seconds < 60


async def test_pruning_forgets_only_old_published_rows_and_inbox_ids(service) -> None:
    old_published, old_pending, recent_published = (uuid.uuid4() for _ in range(3))
    long_ago = datetime.now(UTC) - timedelta(days=30)
    async with service.database.sessionmaker() as session, session.begin():
        for id_, published_at in (
            (old_published, long_ago),
            (old_pending, None),
            (recent_published, datetime.now(UTC)),
        ):
            await session.execute(
                service.outbox.insert().values(
                    id=id_, type="a.b.c", payload=b"{}", created_at=long_ago,
                    published_at=published_at,
                )
            )  # fmt: skip
        await session.execute(
            service.inbox.insert(),
            [
                {"id": old_published, "type": "a.b.c", "processed_at": long_ago},
                {"id": recent_published, "type": "a.b.c", "processed_at": datetime.now(UTC)},
            ],
        )

    async with service.database.sessionmaker() as session, session.begin():
        pruned = await prune_outbox(session, service.outbox, older_than=timedelta(days=7))
        forgotten = await prune_inbox(session, service.inbox, older_than=timedelta(days=7))

    assert (pruned, forgotten) == (1, 1)
    async with service.database.sessionmaker() as session:
        kept = set((await session.execute(select(service.outbox.c.id))).scalars())
        remembered = set((await session.execute(select(service.inbox.c.id))).scalars())
    assert kept == {old_pending, recent_published}
    assert remembered == {recent_published}
