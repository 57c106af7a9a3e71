"""Transactions decided by the route, for the flows that must commit even when they refuse.

A wrong code must still count as a try, and a reused refresh token must still revoke its
session, although the answer is an error. The request-scoped `Session` rolls back on any
error, so these routes run their work here instead: a `KeptRefusal` raised inside commits
what was written before it, and is raised again once the commit is done.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_shared.db import Database

T = TypeVar("T")


class KeptRefusal(Exception):
    """Mixed into a problem whose bookkeeping must be committed before it is answered."""


async def in_transaction(database: Database, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one transaction and commit; a `KeptRefusal` commits, then is raised."""
    refusal: KeptRefusal | None = None
    async with database.sessionmaker() as session, session.begin():
        try:
            return await work(session)
        except KeptRefusal as exc:
            refusal = exc
    raise refusal
