"""The machine readable zone of DG1 (ICAO 9303 parts 4, 5 and 10): TD1 cards, TD3 passports."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from marfiq_identity.eid.errors import EidMalformed
from marfiq_identity.eid.lds import TAG_DG1, TAG_MRZ, unwrap

TD1_LENGTH = 90  # 3 lines of 30: identity cards, the Moroccan CNIE among them
TD3_LENGTH = 88  # 2 lines of 44: passports
MOROCCO = "MAR"
# Carte d'identité nationale: one or two letters (the issuing province), then digits.
CIN_PATTERN = re.compile(r"[A-Z]{1,2}[0-9]{1,8}")

_MRZ_CHARACTERS = re.compile(r"[A-Z0-9<]+")
_WEIGHTS = (7, 3, 1)


@dataclass(frozen=True, slots=True)
class Mrz:
    """What the MRZ says about the holder and the document."""

    document_code: str
    issuing_state: str
    document_number: str
    nationality: str
    surname: str
    given_names: str
    birth_date: date | None  # None when the MRZ marks it unknown
    sex: str  # "F", "M" or "X"
    expiry: date
    # The national identity number: the CIN on Moroccan documents, else None.
    cin: str | None


def check_digit(field: str) -> str:
    """The ICAO 9303 check digit of `field` (weights 7, 3, 1; '<' is 0, A is 10 ...)."""
    total = 0
    for index, character in enumerate(field):
        if character.isdigit():
            value = int(character)
        elif character == "<":
            value = 0
        else:
            value = ord(character) - ord("A") + 10
        total += value * _WEIGHTS[index % 3]
    return str(total % 10)


def read_dg1(dg1: bytes, *, today: date) -> Mrz:
    """Parse DG1 = 0x61 { 0x5F1F MRZ } into its fields, checking every check digit.

    `today` places two-digit birth years in their century.
    """
    raw = unwrap(unwrap(dg1, TAG_DG1, "DG1"), TAG_MRZ, "the MRZ")
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise EidMalformed("the MRZ is not ASCII") from None
    if not _MRZ_CHARACTERS.fullmatch(text):
        raise EidMalformed("the MRZ holds characters outside A-Z, 0-9 and <")
    if len(text) == TD1_LENGTH:
        return _read_td1(text[:30], text[30:60], text[60:], today)
    if len(text) == TD3_LENGTH:
        return _read_td3(text[:44], text[44:], today)
    raise EidMalformed("the MRZ is neither TD1 (3x30) nor TD3 (2x44)")


def _read_td1(line1: str, line2: str, line3: str, today: date) -> Mrz:
    issuing_state = line1[2:5]
    number, optional = line1[5:14], line1[15:30]
    if line1[14] == "<" and optional[0] != "<":
        # A number over 9 characters continues in the optional data, its check digit last.
        tail, _, optional = optional.partition("<")
        number, digit = number + tail[:-1], tail[-1:]
    else:
        digit = line1[14]
    _check(number, digit, "document number")
    _check(line2[0:6], line2[6], "birth date")
    _check(line2[8:14], line2[14], "expiry date")
    _check(line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29], line2[29], "composite")
    surname, given_names = _names(line3)
    return Mrz(
        document_code=_field(line1[0:2]),
        issuing_state=_field(issuing_state),
        document_number=_field(number),
        nationality=_field(line2[15:18]),
        surname=surname,
        given_names=given_names,
        birth_date=_birth_date(line2[0:6], today),
        sex=_sex(line2[7]),
        expiry=_expiry(line2[8:14]),
        cin=_cin(issuing_state, optional),
    )


def _read_td3(line1: str, line2: str, today: date) -> Mrz:
    issuing_state = line1[2:5]
    _check(line2[0:9], line2[9], "document number")
    _check(line2[13:19], line2[19], "birth date")
    _check(line2[21:27], line2[27], "expiry date")
    personal_number = line2[28:42]
    # An empty personal number may carry '<' instead of its check digit.
    if personal_number.strip("<") or line2[42] != "<":
        _check(personal_number, line2[42], "personal number")
    _check(line2[0:10] + line2[13:20] + line2[21:43], line2[43], "composite")
    surname, given_names = _names(line1[5:44])
    return Mrz(
        document_code=_field(line1[0:2]),
        issuing_state=_field(issuing_state),
        document_number=_field(line2[0:9]),
        nationality=_field(line2[10:13]),
        surname=surname,
        given_names=given_names,
        birth_date=_birth_date(line2[13:19], today),
        sex=_sex(line2[20]),
        expiry=_expiry(line2[21:27]),
        cin=_cin(issuing_state, personal_number),
    )


def _check(field: str, digit: str, name: str) -> None:
    if check_digit(field) != digit:
        raise EidMalformed(f"the MRZ check digit of the {name} is wrong")


def _field(value: str) -> str:
    return value.replace("<", " ").strip()


def _names(zone: str) -> tuple[str, str]:
    surname, _, given_names = zone.partition("<<")
    return _field(surname), " ".join(given_names.replace("<", " ").split())


def _cin(issuing_state: str, optional_data: str) -> str | None:
    if issuing_state != MOROCCO:
        return None
    candidate = optional_data.replace("<", "")
    return candidate if CIN_PATTERN.fullmatch(candidate) else None


def _sex(value: str) -> str:
    return value if value in ("F", "M") else "X"


def _yymmdd(value: str) -> tuple[int, int, int]:
    if not value.isdigit():
        raise EidMalformed("an MRZ date is not numeric")
    return int(value[0:2]), int(value[2:4]), int(value[4:6])


def _birth_date(value: str, today: date) -> date | None:
    if "<" in value:
        return None
    year, month, day = _yymmdd(value)
    # A birth date lies in the past: the latest century that puts it there.
    century = 2000 if 2000 + year <= today.year else 1900
    return _date(century + year, month, day)


def _expiry(value: str) -> date:
    year, month, day = _yymmdd(value)
    return _date(2000 + year, month, day)


def _date(year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise EidMalformed("an MRZ date does not exist") from None
