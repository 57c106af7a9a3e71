"""Every query on the document registry."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_correspondence.documents.models import IssuedDocument
from marfiq_shared.db import Database

PDF_COLUMNS = ("sha256", "size", "storage_key", "signed_by", "signed_at")
# On the driver (one statement, atomic by itself, no ORM session): the entry takes the
# first PDF recorded for it and refuses any later one.
_RECORD_PDF = (
    update(IssuedDocument)
    .where(IssuedDocument.code == bindparam("code"), IssuedDocument.storage_key.is_(None))
    .values({name: bindparam(name) for name in PDF_COLUMNS})
    .returning(IssuedDocument.code)
    .compile(dialect=asyncpg_dialect())
)
_RECORD_PDF_SQL, _RECORD_PDF_PARAMETERS = _RECORD_PDF.string, tuple(_RECORD_PDF.positiontup or ())


async def record_pdf(database: Database, code: str, values: dict[str, Any]) -> bool:
    """Record the stored PDF of an entry that had none (`values`: PDF_COLUMNS); False
    when it had one already."""
    parameters = values | {"code": code}
    async with database.driver_transaction() as transaction:
        row = await transaction.only(
            _RECORD_PDF_SQL, *(parameters[name] for name in _RECORD_PDF_PARAMETERS)
        )
    return row is not None


async def add(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(insert(IssuedDocument).values(**values))


async def add_if_absent(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(insert(IssuedDocument).values(**values).on_conflict_do_nothing())


async def get(
    session: AsyncSession, code: str, *, for_update: bool = False
) -> IssuedDocument | None:
    statement = select(IssuedDocument).where(IssuedDocument.code == code)
    if for_update:
        statement = statement.with_for_update()
    return (await session.scalars(statement)).first()
