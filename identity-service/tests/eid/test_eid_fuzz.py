"""Whatever bytes arrive, verify_eid answers with a typed 4xx problem, never a crash.

A seeded random loop (reproducible) over truncations, bit flips and random bytes in each
field the app sends.
"""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Iterator
from datetime import datetime

import pytest

from marfiq_identity.eid.errors import EidMalformed
from marfiq_identity.eid.schemas import decode_base64
from marfiq_identity.eid.service import EidIdentity, verify_eid
from marfiq_identity.eid.testing import Chip
from marfiq_identity.eid.trust import TrustList
from marfiq_shared.problems import Problem

# The SOD is parsed before anything vouches for it, so it gets the most mutations; the other
# fields are only hashed or verified, so fewer suffice.
FLIPS = {"sod": 2000, "dg1": 200, "dg15": 300, "signature": 300}
NONCE = os.urandom(8)


def mutations(data: bytes, rng: random.Random, flips: int) -> Iterator[bytes]:
    """Every truncation, then single and multiple bit flips, byte insertions and random bytes."""
    for end in range(len(data)):
        yield data[:end]
    yield data + b"\x00"
    for _ in range(flips):
        mutated = bytearray(data)
        for _ in range(rng.choice((1, 1, 2, 8))):
            mutated[rng.randrange(len(mutated))] ^= 1 << rng.randrange(8)
        yield bytes(mutated)
    for _ in range(flips // 4):
        at = rng.randrange(len(data))
        yield data[:at] + bytes([rng.randrange(256)]) + data[at:]
        yield rng.randbytes(rng.randrange(0, 2 * len(data)))


def outcome(files: dict[str, bytes], trust: TrustList, now: datetime) -> EidIdentity | Problem:
    try:
        return verify_eid(**files, nonce=NONCE, trust=trust, now=now)
    except Problem as problem:
        return problem


@pytest.mark.parametrize("field", FLIPS)
def test_mutated_field_is_refused_with_a_typed_client_error(
    chip: Chip, trust: TrustList, now: datetime, field: str
) -> None:
    genuine = {"sod": chip.sod, "dg1": chip.dg1, "dg15": chip.dg15, "signature": chip.sign(NONCE)}
    expected = verify_eid(**genuine, nonce=NONCE, trust=trust, now=now)
    rng = random.Random(f"eid-fuzz-{field}")
    refusals: set[str] = set()

    for mutated in mutations(genuine[field], rng, flips=FLIPS[field]):
        if mutated == genuine[field]:
            continue
        result = outcome(genuine | {field: mutated}, trust, now)
        if isinstance(result, Problem):
            assert result.status in (401, 422), result
            refusals.add(type(result).__name__)
        else:
            # Only the SOD has bytes no signature covers (SignedData version, digest set).
            assert field == "sod", f"a mutated {field} was accepted"
            assert result == expected

    assert refusals, "no mutation was refused"


def test_random_base64_text_is_refused_as_malformed() -> None:
    rng = random.Random("eid-fuzz-base64")
    alphabet = "ABCxyz0189+/=-_ \n\t!é"
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 40)))
        with contextlib.suppress(EidMalformed):
            assert isinstance(decode_base64(text), bytes)
