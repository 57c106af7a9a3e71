"""The worker dies half-way and another finishes: every row once; a resubmission replaces
the month's previous declaration whole, and only once it is processed."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from pensions_support import PERIOD, Service, cins, rows_for

from marfiq_pensions.declarations.repository import Chunk
from marfiq_pensions.declarations.worker import MAX_ATTEMPTS, DeclarationWorker
from marfiq_pensions.regimes import CATALOGUE


def worker(service: Service, hook: object = None, *, concurrency: int = 1) -> DeclarationWorker:
    return DeclarationWorker(
        service.database,
        settings=service.settings.model_copy(update={"declaration_concurrency": concurrency}),
        catalogue=CATALOGUE,
        clock=service.clock,
        after_chunk_writes=hook,  # type: ignore[arg-type]
    )


async def test_a_processor_killed_half_way_and_restarted_yields_each_row_once(
    service: Service,
) -> None:
    client = service.client_of(service.employers[0])
    people = cins(5000)
    rows = [row | {"phone": f"06{n:08d}"} for n, row in enumerate(rows_for(people))]
    response = await service.declare(client, rows)
    assert response.status_code == 202
    declaration_id = response.json()["id"]

    # First death: an error after the fourth chunk's writes, before its commit.
    seen = 0

    async def crash_on_fourth(chunk: Chunk) -> None:
        nonlocal seen
        seen += 1
        if seen == 4:
            raise RuntimeError("power cut")

    with pytest.raises(ExceptionGroup) as failed:
        await worker(service, crash_on_fourth).run_once()
    assert failed.group_contains(RuntimeError, match="power cut")
    assert await service.scalar("SELECT count(*) FROM pensions.contribution_lines") == 1500

    # Second death: the worker's task is cancelled in the middle of a chunk.
    inside = asyncio.Event()

    async def hang_on_second(chunk: Chunk) -> None:
        if chunk.chunk_no == 4:
            inside.set()
            await asyncio.sleep(3600)

    stuck = worker(service, hang_on_second)
    stuck.start()
    await asyncio.wait_for(inside.wait(), timeout=10)
    await stuck.stop()
    done = await service.scalar("SELECT count(*) FROM pensions.contribution_lines")
    assert done == 2000  # chunks 0-3 committed, chunk 4 rolled back with its task

    # Restart: two workers (as two replicas), two chunks at a time each, finish the rest.
    await asyncio.gather(
        worker(service, concurrency=2).run_once(), worker(service, concurrency=2).run_once()
    )

    lines = await service.rows(
        "SELECT count(*) AS lines, count(DISTINCT row_number) AS rows, "
        "count(DISTINCT affiliate_id) AS people FROM pensions.contribution_lines"
    )
    assert dict(lines[0]) == {"lines": 5000, "rows": 5000, "people": 5000}
    assert await service.scalar("SELECT count(*) FROM pensions.affiliates") == 5000
    contacts = await service.events("pensions.affiliate.contact_registered")
    assert len(contacts) == 5000
    assert len({event["data"]["cin"] for event in contacts}) == 5000
    processed = await service.events("pensions.declaration.processed")
    assert [event["data"]["declaration_id"] for event in processed] == [declaration_id]
    assert processed[0]["data"]["accepted"] == 5000


async def test_chunks_of_one_declaration_do_not_wait_for_each_other(service: Service) -> None:
    client = service.client_of(service.employers[0])
    response = await service.declare(client, rows_for(cins(1000)))  # two chunks of 500
    second_done = []

    async def the_other_chunk_meanwhile(chunk: Chunk) -> None:
        # The first chunk's transaction is still open: the second chunk, in another
        # transaction, must get through whole, not wait for this one to commit.
        if not second_done:
            second_done.append(await asyncio.wait_for(worker(service).process_one_chunk(), 10))

    first = await worker(service, the_other_chunk_meanwhile).process_one_chunk()

    assert first is not None
    assert second_done[0] is not None
    assert {first.chunk_no, second_done[0].chunk_no} == {0, 1}
    await service.process()
    report = (await service.client.get(response.headers["Location"], headers=client.headers)).json()
    assert (report["status"], report["accepted"]) == ("processed", 1000)
    started = await service.scalar("SELECT started_at FROM pensions.declarations")
    assert started is not None


IN_FORCE = (
    "SELECT l.affiliate_id, l.gross_salary FROM pensions.contribution_lines AS l "
    "JOIN pensions.declarations AS d ON d.id = l.declaration_id AND d.current"
)


async def test_a_resubmission_replaces_the_previous_declaration_atomically(
    service: Service,
) -> None:
    client = service.client_of(service.employers[0])
    first = await service.declare(client, rows_for(cins(10), salary="8000"))
    await service.process()
    assert len(await service.rows(IN_FORCE)) == 10

    second = await service.declare(client, rows_for(cins(4), salary="9000"))
    assert second.status_code == 202
    # Received but not processed: the first one is still the month's declaration.
    assert {row["gross_salary"] for row in await service.rows(IN_FORCE)} == {8000}
    await worker(service).process_one_chunk()  # its only chunk: lines written, not in force
    assert len(await service.rows(IN_FORCE)) == 10
    await service.process()

    in_force = await service.rows(IN_FORCE)
    assert len(in_force) == 4
    assert {row["gross_salary"] for row in in_force} == {9000}
    report = (await service.client.get(second.headers["Location"], headers=client.headers)).json()
    assert report["replaced_declaration_id"] == first.json()["id"]
    previous = (await service.client.get(first.headers["Location"], headers=client.headers)).json()
    assert (previous["status"], previous["in_force"]) == ("replaced", False)


async def test_a_declaration_not_yet_processed_is_superseded_by_a_newer_one(
    service: Service,
) -> None:
    client = service.client_of(service.employers[0])
    other = service.client_of(service.employers[1])
    first = await service.declare(client, rows_for(cins(3), salary="5000"))
    elsewhere = await service.declare(other, rows_for(cins(2, prefix="EE"), salary="4000"))
    second = await service.declare(client, rows_for(cins(2), salary="6000"))

    assert second.json()["superseded"] == [first.json()["id"]]
    await service.process()

    statuses = {
        row["id"]: row["status"]
        for row in await service.rows("SELECT id::text, status FROM pensions.declarations")
    }
    assert statuses == {
        first.json()["id"]: "superseded",
        second.json()["id"]: "processed",
        elsewhere.json()["id"]: "processed",
    }
    assert sorted(row["gross_salary"] for row in await service.rows(IN_FORCE)) == [
        4000,
        4000,
        6000,
        6000,
    ]
    assert second.json()["period"] == PERIOD


async def test_a_chunk_that_keeps_failing_is_given_up_and_reported(service: Service) -> None:
    client = service.client_of(service.employers[0])
    stuck = await service.declare(client, rows_for(cins(1200)))  # chunks of 500: 0, 1, 2
    after = await service.declare(
        service.client_of(service.employers[1]), rows_for(cins(3, prefix="EE"))
    )

    async def second_chunk_breaks(chunk: Chunk) -> None:
        if chunk.declaration_id == uuid.UUID(stuck.json()["id"]) and chunk.chunk_no == 1:
            raise RuntimeError("a bug")

    failing = worker(service, second_chunk_breaks)
    for _ in range(MAX_ATTEMPTS):
        with pytest.raises(ExceptionGroup):
            await failing.run_once()
    await failing.run_once()

    report = (await service.client.get(stuck.headers["Location"], headers=client.headers)).json()
    assert report["status"] == "processed"
    assert (report["accepted"], report["rejected"]) == (700, 500)
    page = await service.client.get(
        f"{stuck.headers['Location']}/errors?limit=1000", headers=client.headers
    )
    refused = page.json()["items"]
    assert {item["code"] for item in refused} == {"processing-failed"}
    assert [item["row"] for item in refused] == list(range(501, 1001))
    other = (
        await service.client.get(
            after.headers["Location"], headers=service.client_of(service.employers[1]).headers
        )
    ).json()
    assert other["status"] == "processed"
