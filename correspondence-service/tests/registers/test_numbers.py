"""Register numbers: consecutive per administration, year and register, whatever the
concurrency; a rolled-back registration gives its number back."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from correspondence_support import Service

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
