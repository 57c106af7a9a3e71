"""Tracking numbers: what the citizen writes down or reads out on the phone.

`PLT-2026-7K3M9-QXD2T`: the year of filing, nine random characters (45 bits from the
system's CSPRNG, so numbers cannot be guessed or enumerated: no sequence, no date, no
count of complaints leaks) and a check character that catches any single mistyped
character and most swaps of two neighbours (Luhn mod 32). The alphabet is Crockford's
base 32, which has no I, L, O or U; reading accepts those as the digits they look like.
"""

from __future__ import annotations

import re
import secrets

PREFIX = "PLT"
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RANDOM_CHARS = 9
_VALUE = {char: index for index, char in enumerate(ALPHABET)}
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SHAPE = re.compile(rf"^{PREFIX}(\d{{4}})([{ALPHABET}]{{{RANDOM_CHARS}}})([{ALPHABET}])$")


def check_character(payload: str) -> str:
    """The Luhn mod 32 check character of `payload` (characters of ALPHABET)."""
    total, factor = 0, 2
    for char in reversed(payload):
        addend = factor * _VALUE[char]
        total += addend // 32 + addend % 32
        factor = 1 if factor == 2 else 2
    return ALPHABET[(32 - total % 32) % 32]


def new_tracking_number(year: int) -> str:
    """A fresh random number for a request filed in `year` (uniqueness is the caller's)."""
    bits = secrets.randbits(5 * RANDOM_CHARS)
    random = "".join(ALPHABET[(bits >> (5 * n)) & 31] for n in range(RANDOM_CHARS))
    check = check_character(f"{year:04d}{random}")
    body = random + check
    return f"{PREFIX}-{year:04d}-{body[:5]}-{body[5:]}"


def normalise(text: str) -> str | None:
    """The canonical form of a number as someone typed it, or None when it is not one
    (wrong shape or wrong check character)."""
    compact = re.sub(r"[\s-]", "", text.upper())
    if not compact.startswith(PREFIX):
        return None
    match = _SHAPE.match(PREFIX + compact[len(PREFIX) :].translate(_LOOKALIKES))
    if match is None:
        return None
    year, random, check = match.groups()
    if check_character(year + random) != check:
        return None
    body = random + check
    return f"{PREFIX}-{year}-{body[:5]}-{body[5:]}"
