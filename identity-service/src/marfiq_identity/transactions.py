"""Transactions decided by the route, for the flows that must commit even when they refuse.

A wrong code must still count as a try, and a reused refresh token must still revoke its
session, although the answer is an error. The request-scoped `Session` rolls back on any
error, so these routes run their work here instead: a `KeptRefusal` raised inside commits
what was written before it, and is raised again once the commit is done.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_identity.raw import RawTransaction, raw_transaction
from marfiq_shared.db import Database

T = TypeVar("T")
U = TypeVar("U")


class KeptRefusal(Exception):
    """Mixed into a problem whose bookkeeping must be committed before it is answered."""


@asynccontextmanager
async def _session_transaction(database: Database) -> AsyncIterator[AsyncSession]:
    async with database.sessionmaker() as session, session.begin():
        yield session


async def _keeping_refusals(
    transaction: AbstractAsyncContextManager[U], work: Callable[[U], Awaitable[T]]
) -> T:
    refusal: KeptRefusal | None = None
    async with transaction as opened:
        try:
            return await work(opened)
        except KeptRefusal as exc:
            refusal = exc
    raise refusal


async def in_transaction(database: Database, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one transaction and commit; a `KeptRefusal` commits, then is raised."""
    return await _keeping_refusals(_session_transaction(database), work)


async def in_raw_transaction(
    database: Database, work: Callable[[RawTransaction], Awaitable[T]]
) -> T:
    """`in_transaction` for the sign-in hot path: `work` gets a `RawTransaction`."""
    return await _keeping_refusals(raw_transaction(database), work)
