"""Reading a declaration's body: a CSV with a header naming its columns, or a JSON document
with a `rows` array. A body that cannot be read at all is refused whole; its lines are
checked one by one afterwards (see rows.py)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

import orjson

from marfiq_pensions.declarations.errors import (
    CsvHeaderInvalid,
    DeclarationEmpty,
    DeclarationUnreadable,
    TooManyRows,
)

# Canonical column -> names accepted in a CSV header (lower case, French spellings too).
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "cin": ("cin", "cnie"),
    "affiliation_number": ("affiliation_number", "numero_affiliation", "matricule"),
    "period": ("period", "periode", "période", "mois"),
    "days_worked": ("days_worked", "jours", "jours_travailles", "jours_travaillés"),
    "gross_salary": ("gross_salary", "salaire_brut", "salaire"),
}
OPTIONAL_COLUMNS: dict[str, tuple[str, ...]] = {
    "phone": ("phone", "telephone", "téléphone", "mobile"),
    "last_name": ("last_name", "nom"),
    "first_name": ("first_name", "prenom", "prénom"),
    "birth_date": ("birth_date", "date_naissance", "date_de_naissance"),
    "grade": ("grade",),
    "employer": ("employer", "employeur"),
}
_ALIASES = {
    alias: column
    for columns in (REQUIRED_COLUMNS, OPTIONAL_COLUMNS)
    for column, aliases in columns.items()
    for alias in aliases
}


def csv_records(body: bytes) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """The canonical columns of a CSV declaration's header and its numbered records.

    The delimiter is `,` or `;` (as spreadsheets export in French), seen in the header.
    """
    text = _decode(body)
    lines = text.splitlines()
    position = next((n for n, line in enumerate(lines) if line.strip()), None)
    if position is None:
        raise DeclarationEmpty("the file is empty")
    header_line = lines[position]
    delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
    reader = csv.reader(lines[position:], delimiter=delimiter)
    header = next(reader)
    columns = _columns(header)

    def records() -> Iterator[tuple[int, list[str]]]:
        for number, record in enumerate(reader, start=1):
            if record and any(value.strip() for value in record):
                yield number, record

    return columns, records()


def _decode(body: bytes) -> str:
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DeclarationUnreadable(
            f"the file is not UTF-8 text (byte {error.start} cannot be read)"
        ) from None


def _columns(header: list[str]) -> list[str]:
    """Canonical names of the header's columns; a wrong header is refused whole."""
    columns, unknown = [], []
    for name in header:
        key = "_".join(name.strip().strip('"').lower().split())
        column = _ALIASES.get(key)
        if column is None:
            unknown.append(name.strip())
        columns.append(column or "")
    missing = [column for column in REQUIRED_COLUMNS if column not in columns]
    repeated = sorted({column for column in columns if column and columns.count(column) > 1})
    if missing or unknown or repeated:
        parts = []
        if missing:
            parts.append("missing " + ", ".join(missing))
        if unknown:
            parts.append("unknown " + ", ".join(repr(name) for name in unknown))
        if repeated:
            parts.append("repeated " + ", ".join(repeated))
        raise CsvHeaderInvalid(
            "the header must name the columns "
            + ", ".join(REQUIRED_COLUMNS)
            + " (and optionally "
            + ", ".join(OPTIONAL_COLUMNS)
            + "): "
            + "; ".join(parts),
            missing=missing,
            unknown=unknown,
            repeated=repeated,
            expected=list(REQUIRED_COLUMNS),
            optional=list(OPTIONAL_COLUMNS),
        )
    return columns


def json_document(body: bytes) -> tuple[dict[str, Any], list[Any]]:
    """The top-level fields and the rows of a JSON declaration."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise DeclarationUnreadable(f"the body is not valid JSON: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("rows"), list):
        raise DeclarationUnreadable('the body must be an object with a "rows" array')
    rows = document.pop("rows")
    return document, rows


def check_count(count: int, *, max_rows: int) -> None:
    if count == 0:
        raise DeclarationEmpty("the declaration has no line")
    if count > max_rows:
        raise TooManyRows(f"at most {max_rows} lines per declaration", max_rows=max_rows)
