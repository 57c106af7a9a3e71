"""The eID challenge: a fresh nonce for the chip to sign, short lived and usable once.

Storage is the caller's: it should redeem a challenge atomically and before verifying, e.g.
``UPDATE identity.eid_challenges SET used_at = :now WHERE id = :id AND used_at IS NULL
AND expires_at > :now RETURNING nonce`` so that two concurrent answers cannot share one nonce
and a failed answer burns it too.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from marfiq_identity.eid.errors import EidChallengeInvalid

# ICAO 9303 part 11: INTERNAL AUTHENTICATE takes an 8-byte random challenge.
NONCE_BYTES = 8
# Room for the citizen to hold the card to the phone; a replay is stopped by single use.
CHALLENGE_TTL = timedelta(minutes=3)


@dataclass(frozen=True, slots=True)
class Challenge:
    id: uuid.UUID
    nonce: bytes
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None


def new_challenge(*, now: datetime, ttl: timedelta = CHALLENGE_TTL) -> Challenge:
    """A challenge with 8 bytes from the CSPRNG, valid for `ttl` from `now`."""
    if ttl <= timedelta(0):
        raise ValueError("the challenge lifetime must be positive")
    return Challenge(
        id=uuid.uuid4(),
        nonce=secrets.token_bytes(NONCE_BYTES),
        created_at=now,
        expires_at=now + ttl,
    )


def is_usable(challenge: Challenge, *, now: datetime) -> bool:
    """Whether the challenge can still be answered at `now`: unspent and not expired."""
    return challenge.used_at is None and now < challenge.expires_at


def redeem(challenge: Challenge | None, *, now: datetime) -> Challenge:
    """The challenge marked spent at `now`; unknown, expired or spent is EidChallengeInvalid."""
    if challenge is None or not is_usable(challenge, now=now):
        raise EidChallengeInvalid
    return replace(challenge, used_at=now)
