"""Declarations: receiving one (checked, staged, answered at once) and reporting on it."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_pensions.bulk import collector_paused
from marfiq_pensions.careers.build import DAYS_PER_MONTH
from marfiq_pensions.db import administrations
from marfiq_pensions.declarations import repository
from marfiq_pensions.declarations.columns import stage_csv, stage_json
from marfiq_pensions.declarations.errors import (
    DeclarationNotFound,
    DeclarationUnreadable,
    NotADeclaringEmployer,
    PeriodInFuture,
    PeriodOutOfRange,
    UnsupportedFormat,
    WrongEmployer,
)
from marfiq_pensions.declarations.models import Declaration, DeclarationRow, DeclarationStatus
from marfiq_pensions.declarations.reading import check_count, csv_records, json_document
from marfiq_pensions.declarations.rows import Context, parse_month
from marfiq_pensions.declarations.schemas import (
    DeclarationAccepted,
    DeclarationPage,
    DeclarationRead,
    DeclarationSummary,
    RowErrorPage,
    RowErrorRead,
)
from marfiq_pensions.dependencies import local_day, month_of
from marfiq_pensions.regimes import RegimeCatalogue, RegimeCode, RegimeNotInForce
from marfiq_pensions.settings import PensionsSettings
from marfiq_shared.auth import Principal
from marfiq_shared.directory import replica_row
from marfiq_shared.i18n import translate
from marfiq_shared.pagination import InvalidCursor, decode_cursor, encode_cursor
from marfiq_shared.problems import ValidationFailed

ERRORS_INLINE = 100


@dataclass(frozen=True, slots=True)
class Submission:
    """A declaration as it arrived: the body and what the query string said."""

    body: bytes
    content_type: str
    period: str | None = None
    regime: str | None = None
    employer_id: uuid.UUID | None = None


def employer_of(principal: Principal) -> uuid.UUID:
    """The administration the caller declares for."""
    if principal.adm is None:
        raise NotADeclaringEmployer()
    return principal.adm


async def submit(
    session: AsyncSession,
    *,
    declarer: Principal,
    submission: Submission,
    settings: PensionsSettings,
    catalogue: RegimeCatalogue,
    now: datetime,
) -> DeclarationAccepted:
    """Check and stage a declaration; a worker processes it after the commit."""
    with collector_paused():
        return await _submit(
            session,
            declarer=declarer,
            submission=submission,
            settings=settings,
            catalogue=catalogue,
            now=now,
        )


async def _submit(
    session: AsyncSession,
    *,
    declarer: Principal,
    submission: Submission,
    settings: PensionsSettings,
    catalogue: RegimeCatalogue,
    now: datetime,
) -> DeclarationAccepted:
    employer_id = employer_of(declarer)
    media = submission.content_type.split(";")[0].strip().lower()
    if media == "application/json" or media.endswith("+json"):
        source_format = "json"
        fields, json_rows = json_document(submission.body)
        period_text = _text(fields.get("period")) or submission.period
        regime_text = _text(fields.get("regime")) or submission.regime
        named_employer = _text(fields.get("employer_id"))
    elif media in ("text/csv", "application/csv", "text/plain"):
        source_format = "csv"
        columns, records = csv_records(submission.body)
        csv_rows = list(records)
        period_text, regime_text = submission.period, submission.regime
        named_employer = str(submission.employer_id) if submission.employer_id else None
        if period_text is None and csv_rows:
            first, column = csv_rows[0][1], columns.index("period")
            if column < len(first):
                period_text = first[column].strip() or None  # the first line's month
    else:
        raise UnsupportedFormat(f"{media or 'no content type'} is not application/json or text/csv")
    if named_employer is not None and named_employer != str(employer_id):
        raise WrongEmployer("the declaration names another employer than your administration")
    employer = await replica_row(session, administrations, employer_id)
    if employer is None or not employer["active"]:
        raise NotADeclaringEmployer("your administration is not an active employer")
    regime = _regime(regime_text)
    this_month = month_of(local_day(now))
    period = _period(period_text, regime, catalogue, this_month, settings)
    declaration_id = uuid.uuid4()
    context = Context(
        declaration_id=declaration_id,
        period=period,
        this_month=this_month,
        max_days=DAYS_PER_MONTH[regime],
        employer_codes=frozenset({str(employer["code"]).upper(), str(employer_id).upper()}),
    )
    if source_format == "json":
        check_count(len(json_rows), max_rows=settings.declaration_max_rows)
        staged = stage_json(json_rows, context)
    else:
        check_count(len(csv_rows), max_rows=settings.declaration_max_rows)
        staged = stage_csv(columns, csv_rows, context)
    superseded = await repository.supersede_unfinished(
        session, employer_id=employer_id, period=period
    )
    declaration = Declaration(
        id=declaration_id,
        employer_id=employer_id,
        period=period,
        regime=regime.value,
        status=DeclarationStatus.RECEIVED.value,
        current=False,
        source_format=source_format,
        content_sha256=hashlib.sha256(submission.body).hexdigest(),
        submitted_by=declarer.sub,
        submitted_at=now,
        row_count=len(staged),
    )
    await repository.stage(session, declaration, staged, chunk_rows=settings.declaration_chunk_rows)
    return DeclarationAccepted(
        id=declaration_id,
        status=DeclarationStatus.RECEIVED,
        period=f"{period:%Y-%m}",
        regime=regime,
        rows=len(staged),
        rejected_on_receipt=sum(1 for row in staged if row[-3] is not None),
        superseded=superseded,
    )


def _text(value: Any) -> str | None:
    return str(value).strip() or None if value is not None else None


def _regime(text: str | None) -> RegimeCode:
    if text is None:
        return RegimeCode.CIVIL
    try:
        return RegimeCode(text.lower())
    except ValueError:
        raise ValidationFailed(
            f"regime must be one of {', '.join(RegimeCode)}",
            errors=[{"field": "regime", "in": "body", "message": "unknown regime"}],
        ) from None


def _period(
    text: str | None,
    regime: RegimeCode,
    catalogue: RegimeCatalogue,
    this_month: date,
    settings: PensionsSettings,
) -> date:
    """The declared month: not in the future, not older than the fund accepts online."""
    if text is None:
        raise DeclarationUnreadable("the month declared is missing: give period=YYYY-MM")
    period = parse_month(text)
    if period is None:
        raise DeclarationUnreadable(f"period {text[:20]!r} is not a month written YYYY-MM")
    if period > this_month:
        raise PeriodInFuture(
            f"{period:%Y-%m} has not begun; the latest month is {this_month:%Y-%m}",
            period=f"{period:%Y-%m}",
            latest=f"{this_month:%Y-%m}",
        )
    months_back = (this_month.year - period.year) * 12 + this_month.month - period.month
    try:
        catalogue.regime(regime).contribution_rates(period)
    except RegimeNotInForce:
        months_back = settings.declaration_max_age_months + 1
    if months_back > settings.declaration_max_age_months:
        raise PeriodOutOfRange(
            f"{period:%Y-%m} is more than {settings.declaration_max_age_months} months ago "
            "or before the regime's rates on record; contact the fund to correct it",
            period=f"{period:%Y-%m}",
        )
    return period


# --- reading --------------------------------------------------------------------------------


async def visible(
    session: AsyncSession, *, reader: Principal, declaration_id: uuid.UUID
) -> Declaration:
    """A declaration of the reader's own administration; any other is not found."""
    declaration = await repository.get(session, declaration_id)
    if declaration is None or declaration.employer_id != reader.adm:
        raise DeclarationNotFound()
    return declaration


