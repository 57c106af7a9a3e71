"""Register numbers: consecutive per administration, year and register, whatever the
concurrency; a rolled-back registration gives its number back; a person's filing takes
its number in the statement that commits it."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from correspondence_support import Service

from marfiq_correspondence.correspondence import filing
from marfiq_correspondence.correspondence.access import Viewer
from marfiq_correspondence.correspondence.errors import FilesUnusable
from marfiq_correspondence.correspondence.schemas import CorrespondenceCreate
from marfiq_correspondence.correspondence.service import submit_as_person
from marfiq_correspondence.registers.numbers import (
    Register,
    format_number,
    register_year,
    take_number,
)


async def test_two_hundred_concurrent_letters_get_two_hundred_consecutive_numbers(
    service: Service,
) -> None:
    mef = service.administrations[0]
    citizens = [service.citizen() for _ in range(200)]

    async def send(index: int) -> str:
        response = await service.client.post(
            "/v1/correspondence",
            json={
                "recipient_administration_id": str(mef.id),
                "subject": f"Lettre {index}",
                "body": "Corps",
            },
            headers=citizens[index].headers,
        )
        assert response.status_code == 201, response.text
        return str(response.json()["registration_number"])

    numbers = await asyncio.gather(*(send(index) for index in range(200)))

    year = register_year(datetime.now(UTC))
    assert sorted(numbers) == [f"MEF-{year}-{n:06d}" for n in range(1, 201)]
    other = await service.send(service.citizen(), service.administrations[1])
    assert other["registration_number"] == f"MJ-{year}-000001"


async def test_a_rolled_back_registration_leaves_no_gap(service: Service) -> None:
    administration_id = uuid.uuid4()
    at = datetime(2026, 3, 2, tzinfo=UTC)

    async def take(*, commit: bool) -> str:
        async with service.database.sessionmaker() as session:
            transaction = await session.begin()
            number = await take_number(
                session,
                administration_id=administration_id,
                administration_code="MEF",
                register=Register.INCOMING,
                at=at,
            )
            await (transaction.commit() if commit else transaction.rollback())
            return number.text

    first = await take(commit=False)
    again = await take(commit=True)
    after = await take(commit=True)

    assert first == again == "MEF-2026-000001"
    assert after == "MEF-2026-000002"


@pytest.mark.parametrize(
    ("at", "year"),
    [
        (datetime(2026, 12, 31, 22, 30, tzinfo=UTC), 2026),
        (datetime(2026, 12, 31, 23, 30, tzinfo=UTC), 2027),  # already 1 January in Rabat
    ],
)
def test_the_register_year_is_morocco_s(at: datetime, year: int) -> None:
    assert register_year(at) == year


def test_numbers_are_written_the_same_way_everywhere() -> None:
    assert format_number("mef", 2026, 123, Register.INCOMING) == "MEF-2026-000123"
    assert format_number("MEF", 2026, 45, Register.OUTGOING) == "MEF-2026-D-000045"
    assert format_number("MEF", 2026, 1_234_567, Register.INCOMING) == "MEF-2026-1234567"


async def test_registers_start_again_each_year(service: Service) -> None:
    from datetime import timedelta

    mef = service.administrations[0]
    service.clock.pinned = datetime(2026, 12, 31, 22, 0, tzinfo=UTC)
    last = await service.send(service.citizen(), mef)
    service.clock.pinned += timedelta(hours=2)
    first = await service.send(service.citizen(), mef)

    assert last["registration_number"] == "MEF-2026-000001"
    assert first["registration_number"] == "MEF-2027-000001"


async def test_numbers_past_a_million_widen_as_format_number_says(service: Service) -> None:
    # The filing statement formats the number itself: the same text as Python's rule.
    mef = service.administrations[0]
    year = register_year(datetime.now(UTC))
    await service.execute(
        "INSERT INTO correspondence.register_counters (administration_id, year, register,"
        " next_value) VALUES (:id, :year, :register, 999999)",
        id=mef.id,
        year=year,
        register=Register.INCOMING.value,
    )

    numbers = [
        (await service.send(service.citizen(), mef))["registration_number"] for _ in range(2)
    ]

    assert numbers == [
        format_number("mef", year, 999_999, Register.INCOMING),
        format_number("MEF", year, 1_000_000, Register.INCOMING),
    ]
    assert numbers == [f"MEF-{year}-999999", f"MEF-{year}-1000000"]


async def test_a_person_s_filing_commits_with_its_number_in_one_statement(
    service: Service,
) -> None:
    # The register's lock lasts as long as the statement that takes the number: the letter
    # is committed when that statement returns, not when the client's work is done.
    mef = service.administrations[0]
    citizen = service.citizen()
    data = CorrespondenceCreate(recipient_administration_id=mef.id, subject="Demande")
    async with service.database.driver_transaction() as transaction:
        created = await submit_as_person(
            transaction,
            viewer=Viewer(sub=citizen.sub),
            data=data,
            settings=service.settings,
            now=datetime.now(UTC),
        )
        seen_elsewhere = await service.scalar(
            "SELECT registration_number FROM correspondence.correspondence WHERE id = :id",
            id=created.id,
        )
        locked_elsewhere = await service.scalar(
            "SELECT next_value FROM correspondence.register_counters"
            " WHERE administration_id = :id FOR UPDATE NOWAIT",
            id=mef.id,
        )

    assert seen_elsewhere == created.registration_number
    assert locked_elsewhere == 2  # free to lock: the next letter's number is 2


async def test_a_file_attached_meanwhile_takes_no_number(service: Service) -> None:
    mef = service.administrations[0]
    citizen = service.citizen()
    file_id = uuid.UUID(await service.file_id(citizen))
    data = CorrespondenceCreate(
        recipient_administration_id=mef.id, subject="Demande", file_ids=[file_id]
    )
    read = filing.read_registration

    async def attached_after_the_read(*args: Any, **kwargs: Any) -> Any:
        readied = await read(*args, **kwargs)
        # Another letter of the same person takes the file between the two statements.
        await service.execute(
            "UPDATE correspondence.files SET attached_at = now() WHERE id = :id", id=file_id
        )
        return readied

    filing.read_registration = attached_after_the_read  # type: ignore[assignment]
    try:
        async with service.database.driver_transaction() as transaction:
            with pytest.raises(FilesUnusable) as refused:
                await submit_as_person(
                    transaction,
                    viewer=Viewer(sub=citizen.sub),
                    data=data,
                    settings=service.settings,
                    now=datetime.now(UTC),
                )
    finally:
        filing.read_registration = read  # type: ignore[assignment]

    assert str(file_id) in str(refused.value.extensions)
    assert await service.scalar("SELECT count(*) FROM correspondence.correspondence") == 0
    assert await service.scalar("SELECT count(*) FROM correspondence.outbox") == 0
    # No number was taken: the next letter is the first.
    year = register_year(datetime.now(UTC))
    created = await service.send(citizen, mef)
    assert created["registration_number"] == f"MEF-{year}-000001"
