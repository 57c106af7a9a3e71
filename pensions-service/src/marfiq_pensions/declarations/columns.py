"""Staging a declaration's rows a column at a time.

Checking each row on its own (rows.check_row) costs 6 to 12 µs a row in Python: a function
call, a regular expression and a few objects per field. Nearly every value of a real
declaration is already in its normal form, and that can be told for a whole column at once:
one regular expression over the column's values joined by newlines, one dictionary of the
few distinct values of a column such as the days or the birth dates. Such a column check
only ever accepts a value that `check_row` would accept unchanged; whatever it cannot vouch
for is marked, and the rows holding a marked value are checked by `check_row` itself, in
row order, so their errors (the first in column order) and the duplicates are exactly
those of the row-by-row checks.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable, Sequence
from itertools import repeat
from typing import Any

from marfiq_pensions.declarations.errors import RowError
from marfiq_pensions.declarations.rows import (
    MAX_SALARY,
    TEXT_MAX,
    Context,
    RowRefused,
    StagedRow,
    check_row,
    checked_birth_date,
    checked_days,
    normalize_phone,
    refused,
)

# Columns a row is read by, in the order `check_row` judges them.
FIELDS = (
    "cin",
    "affiliation_number",
    "period",
    "days_worked",
    "gross_salary",
    "phone",
    "last_name",
    "first_name",
    "birth_date",
    "grade",
    "employer",
)


class _Unsure:
    """A value only `check_row` can judge."""


UNSURE: Any = _Unsure()
Column = Sequence[Any]


def _column_of(single: str) -> re.Pattern[str]:
    """A pattern matching values of `single` joined by newlines (`single` matches none)."""
    return re.compile(f"(?:{single})(?:\n(?:{single}))*")


_CIN = re.compile(r"[A-Z]{1,2}[0-9]{1,6}")
_CINS = _column_of(_CIN.pattern)
_NUMBER = re.compile(r"[0-9]{6,12}")
_NUMBERS = _column_of(_NUMBER.pattern)
_AMOUNT = re.compile(r"[0-9]{1,7}\.[0-9]{2}")  # the usual form: cents = the digits
_AMOUNTS = _column_of(_AMOUNT.pattern)
_PLAIN_AMOUNT = re.compile(r"([0-9]{1,7})(?:[.,]([0-9]{1,2}))?")
MAX_UNITS = int(MAX_SALARY)


def stage_json(rows: list[Any], context: Context) -> list[StagedRow]:
    """Every row of a JSON declaration, checked and shaped for staging."""

    def by_itself(index: int, seen: dict[str, int]) -> StagedRow:
        row = rows[index]
        if not isinstance(row, dict):
            refusal = RowRefused(RowError.MALFORMED, "", "each row must be a JSON object")
            return refused(context, index + 1, {}, refusal)
        return check_row(index + 1, row, context, seen)

    if not rows:
        return []
    if not all(type(row) is dict for row in rows):
        return _one_by_one(len(rows), by_itself)
    return _stage(list(range(1, len(rows) + 1)), _json_columns(rows), by_itself, context)


def _json_columns(rows: list[dict[str, Any]]) -> dict[str, Column]:
    """The values of each field, `None` where a row lacks it."""
    present = [name for name in FIELDS if name in rows[0]]
    absent = [name for name in FIELDS if name not in rows[0]]
    # Rows written by one program have the same fields: then one C-level pass picks them
    # all (a KeyError says a row lacks one) instead of a Python loop per field.
    if len(present) > 1 and not any(
        any(map(operator.contains, rows, repeat(name))) for name in absent
    ):
        try:
            picked = list(map(operator.itemgetter(*present), rows))
        except KeyError:
            pass
        else:
            nothing = [None] * len(rows)
            return dict(zip(present, zip(*picked, strict=True), strict=True)) | dict.fromkeys(
                absent, nothing
            )
    return {name: [row.get(name) for row in rows] for name in FIELDS}


def stage_csv(
    columns: list[str], records: Iterable[tuple[int, list[str]]], context: Context
) -> list[StagedRow]:
    """Every record of a CSV declaration, checked and shaped for staging."""
    records = list(records)
    width = len(columns)

    def by_itself(index: int, seen: dict[str, int]) -> StagedRow:
        number, record = records[index]
        if len(record) != width:
            detail = f"{len(record)} values where the header has {width} columns"
            return refused(context, number, {}, RowRefused(RowError.MALFORMED, "", detail))
        return check_row(number, dict(zip(columns, record, strict=True)), context, seen)

    if any(len(record) != width for _, record in records):
        return _one_by_one(len(records), by_itself)
    position = {name: index for index, name in enumerate(columns) if name}
    absent: Column = [None] * len(records)
    values: dict[str, Column] = {
        name: [record[position[name]] for _, record in records] if name in position else absent
        for name in FIELDS
    }
    return _stage([number for number, _ in records], values, by_itself, context)


def _one_by_one(
    count: int, by_itself: Callable[[int, dict[str, int]], StagedRow]
) -> list[StagedRow]:
    seen: dict[str, int] = {}
    return [by_itself(index, seen) for index in range(count)]


def _stage(
    numbers: list[int],
    values: dict[str, Column],
    by_itself: Callable[[int, dict[str, int]], StagedRow],
    context: Context,
) -> list[StagedRow]:
    """The rows whose every value a column check vouched for, shaped here; the others by
    `by_itself` (the row-by-row checks), in row order, sharing the duplicates seen."""
    unsure: set[int] = set()
    cins = _as_given(values["cin"], _CIN, _CINS, unsure, optional=False)
    affiliation_numbers = _as_given(
        values["affiliation_number"], _NUMBER, _NUMBERS, unsure, optional=True
    )
    month_text = context.month_text
    period = context.period
    periods = [
        period if value is None or value == "" or value == month_text else UNSURE
        for value in values["period"]
    ]
    days = _distinct(
        values["days_worked"], lambda value: checked_days(value, context.max_days), optional=False
    )
    salaries = _cents(values["gross_salary"])
    phones = _optional(values["phone"], _phone)
    last_names = _optional(values["last_name"], _text)
    first_names = _optional(values["first_name"], _text)
    births = _distinct(
        values["birth_date"], lambda value: checked_birth_date(value, context), optional=True
    )
    grades = _optional(values["grade"], _text)
    codes = context.employer_codes
    employers = _optional(values["employer"], lambda value: value.strip().upper() in codes)
    for column in (periods, days, salaries, phones, last_names, first_names, births, grades):
        _mark(column, unsure)
    for index, known in enumerate(employers):
        if known is False or known is UNSURE:
            unsure.add(index)

    declaration_id = context.declaration_id
    given_numbers = [number for number in affiliation_numbers if number is not None]
    if not unsure and len(set(cins)) == len(cins) and len(set(given_numbers)) == len(given_numbers):
        # The usual declaration: every row as the column checks shaped it, none twice (a
        # CIN and an affiliation number never look alike: letters, then digits only).
        nothing = repeat(None)
        return list(
            zip(
                repeat(declaration_id),
                numbers,
                cins,
                affiliation_numbers,
                periods,
                days,
                salaries,
                phones,
                last_names,
                first_names,
                births,
                grades,
                nothing,
                nothing,
                nothing,
            )
        )
    seen: dict[str, int] = {}
    staged: list[StagedRow] = []
    append = staged.append
    for index, number in enumerate(numbers):
        if index in unsure:
            append(by_itself(index, seen))
            continue
        cin, affiliation_number = cins[index], affiliation_numbers[index]
        earlier = seen.get(cin)
        if earlier is not None:
            refusal = RowRefused(
                RowError.DUPLICATE, "cin", f"cin {cin} is already on row {earlier}"
            )
            append(_duplicate(context, number, cin, affiliation_number, refusal))
            continue
        if affiliation_number is not None:
            earlier = seen.get(affiliation_number)
            if earlier is not None:
                refusal = RowRefused(
                    RowError.DUPLICATE,
                    "affiliation_number",
                    f"affiliation_number {affiliation_number} is already on row {earlier}",
                )
                append(_duplicate(context, number, cin, affiliation_number, refusal))
                continue
            seen[affiliation_number] = number
        seen[cin] = number
        append(
            (
                declaration_id,
                number,
                cin,
                affiliation_number,
                periods[index],
                days[index],
                salaries[index],
                phones[index],
                last_names[index],
                first_names[index],
                births[index],
                grades[index],
                None,
                None,
                None,
            )
        )
    return staged


def _duplicate(
    context: Context, number: int, cin: str, affiliation_number: str | None, refusal: RowRefused
) -> StagedRow:
    return refused(context, number, {"cin": cin, "affiliation_number": affiliation_number}, refusal)


def _mark(column: Column, unsure: set[int]) -> None:
    if UNSURE in column:  # an identity test first: rarely more than a scan of the list
        unsure.update(index for index, value in enumerate(column) if value is UNSURE)


def _as_given(
    column: Column,
    single: re.Pattern[str],
    joined: re.Pattern[str],
    unsure: set[int],
    *,
    optional: bool,
) -> Column:
    """Values already in normal form kept as they are (`None` for an absent optional one);
    the others are marked unsure."""
    given: Column = column
    if optional:
        column = [None if value == "" else value for value in column]
        given = [value for value in column if value is not None]
    if _all_match(given, joined):
        return column
    result = [
        value
        if (value is None and optional) or (type(value) is str and single.fullmatch(value))
        else UNSURE
        for value in column
    ]
    _mark(result, unsure)
    return result


def _all_match(values: Column, joined: re.Pattern[str]) -> bool:
    """Whether every value is text that the single pattern of `joined` matches whole."""
    if not values:
        return True
    if not all(type(value) is str for value in values):
        return False
    text = "\n".join(values)
    # A value holding a newline would pass for two: the count of them tells.
    return text.count("\n") == len(values) - 1 and joined.fullmatch(text) is not None


def _distinct(column: Column, check: Callable[[Any], Any], *, optional: bool) -> Column:
    """A column of few distinct values (days, birth dates), each distinct text checked once."""
    if all(value is None or type(value) is str for value in column):
        table = {value: _judged(value, check, optional=optional) for value in set(column)}
        return [table[value] for value in column]
    # JSON numbers: distinct by type too (1, 1.0 and true are equal keys), so one by one.
    return [_judged(value, check, optional=optional) for value in column]


def _judged(value: Any, check: Callable[[Any], Any], *, optional: bool) -> Any:
    if optional and (value is None or value == ""):
        return None
    if type(value) is not str and type(value) is not int:
        return UNSURE  # absent, floats, booleans, objects: the row checks say why
    try:
        return check(value)
    except RowRefused:
        return UNSURE


def _cents(column: Column) -> Column:
    """Gross salaries in centimes."""
    if _all_match(column, _AMOUNTS):
        return [int(value.replace(".", "")) for value in column]
    return [_amount(value) for value in column]


def _amount(value: Any) -> Any:
    if type(value) is str:
        match = _PLAIN_AMOUNT.fullmatch(value)
        if match is not None:
            units, cents = match.groups()
            return int(units) * 100 + (int(cents.ljust(2, "0")) if cents else 0)
    elif type(value) is int and 0 <= value < MAX_UNITS:
        return value * 100
    return UNSURE


def _optional(column: Column, check: Callable[[str], Any]) -> Column:
    """An optional column: `None` where empty; `check` of the text where given."""
    return [
        None if value is None or value == "" else check(value) if type(value) is str else UNSURE
        for value in column
    ]


def _phone(value: str) -> Any:
    return normalize_phone(value.strip()) or UNSURE


def _text(value: str) -> Any:
    text = value.strip()
    return (text or None) if len(text) <= TEXT_MAX else UNSURE
