"""The challenge rules: 8 random bytes, short lived, redeemed once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from marfiq_identity.eid.challenges import (
    CHALLENGE_TTL,
    NONCE_BYTES,
    is_usable,
    new_challenge,
    redeem,
)
from marfiq_identity.eid.errors import EidChallengeInvalid

NOW = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def test_new_challenge_has_eight_fresh_random_bytes() -> None:
    challenges = [new_challenge(now=NOW) for _ in range(200)]

    assert {len(challenge.nonce) for challenge in challenges} == {NONCE_BYTES}
    assert len({challenge.nonce for challenge in challenges}) == 200
    assert len({challenge.id for challenge in challenges}) == 200
    assert challenges[0].expires_at == NOW + CHALLENGE_TTL


def test_challenge_is_redeemed_once() -> None:
    challenge = new_challenge(now=NOW)

    spent = redeem(challenge, now=NOW + timedelta(seconds=5))

    assert spent.used_at == NOW + timedelta(seconds=5)
    assert not is_usable(spent, now=NOW + timedelta(seconds=6))
    with pytest.raises(EidChallengeInvalid):
        redeem(spent, now=NOW + timedelta(seconds=6))


def test_challenge_expires() -> None:
    challenge = new_challenge(now=NOW, ttl=timedelta(seconds=30))

    assert is_usable(challenge, now=NOW + timedelta(seconds=29))
    with pytest.raises(EidChallengeInvalid):
        redeem(challenge, now=NOW + timedelta(seconds=30))


def test_unknown_challenge_is_refused_like_a_spent_one() -> None:
    with pytest.raises(EidChallengeInvalid) as refused:
        redeem(None, now=NOW)

    assert refused.value.status == 401


def test_lifetime_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        new_challenge(now=NOW, ttl=timedelta(0))
