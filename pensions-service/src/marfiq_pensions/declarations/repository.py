"""Every query on declarations, their staged rows and chunks.

The worker's statements take whole chunks as arrays (`unnest`), so a chunk of thousands of
rows costs a handful of round trips, whatever its size.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_pensions.db import SCHEMA
from marfiq_pensions.declarations.models import (
    ChunkStatus,
    Declaration,
    DeclarationChunk,
    DeclarationRow,
    DeclarationStatus,
)
from marfiq_pensions.declarations.rows import STAGED_COLUMNS, StagedRow
from marfiq_pensions.regimes.model import ContributionRates
from marfiq_shared.db import session_driver

UNFINISHED = (DeclarationStatus.RECEIVED.value, DeclarationStatus.PROCESSING.value)

# --- submission -----------------------------------------------------------------------------


async def supersede_unfinished(
    session: AsyncSession, *, employer_id: uuid.UUID, period: date
) -> list[uuid.UUID]:
    """Mark declarations of the same month not yet processed as superseded; their ids."""
    result = await session.execute(
        update(Declaration)
        .where(
            Declaration.employer_id == employer_id,
            Declaration.period == period,
            Declaration.status.in_(UNFINISHED),
        )
        .values(status=DeclarationStatus.SUPERSEDED.value)
        .returning(Declaration.id)
    )
    return list(result.scalars())


async def stage(
    session: AsyncSession,
    declaration: Declaration,
    rows: Sequence[StagedRow],
    *,
    chunk_rows: int,
) -> None:
    """The declaration, its rows (COPY) and its chunks, in the caller's transaction."""
    session.add(declaration)
    await session.flush()
    connection = await session_driver(session)
    await connection.copy_records_to_table(
        "declaration_rows", schema_name=SCHEMA, columns=STAGED_COLUMNS, records=rows
    )
    await connection.execute(
        """
        INSERT INTO pensions.declaration_chunks (declaration_id, chunk_no, first_row, last_row,
                                                 status)
        SELECT $1, n, n * $2 + 1, least((n + 1) * $2, $3), 'pending'
        FROM generate_series(0, ($3 - 1) / $2) AS n
        """,
        declaration.id,
        chunk_rows,
        rows[-1][1],  # the last row's number (records may skip blank lines)
    )


# --- reading --------------------------------------------------------------------------------


async def get(session: AsyncSession, declaration_id: uuid.UUID) -> Declaration | None:
    return await session.get(Declaration, declaration_id)


async def rows_done(session: AsyncSession, declaration_id: uuid.UUID) -> int:
    """Rows of the chunks processed so far (staged rows of a chunk are all counted)."""
    done = await session.scalar(
        select(
            func.coalesce(func.sum(DeclarationChunk.last_row - DeclarationChunk.first_row + 1), 0)
        ).where(
            DeclarationChunk.declaration_id == declaration_id,
            DeclarationChunk.status == ChunkStatus.DONE.value,
        )
    )
    return int(done or 0)


async def errors(
    session: AsyncSession, declaration_id: uuid.UUID, *, after: int, limit: int
) -> list[DeclarationRow]:
    """Refused rows in row order, after row `after`."""
    result = await session.execute(
        select(DeclarationRow)
        .where(
            DeclarationRow.declaration_id == declaration_id,
            DeclarationRow.error_code.is_not(None),
            DeclarationRow.row_number > after,
        )
        .order_by(DeclarationRow.row_number)
        .limit(limit)
    )
    return list(result.scalars())


async def list_for_employer(
    session: AsyncSession,
    employer_id: uuid.UUID,
    *,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Declaration]:
    """An employer's declarations, newest first."""
    query = select(Declaration).where(Declaration.employer_id == employer_id)
    if before is not None:
        query = query.where(
            (Declaration.submitted_at, Declaration.id) < before  # type: ignore[operator]
        )
    result = await session.execute(
        query.order_by(Declaration.submitted_at.desc(), Declaration.id.desc()).limit(limit)
    )
    return list(result.scalars())


# --- the worker -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Chunk:
    declaration_id: uuid.UUID
    chunk_no: int
    first_row: int
    last_row: int
    employer_id: uuid.UUID
    period: date
    regime: str


