"""Row checks, without a database: each row normalised, or refused with the first error."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest

from marfiq_pensions.declarations.errors import CsvHeaderInvalid
from marfiq_pensions.declarations.reading import csv_records
from marfiq_pensions.declarations.rows import (
    Context,
    check_row,
    normalize_phone,
    parse_month,
    stage_csv,
)

CONTEXT = Context(
    declaration_id=uuid.UUID(int=1),
    period=date(2025, 10, 1),
    this_month=date(2025, 11, 1),
    max_days=26,
    employer_codes=frozenset({"MEN"}),
)
ROW = {"cin": "ab123456", "days_worked": "26", "gross_salary": "8500.5"}


def checked(**values: Any) -> tuple[Any, ...]:
    return check_row(1, ROW | values, CONTEXT, {})


def error(**values: Any) -> tuple[str | None, str | None]:
    staged = checked(**values)
    return staged[-3], staged[-2]


def test_a_good_row_is_normalised() -> None:
    staged = checked(affiliation_number=" 100000001 ", phone="06 12 34 56 78", period="10/2025")
    assert staged[2:8] == ("AB123456", "100000001", date(2025, 10, 1), 26, 850050, "+212612345678")
    assert staged[-3:] == (None, None, None)


@pytest.mark.parametrize(
    ("salary", "cents"),
    [("8500", 850000), ("8500,25", 850025), ("8 500.25", 850025), (8500.25, 850025), (0, 0)],
)
def test_salaries_are_read_in_the_forms_payroll_exports(salary: Any, cents: int) -> None:
    assert checked(gross_salary=salary)[6] == cents


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"gross_salary": "-1"}, ("negative-salary", "gross_salary")),
        ({"gross_salary": "1.234,50"}, ("invalid-salary", "gross_salary")),
        ({"gross_salary": "12.345"}, ("invalid-salary", "gross_salary")),
        ({"gross_salary": True}, ("invalid-salary", "gross_salary")),
        ({"gross_salary": None}, ("missing-value", "gross_salary")),
        ({"cin": "123456"}, ("invalid-cin", "cin")),
        ({"days_worked": "27"}, ("invalid-days", "days_worked")),
        ({"days_worked": 2.5}, ("invalid-days", "days_worked")),
        ({"period": "2025-12"}, ("period-in-future", "period")),
        ({"period": "2025-09"}, ("period-out-of-range", "period")),
        ({"period": "octobre"}, ("invalid-period", "period")),
        ({"phone": "0512345678"}, ("invalid-phone", "phone")),
        ({"birth_date": "1990-02-30"}, ("invalid-birth-date", "birth_date")),
        ({"employer": "MS"}, ("wrong-employer", "employer")),
        ({"affiliation_number": "12-34"}, ("invalid-affiliation-number", "affiliation_number")),
        ({"last_name": "x" * 101}, ("value-too-long", "last_name")),
    ],
)
def test_a_bad_value_refuses_the_row_naming_the_field(
    values: dict[str, Any], expected: tuple[str, str]
) -> None:
    assert error(**values) == expected


def test_the_same_person_twice_is_a_duplicate_of_the_first_line() -> None:
    seen: dict[str, int] = {}
    first = check_row(3, ROW | {"affiliation_number": "100000001"}, CONTEXT, seen)
    by_cin = check_row(7, ROW, CONTEXT, seen)
    by_number = check_row(9, ROW | {"cin": "CD1", "affiliation_number": "100000001"}, CONTEXT, seen)

    assert first[-3] is None
    assert by_cin[-3:] == ("duplicate-line", "cin", "cin AB123456 is already on row 3")
    assert by_number[-3] == "duplicate-line"
    assert by_number[-2] == "affiliation_number"


def test_a_csv_line_with_too_few_values_is_malformed() -> None:
    columns, records = csv_records(
        b"cin;affiliation_number;period;days_worked;gross_salary\nAB1;;2025-10;26\n"
    )
    staged = stage_csv(columns, records, CONTEXT)
    assert staged[0][-3] == "malformed-row"


def test_a_header_with_a_repeated_column_is_refused() -> None:
    with pytest.raises(CsvHeaderInvalid) as refused:
        csv_records(b"cin,cin,affiliation_number,period,days_worked,gross_salary\n")
    assert refused.value.extensions["repeated"] == ["cin"]


def test_months_and_phones_in_their_usual_spellings() -> None:
    assert parse_month("2025-10") == parse_month("10/2025") == date(2025, 10, 1)
    assert parse_month("2025-13") is None
    assert normalize_phone("+212 6 61 23 45 67") == "+212661234567"
    assert normalize_phone("0033612345678") == "+33612345678"
    assert normalize_phone("0522123456") is None  # a landline


def test_only_failures_that_would_happen_again_count_against_a_chunk() -> None:
    import asyncpg

    from marfiq_pensions.declarations.worker import transient

    wrapped = RuntimeError("while processing")
    wrapped.__cause__ = asyncpg.exceptions.DeadlockDetectedError("deadlock detected")
    assert transient(ConnectionResetError())
    assert transient(wrapped)
    assert not transient(RuntimeError("a bug"))
    assert not transient(asyncpg.exceptions.UniqueViolationError("duplicate key"))
