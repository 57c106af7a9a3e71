"""Codes asked for and answered at the same instant: the contact's lock decides, and what
each call reads after it sees what the one before committed."""

from __future__ import annotations

import asyncio

from identity_support import Identity
from sqlalchemy import text

from marfiq_shared.db import Database


async def _challenges_of(identity: Identity, contact: str) -> int:
    database: Database = identity.app.state.db
    async with database.sessionmaker() as session:
        count: int = await session.scalar(
            text("SELECT count(*) FROM identity.otp_challenges WHERE destination = :contact"),
            {"contact": contact},
        )
    return count


async def test_simultaneous_requests_for_one_number_open_a_single_challenge(
    identity: Identity,
) -> None:
    answers = await asyncio.gather(*(identity.request_code("+212661700001") for _ in range(6)))

    assert sorted(answer.status_code for answer in answers) == [202] + [429] * 5
    assert await _challenges_of(identity, "+212661700001") == 1
    assert {a.json()["type"] for a in answers if a.status_code == 429} == {
        "https://marfiq.ma/problems/otp-resend-too-soon"
    }


async def test_simultaneous_right_answers_sign_in_once_and_create_one_account(
    identity: Identity,
) -> None:
    requested = await identity.request_code("+212661700002")
    code = await identity.code_for("+212661700002")
    challenge_id = requested.json()["challenge_id"]

    answers = await asyncio.gather(*(identity.verify(challenge_id, code) for _ in range(4)))

    assert sorted(answer.status_code for answer in answers) == [200, 400, 400, 400]
    database: Database = identity.app.state.db
    async with database.sessionmaker() as session:
        accounts = await session.scalar(
            text("SELECT count(*) FROM identity.accounts WHERE phone = '+212661700002'")
        )
        sessions = await session.scalar(text("SELECT count(*) FROM identity.sessions"))
    assert (accounts, sessions) == (1, 1)


async def test_a_refused_request_leaves_no_challenge_behind(identity: Identity) -> None:
    assert (await identity.request_code("+212661700003")).status_code == 202

    again = await identity.request_code("+212661700003")

    assert again.status_code == 429
    assert await _challenges_of(identity, "+212661700003") == 1
