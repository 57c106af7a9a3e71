"""Checking a declaration's rows, each on its own, and shaping them for staging.

Everything here is pure: what can be judged from a row alone (its format, a negative salary,
a month other than the declaration's, a person already on an earlier line) is judged here and
staged with the row; what needs the fund's files (an unknown person) is judged by the worker.
A row carries at most one error, the first found, in column order.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import phonenumbers

from marfiq_pensions.declarations.errors import RowError

# The staged row, in the column order of `declaration_rows` (COPY writes it as is).
STAGED_COLUMNS = (
    "declaration_id",
    "row_number",
    "cin",
    "affiliation_number",
    "period",
    "days_worked",
    "gross_salary_cents",
    "phone",
    "last_name",
    "first_name",
    "birth_date",
    "grade",
    "error_code",
    "error_field",
    "error_detail",
)
StagedRow = tuple[Any, ...]

_CIN = re.compile(r"[A-Z]{1,2}[0-9]{1,6}")
_AFFILIATION_NUMBER = re.compile(r"[0-9]{6,12}")
_PERIOD = re.compile(r"([0-9]{4})-([0-9]{2})(?:-[0-9]{2})?|([0-9]{2})/([0-9]{4})")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DAYS = re.compile(r"[0-9]{1,3}")
_MOROCCAN_MOBILE = re.compile(r"(?:\+212|00212|0)([67][0-9]{8})")
_PLAIN_AMOUNT = re.compile(r"([0-9]{1,7})(?:[.,]([0-9]{1,2}))?")  # below MAX_SALARY
_SPACES = re.compile(r"[\s\u00a0\u202f]+")
CENT = Decimal("0.01")
MAX_SALARY = Decimal("10000000")
TEXT_MAX = 100


@dataclass(frozen=True, slots=True)
class Context:
    """What a row is checked against."""

    declaration_id: uuid.UUID
    period: date  # the declared month's first day
    this_month: date  # the current month's first day (Africa/Casablanca)
    max_days: int  # days a month can count under the declaration's regime
    employer_codes: frozenset[str]  # how rows may name the declaring employer (upper case)
    month_text: str = field(init=False)  # the period as rows usually write it

    def __post_init__(self) -> None:
        object.__setattr__(self, "month_text", f"{self.period:%Y-%m}")


class RowRefused(Exception):
    """One row's error: what, in which field, and a detail for the employer."""

    def __init__(self, code: RowError, field: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.field = field
        self.detail = detail


def check_row(
    number: int, values: Mapping[str, Any], context: Context, seen: dict[str, int]
) -> StagedRow:
    """One row, normalised, with the first error it has (if any).

    `seen` maps each CIN and affiliation number met so far to its row, for duplicates.
    """
    get = values.get
    try:
        cin = _cin(get("cin"))
        number_ = _affiliation_number(get("affiliation_number"))
        period = _period(get("period"), context)
        days = checked_days(get("days_worked"), context.max_days)
        salary = _salary(get("gross_salary"))
        # Optional columns are mostly empty: look at them only when they hold something.
        phone = _phone(value) if (value := get("phone")) else None
        last_name = _text(value, "last_name") if (value := get("last_name")) else None
        first_name = _text(value, "first_name") if (value := get("first_name")) else None
        birth_date = checked_birth_date(value, context) if (value := get("birth_date")) else None
        grade = _text(value, "grade") if (value := get("grade")) else None
        if value := get("employer"):
            _employer(value, context)
        earlier = seen.get(cin)
        if earlier is not None:
            raise RowRefused(RowError.DUPLICATE, "cin", f"cin {cin} is already on row {earlier}")
        if number_ is not None:
            earlier = seen.get(number_)
            if earlier is not None:
                raise RowRefused(
                    RowError.DUPLICATE,
                    "affiliation_number",
                    f"affiliation_number {number_} is already on row {earlier}",
                )
            seen[number_] = number
        seen[cin] = number
    except RowRefused as refusal:
        return refused(context, number, values, refusal)
    return (
        context.declaration_id,
        number,
        cin,
        number_,
        period,
        days,
        salary,
        phone,
        last_name,
        first_name,
        birth_date,
        grade,
        None,
        None,
        None,
    )


def refused(
    context: Context, number: int, values: Mapping[str, Any], refusal: RowRefused
) -> StagedRow:
    """A refused row keeps its identifying values, as given, for the report."""
    return (
        context.declaration_id,
        number,
        _raw(values.get("cin"), 16),
        _raw(values.get("affiliation_number"), 16),
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        refusal.code.value,
        refusal.field,
        refusal.detail[:300],
    )


def _raw(value: Any, length: int) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text[:length] or None


def _present(value: Any) -> str | None:
    """A value as stripped text; None when absent or blank."""
    if value is None:
        return None
    text = value.strip() if isinstance(value, str) else str(value)
    return text or None


def _cin(value: Any) -> str:
    if isinstance(value, str):
        cin = value.strip().upper()
        if _CIN.fullmatch(cin):  # the common case
            return cin
    text = _present(value)
    if text is None:
        raise RowRefused(RowError.MISSING, "cin", "cin is required")
    cin = _SPACES.sub("", text).upper()
    if not _CIN.fullmatch(cin):
        raise RowRefused(RowError.INVALID_CIN, "cin", f"{text[:20]!r} is not a CIN")
    return cin


def _affiliation_number(value: Any) -> str | None:
    text = _present(value)
    if text is None:
        return None  # a new employee: the fund allocates a number
    compact = _SPACES.sub("", text)
    if not _AFFILIATION_NUMBER.fullmatch(compact):
        raise RowRefused(
            RowError.INVALID_AFFILIATION_NUMBER,
            "affiliation_number",
            f"{text[:20]!r} is not an affiliation number",
        )
    return compact


def parse_month(text: str) -> date | None:
    """A month written YYYY-MM (or YYYY-MM-DD, or MM/YYYY), as its first day."""
    match = _PERIOD.fullmatch(text.strip())
    if match is None:
        return None
    year, month = (match.group(1), match.group(2)) if match.group(1) else match.group(4, 3)
    try:
        return date(int(year), int(month), 1)
    except ValueError:
        return None


def _period(value: Any, context: Context) -> date:
    if value == context.month_text:  # the common case
        return context.period
    text = _present(value)
    if text is None:
        return context.period
    period = parse_month(text)
    if period is None:
        raise RowRefused(RowError.INVALID_PERIOD, "period", f"{text[:20]!r} is not a month")
    if period > context.this_month:
        raise RowRefused(RowError.PERIOD_IN_FUTURE, "period", f"{period:%Y-%m} has not begun")
    if period != context.period:
        raise RowRefused(
            RowError.PERIOD_OUT_OF_RANGE,
            "period",
            f"{period:%Y-%m} on a declaration for {context.period:%Y-%m}",
        )
    return period


def checked_days(value: Any, max_days: int) -> int:
    if type(value) is int:
        days = value
    elif isinstance(value, bool | int):
        raise RowRefused(RowError.INVALID_DAYS, "days_worked", "days_worked is a number")
    else:
        text = _present(value)
        if text is None:
            raise RowRefused(RowError.MISSING, "days_worked", "days_worked is required")
        if not _DAYS.fullmatch(text):
            raise RowRefused(
                RowError.INVALID_DAYS, "days_worked", f"{text[:20]!r} is not a whole number"
            )
        days = int(text)
    if not 0 <= days <= max_days:
        raise RowRefused(
            RowError.INVALID_DAYS, "days_worked", f"{days} days; 0 to {max_days} count a month"
        )
    return days


def _salary(value: Any) -> int:
    """The gross salary in centimes."""
    if isinstance(value, str):
        match = _PLAIN_AMOUNT.fullmatch(value)
        if match is not None:  # the common case, without a Decimal
            units, cents = match.groups()
            return int(units) * 100 + (int(cents.ljust(2, "0")) if cents else 0)
    if isinstance(value, bool):
        raise RowRefused(RowError.INVALID_SALARY, "gross_salary", "gross_salary is an amount")
    if isinstance(value, (int, float)):
        text = repr(value)
    else:
        present = _present(value)
        if present is None:
            raise RowRefused(RowError.MISSING, "gross_salary", "gross_salary is required")
        text = _SPACES.sub("", present)
        if "," in text:
            if "." in text:
                raise RowRefused(
                    RowError.INVALID_SALARY,
                    "gross_salary",
                    f"{present[:20]!r}: write 1234.56 or 1234,56, without thousands separators",
                )
            text = text.replace(",", ".")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise RowRefused(
            RowError.INVALID_SALARY, "gross_salary", f"{text[:20]!r} is not an amount"
        ) from None
    if not amount.is_finite():
        raise RowRefused(RowError.INVALID_SALARY, "gross_salary", "not an amount")
    if amount < 0:
        raise RowRefused(RowError.NEGATIVE_SALARY, "gross_salary", f"{amount} is negative")
    if amount >= MAX_SALARY or amount != amount.quantize(CENT):
        raise RowRefused(
            RowError.INVALID_SALARY,
            "gross_salary",
            f"{text[:20]} is not an amount below {MAX_SALARY} with at most 2 decimals",
        )
    return int(amount * 100)


def normalize_phone(text: str) -> str | None:
    """A mobile number in E.164, or None when it is not one (Moroccan when no country)."""
    compact = _SPACES.sub("", text).replace("-", "").replace(".", "")
    match = _MOROCCAN_MOBILE.fullmatch(compact)
    if match is not None:  # the common case, without the cost of a full parse
        return "+212" + match.group(1)
    try:
        parsed = phonenumbers.parse(text, "MA")
    except phonenumbers.NumberParseException:
        return None
    mobile = (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )
    if not phonenumbers.is_valid_number(parsed) or phonenumbers.number_type(parsed) not in mobile:
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _phone(value: Any) -> str | None:
    text = _present(value)
    if text is None:
        return None
    phone = normalize_phone(text)
    if phone is None:
        raise RowRefused(RowError.INVALID_PHONE, "phone", f"{text[:32]!r} is not a mobile number")
    return phone


def _text(value: Any, field: str) -> str | None:
    text = _present(value)
    if text is not None and len(text) > TEXT_MAX:
        raise RowRefused(RowError.TOO_LONG, field, f"{field} has more than {TEXT_MAX} characters")
    return text


def checked_birth_date(value: Any, context: Context) -> date | None:
    text = _present(value)
    if text is None:
        return None
    try:
        if not _DATE.fullmatch(text):
            raise ValueError(text)
        born = date.fromisoformat(text)
    except ValueError:
        raise RowRefused(
            RowError.INVALID_BIRTH_DATE, "birth_date", f"{text[:20]!r} is not a date"
        ) from None
    if born >= context.this_month or born.year < 1900:
        raise RowRefused(RowError.INVALID_BIRTH_DATE, "birth_date", f"{born} is not plausible")
    return born


def _employer(value: Any, context: Context) -> None:
    text = _present(value)
    if text is not None and text.upper() not in context.employer_codes:
        raise RowRefused(
            RowError.WRONG_EMPLOYER, "employer", f"{text[:40]!r} is not the declaring employer"
        )