async def read(
    session: AsyncSession, *, reader: Principal, declaration_id: uuid.UUID
) -> DeclarationRead:
    """The status of a declaration and its first refused lines."""
    declaration = await visible(session, reader=reader, declaration_id=declaration_id)
    page = await error_page(session, declaration=declaration, cursor=None, limit=ERRORS_INLINE)
    return DeclarationRead(
        id=declaration.id,
        employer_id=declaration.employer_id,
        period=f"{declaration.period:%Y-%m}",
        regime=RegimeCode(declaration.regime),
        status=DeclarationStatus(declaration.status),
        in_force=declaration.current,
        format=declaration.source_format,
        submitted_at=declaration.submitted_at,
        processed_at=declaration.processed_at,
        rows=declaration.row_count,
        rows_processed=await repository.rows_done(session, declaration.id),
        accepted=declaration.accepted_count,
        rejected=declaration.rejected_count,
        replaced_declaration_id=declaration.replaced_id,
        errors=page.items,
        errors_next_cursor=page.next_cursor,
    )


async def error_page(
    session: AsyncSession, *, declaration: Declaration, cursor: str | None, limit: int
) -> RowErrorPage:
    """Refused lines in order, a page at a time."""
    position = decode_cursor(cursor) or {}
    after = position.get("row", 0)
    if not isinstance(after, int):
        after = 0
    rows = await repository.errors(session, declaration.id, after=after, limit=limit + 1)
    items = [_row_error(row) for row in rows[:limit]]
    next_cursor = encode_cursor({"row": items[-1].row}) if len(rows) > limit else None
    return RowErrorPage(items=items, next_cursor=next_cursor)


def _row_error(row: DeclarationRow) -> RowErrorRead:
    assert row.error_code is not None
    return RowErrorRead(
        row=row.row_number,
        field=row.error_field or None,
        code=row.error_code,
        message=translate(row.error_code),
        detail=row.error_detail,
        cin=row.cin,
        affiliation_number=row.affiliation_number,
    )


async def list_declarations(
    session: AsyncSession, *, reader: Principal, cursor: str | None, limit: int
) -> DeclarationPage:
    """The reader's administration's declarations, newest first."""
    employer_id = employer_of(reader)
    position = decode_cursor(cursor)
    before = None
    if position is not None:
        try:
            before = (datetime.fromisoformat(position["at"]), uuid.UUID(position["id"]))
        except (KeyError, TypeError, ValueError):
            raise InvalidCursor() from None
    found = await repository.list_for_employer(session, employer_id, before=before, limit=limit + 1)
    items = [
        DeclarationSummary(
            id=declaration.id,
            period=f"{declaration.period:%Y-%m}",
            regime=RegimeCode(declaration.regime),
            status=DeclarationStatus(declaration.status),
            in_force=declaration.current,
            submitted_at=declaration.submitted_at,
            rows=declaration.row_count,
            accepted=declaration.accepted_count,
            rejected=declaration.rejected_count,
        )
        for declaration in found[:limit]
    ]
    next_cursor = None
    if len(found) > limit:
        last = found[limit - 1]
        next_cursor = encode_cursor({"at": last.submitted_at.isoformat(), "id": str(last.id)})
    return DeclarationPage(items=items, next_cursor=next_cursor)
