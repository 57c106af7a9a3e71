"""Moroccan bank accounts: the 24-digit RIB, and the MA IBAN that wraps it (ISO 13616).

No IBAN library: Morocco's IBAN is not in SWIFT's official IBAN registry that libraries such as
schwifty follow, and the only country accepted is MA, so the check is the few lines of
mod-97 below rather than a dependency that may refuse MA.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from marfiq_pensions.bank.errors import ForeignIban, InvalidIban, InvalidRib

_RIB = re.compile(r"[0-9]{24}")
_IBAN_SHAPE = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}")
_MA_IBAN_LENGTH = 28  # MA + 2 check digits + the 24-digit RIB


@dataclass(frozen=True, slots=True)
class Rib:
    """A Moroccan RIB: bank (3 digits), city (3), account (16), control key (2)."""

    bank: str
    city: str
    account: str
    key: str

    def __str__(self) -> str:
        return self.bank + self.city + self.account + self.key

    @property
    def iban(self) -> str:
        """The MA IBAN of this account, in its compact form."""
        return "MA" + _check_digits("MA", str(self)) + str(self)


def rib_key(first_22_digits: str) -> str:
    """The RIB control key: 97 - (number x 100 mod 97), so that all 24 digits divide by 97."""
    return f"{97 - int(first_22_digits) * 100 % 97:02d}"


def parse_rib(value: str) -> Rib:
    """A RIB typed with or without spaces, checked: 24 digits and the right control key."""
    compact = "".join(value.split())
    if not _RIB.fullmatch(compact):
        raise InvalidRib(f"a RIB has 24 digits; {len(compact)} characters were given")
    if compact[22:] != rib_key(compact[:22]):
        raise InvalidRib("the control key does not match the other 22 digits")
    return Rib(compact[:3], compact[3:6], compact[6:22], compact[22:])


def parse_iban(value: str) -> Rib:
    """The account behind an IBAN typed with or without spaces; only MA IBANs are accepted."""
    compact = "".join(value.split()).upper()
    if not _IBAN_SHAPE.fullmatch(compact):
        raise InvalidIban("an IBAN is a country code, 2 check digits and the account number")
    if compact[:2] != "MA":
        raise ForeignIban(f"{compact[:2]} IBANs are not accepted", country=compact[:2])
    if len(compact) != _MA_IBAN_LENGTH:
        raise InvalidIban(f"a Moroccan IBAN has {_MA_IBAN_LENGTH} characters")
    if _mod97(compact[4:] + compact[:4]) != 1:
        raise InvalidIban("the check digits do not match the account number")
    try:
        return parse_rib(compact[4:])
    except InvalidRib as error:
        raise InvalidIban("the RIB inside the IBAN has a wrong control key") from error


def rib_to_iban(rib: str | Rib) -> str:
    """The compact MA IBAN of a RIB (checked first)."""
    return (rib if isinstance(rib, Rib) else parse_rib(rib)).iban


def iban_to_rib(iban: str) -> str:
    """The 24-digit RIB inside a Moroccan IBAN (checked first)."""
    return str(parse_iban(iban))


def _check_digits(country: str, bban: str) -> str:
    return f"{98 - _mod97(bban + country + '00'):02d}"


def _mod97(text: str) -> int:
    """ISO 7064 mod 97-10 of an alphanumeric string, letters read as 10 (A) to 35 (Z)."""
    return int("".join(str(int(char, 36)) for char in text)) % 97
