"""Row checks, without a database: each row normalised, or refused with the first error."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest

from marfiq_pensions.declarations.columns import stage_csv, stage_json
from marfiq_pensions.declarations.errors import CsvHeaderInvalid
from marfiq_pensions.declarations.reading import csv_records
from marfiq_pensions.declarations.rows import (
    Context,
    check_row,
    normalize_phone,
    parse_month,
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


# Values in their usual forms and in every form the row checks refuse or normalise.
ODD_VALUES: dict[str, list[Any]] = {
    "cin": ["AB123456", "ab123456", " AB 1234 ", "AB12\nCD34", "123", "", None, 7, "A1"],
    "affiliation_number": [None, "", "123456789", "12 3456 789", "12a", "  ", 123456789],
    "period": [None, "", "2025-10", "10/2025", "2025-10-01", "2025-09", "2025-12", "oct"],
    "days_worked": [26, "26", "0", "27", -1, True, 1.0, "", None, "x", " 26 "],
    "gross_salary": [
        "8500.50",
        "8500,5",
        "8500",
        8500,
        8500.5,
        "-1",
        "1 000",
        "9999999.99",
        "10000000",
        "1.234",
        "8.500,00",
        True,
        None,
        "",
        "nan",
    ],
    "phone": [None, "", "0612345678", "+212 6 12 34 56 78", "0522123456", "  ", 0],
    "last_name": [None, "", "Bennani", " Bennani ", "x" * 101, "   ", 5],
    "birth_date": [None, "", "1980-01-01", "1899-12-31", "2030-01-01", "1980-13-01", 19800101],
    "grade": [None, "", "Administrateur", "\t"],
    "employer": [None, "", "MEN", "men", "OTHER", "  "],
}


def declaration(odd: float, seed: int) -> list[dict[str, Any]]:
    """3,000 rows of usual values (some people twice), each value odd with probability `odd`."""
    import random

    chooser = random.Random(seed)
    rows: list[dict[str, Any]] = []
    for n in range(3000):
        row: dict[str, Any] = {
            "cin": f"AB{n % 2900:06d}",
            "affiliation_number": f"{100000000 + n % 2950}" if n % 3 else None,
            "period": "2025-10",
            "days_worked": n % 27,
            "gross_salary": f"{n * 7 % 90000}.{n % 100:02d}",
            "phone": f"06{n:08d}" if n % 5 == 0 else None,
            "last_name": f"Nom{n}",
            "birth_date": f"19{50 + n % 50}-0{1 + n % 9}-1{n % 10}",
            "grade": "Administrateur" if n % 2 else "",
        }
        for name, values in ODD_VALUES.items():
            if chooser.random() < odd:
                row[name] = chooser.choice(values)
        rows.append(row)
    return rows


@pytest.mark.parametrize("odd", [0.0, 0.0005, 0.2])
def test_the_column_checks_stage_exactly_what_the_row_checks_stage(odd: float) -> None:
    rows = declaration(odd, seed=7)
    seen: dict[str, int] = {}
    expected = [check_row(number, row, CONTEXT, seen) for number, row in enumerate(rows, 1)]

    assert stage_json(rows, CONTEXT) == expected
    assert {row[-3] for row in expected} >= {None, "duplicate-line"}

    header = list(ODD_VALUES)
    records = [
        (n, ["" if row.get(name) is None else str(row.get(name)) for name in header])
        for n, row in enumerate(rows, start=1)
    ]
    seen = {}
    expected = [
        check_row(number, dict(zip(header, record, strict=True)), CONTEXT, seen)
        for number, record in records
    ]
    assert stage_csv(header, records, CONTEXT) == expected


def test_a_value_holding_a_line_break_does_not_pass_for_two_good_ones() -> None:
    rows = declaration(0.0, seed=3)[:10]
    rows[4]["cin"] = "AB000900\nCD000901"
    rows[6]["gross_salary"] = "100.00\n200.00"

    staged = stage_json(rows, CONTEXT)

    assert [(row[1], row[-3]) for row in staged if row[-3]] == [
        (5, "invalid-cin"),
        (7, "invalid-salary"),
    ]


def test_no_rows_stage_nothing() -> None:
    assert stage_json([], CONTEXT) == []
    assert stage_csv(list(ODD_VALUES), [], CONTEXT) == []


def test_a_row_that_is_not_an_object_is_malformed_and_the_others_checked() -> None:
    rows: list[Any] = declaration(0.0, seed=1)[:10]
    seen: dict[str, int] = {}
    expected = [check_row(number, row, CONTEXT, seen) for number, row in enumerate(rows, 1)]
    rows.insert(3, ["not", "an", "object"])

    staged = stage_json(rows, CONTEXT)

    assert staged[3][-3] == "malformed-row"
    assert [row[2:] for row in staged[:3] + staged[4:]] == [row[2:] for row in expected]


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