CLAIM_CHUNK = """
SELECT c.declaration_id, c.chunk_no, c.first_row, c.last_row, d.employer_id, d.period, d.regime
FROM pensions.declaration_chunks AS c
JOIN pensions.declarations AS d ON d.id = c.declaration_id
WHERE c.status = 'pending' AND c.attempts < $1 AND d.status IN ('received', 'processing')
ORDER BY d.submitted_at, c.declaration_id, c.chunk_no
LIMIT 1
FOR UPDATE OF c SKIP LOCKED
"""


async def claim_chunk(connection: Any, *, max_attempts: int) -> Chunk | None:
    """The oldest pending chunk no other worker holds, locked until the caller commits."""
    row = await connection.fetchrow(CLAIM_CHUNK, max_attempts)
    return Chunk(**dict(row)) if row is not None else None


async def chunk_rows(connection: Any, chunk: Chunk) -> list[Any]:
    """The chunk's rows that passed the checks on receipt, with what the worker judges them
    by (their days, salary and grade are read again by `insert_lines`, in the database)."""
    return list(
        await connection.fetch(
            """
            SELECT row_number, cin, affiliation_number, phone, last_name, first_name, birth_date
            FROM pensions.declaration_rows
            WHERE declaration_id = $1 AND row_number BETWEEN $2 AND $3 AND error_code IS NULL
            ORDER BY row_number
            """,
            chunk.declaration_id,
            chunk.first_row,
            chunk.last_row,
        )
    )


MARK_PROCESSING = """
UPDATE pensions.declarations SET status = 'processing', started_at = $2
WHERE id = (SELECT id FROM pensions.declarations
            WHERE id = $1 AND status = 'received'
            FOR UPDATE SKIP LOCKED)
"""


async def mark_processing(connection: Any, declaration_id: uuid.UUID, now: datetime) -> None:
    """Say the declaration's processing began, unless another chunk's transaction is saying
    it: its row lock lasts until that chunk commits, and waiting for it would make the
    declaration's first chunks run one after the other. Should that transaction roll
    back, the next chunk says it."""
    await connection.execute(MARK_PROCESSING, declaration_id, now)


async def refuse_rows(
    connection: Any, declaration_id: uuid.UUID, refusals: Sequence[tuple[int, str, str, str]]
) -> None:
    """Record (row, code, field, detail) errors found while processing."""
    if not refusals:
        return
    numbers, codes, fields, details = (list(column) for column in zip(*refusals, strict=True))
    await connection.execute(
        """
        UPDATE pensions.declaration_rows AS r
        SET error_code = u.code, error_field = u.field, error_detail = u.detail
        FROM unnest($2::int[], $3::text[], $4::text[], $5::text[]) AS u(n, code, field, detail)
        WHERE r.declaration_id = $1 AND r.row_number = u.n
        """,
        declaration_id,
        numbers,
        codes,
        fields,
        details,
    )


async def insert_lines(
    connection: Any,
    chunk: Chunk,
    lines: Sequence[tuple[uuid.UUID, int]],
    rates: ContributionRates,
) -> None:
    """Contribution lines of (affiliate, row number): days, salary and grade read from the
    staged row (not sent again: the driver checks array parameters element by element in
    Python), the shares computed here at the month's `rates`.

    The shares are `regimes.contribution` in SQL: the salary (staged in centimes) capped at
    the ceiling (`least` ignores a NULL ceiling), times the rate, rounded to the centime;
    `round` on a numeric rounds half away from zero, which for a salary (never negative
    here) is half up.
    No `ON CONFLICT` is needed: a chunk is written only by the worker holding its lock, in
    the transaction that marks it done, so its lines exist once or not at all.
    """
    if not lines:
        return
    affiliates, numbers = (list(column) for column in zip(*lines, strict=True))
    await connection.execute(
        """
        INSERT INTO pensions.contribution_lines (
            declaration_id, affiliate_id, row_number, employer_id, period, days_worked,
            gross_salary, employee_contribution, employer_contribution, grade)
        SELECT $1, u.affiliate_id, u.n, $2, $3, r.days_worked, r.gross_salary_cents / 100.0,
               round(least(r.gross_salary_cents / 100.0, $6::numeric) * $7::numeric, 2),
               round(least(r.gross_salary_cents / 100.0, $6::numeric) * $8::numeric, 2),
               r.grade
        FROM unnest($4::uuid[], $5::int[]) AS u(affiliate_id, n)
        JOIN pensions.declaration_rows AS r ON r.declaration_id = $1 AND r.row_number = u.n
                                           AND r.row_number BETWEEN $9 AND $10
        """,
        chunk.declaration_id,
        chunk.employer_id,
        chunk.period,
        affiliates,
        numbers,
        rates.monthly_ceiling,
        rates.employee,
        rates.employer,
        chunk.first_row,
        chunk.last_row,
    )


