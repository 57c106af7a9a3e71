"""Verification codes: short, unguessable, easy to read aloud and to type from paper."""

from __future__ import annotations

import re
import secrets

# Crockford's base 32: no I, L, O, U, so nothing is mistaken for 1, 0 or V.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
GROUPS, GROUP = 3, 4  # XXXX-XXXX-XXXX: 60 random bits
_CONFUSABLE = str.maketrans({"I": "1", "L": "1", "O": "0", "U": "V"})
_CODE = re.compile(rf"^[{ALPHABET}]{{{GROUP}}}(-[{ALPHABET}]{{{GROUP}}}){{{GROUPS - 1}}}$")


def new_code() -> str:
    """A fresh code like `7K3M-Q9XT-2BDR` (60 bits: guessing one is hopeless)."""
    # 32 letters are 5 bits each: one draw of 60 bits instead of a system call per letter.
    bits = secrets.randbits(GROUPS * GROUP * 5)
    chars = "".join(ALPHABET[(bits >> (5 * n)) & 31] for n in range(GROUPS * GROUP))
    return "-".join(chars[i : i + GROUP] for i in range(0, len(chars), GROUP))


def normalise_code(raw: str) -> str | None:
    """The canonical form of a typed code (case, spaces, confusable letters), or None."""
    cleaned = re.sub(r"[\s-]", "", raw.upper()).translate(_CONFUSABLE)
    if len(cleaned) != GROUPS * GROUP:
        return None
    code = "-".join(cleaned[i : i + GROUP] for i in range(0, len(cleaned), GROUP))
    return code if _CODE.match(code) else None