async def count_attempt(connection: Any, chunk: Chunk) -> int:
    """One more failed attempt at a chunk; how many so far."""
    return int(
        await connection.fetchval(
            "UPDATE pensions.declaration_chunks SET attempts = attempts + 1 "
            "WHERE declaration_id = $1 AND chunk_no = $2 RETURNING attempts",
            chunk.declaration_id,
            chunk.chunk_no,
        )
    )


async def refuse_remaining(connection: Any, chunk: Chunk, *, code: str, detail: str) -> None:
    """Refuse the chunk's rows that no error refused yet."""
    await connection.execute(
        "UPDATE pensions.declaration_rows SET error_code = $4, error_field = '', "
        "error_detail = $5 WHERE declaration_id = $1 AND row_number BETWEEN $2 AND $3 "
        "AND error_code IS NULL",
        chunk.declaration_id,
        chunk.first_row,
        chunk.last_row,
        code,
        detail,
    )


async def finish_chunk(connection: Any, chunk: Chunk, now: datetime) -> None:
    await connection.execute(
        "UPDATE pensions.declaration_chunks SET status = 'done', processed_at = $3 "
        "WHERE declaration_id = $1 AND chunk_no = $2",
        chunk.declaration_id,
        chunk.chunk_no,
        now,
    )


FINISHED_DECLARATION = """
SELECT d.id, d.employer_id, d.period, d.regime, d.row_count
FROM pensions.declarations AS d
WHERE d.status IN ('received', 'processing')
  AND NOT EXISTS (
      SELECT 1 FROM pensions.declaration_chunks AS c
      WHERE c.declaration_id = d.id AND c.status = 'pending')
ORDER BY d.submitted_at
LIMIT 1
FOR UPDATE OF d SKIP LOCKED
"""


async def claim_finished(connection: Any) -> Any:
    """A declaration whose chunks are all done, locked; None when there is none."""
    return await connection.fetchrow(FINISHED_DECLARATION)


async def count_rows(connection: Any, declaration_id: uuid.UUID) -> tuple[int, int]:
    """(accepted, refused) rows of a declaration whose chunks are all done."""
    row = await connection.fetchrow(
        """
        SELECT count(*) FILTER (WHERE error_code IS NULL) AS accepted,
               count(*) FILTER (WHERE error_code IS NOT NULL) AS refused
        FROM pensions.declaration_rows WHERE declaration_id = $1
        """,
        declaration_id,
    )
    return int(row["accepted"]), int(row["refused"])


async def put_in_force(
    connection: Any,
    declaration: Any,
    *,
    accepted: int,
    refused: int,
    now: datetime,
) -> uuid.UUID | None:
    """The declaration becomes the one in force for its month; the one it replaced, if any."""
    replaced = await connection.fetchval(
        """
        UPDATE pensions.declarations SET current = false, status = 'replaced'
        WHERE employer_id = $1 AND period = $2 AND current
        RETURNING id
        """,
        declaration["employer_id"],
        declaration["period"],
    )
    await connection.execute(
        """
        UPDATE pensions.declarations
        SET current = true, status = 'processed', processed_at = $2,
            started_at = coalesce(started_at, $2), accepted_count = $3, rejected_count = $4,
            replaced_id = $5
        WHERE id = $1
        """,
        declaration["id"],
        now,
        accepted,
        refused,
        replaced,
    )
    return replaced  # type: ignore[no-any-return]
