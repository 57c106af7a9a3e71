"""The key schedule: successors are published before they sign, retired keys age out."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from identity_support import make_settings, started

from marfiq_identity.keys.service import RETIRED_KEY_GRACE, KeyRing, rotate_keys

DAY = 86_400


async def test_successor_is_published_ahead_then_takes_over(database_url: str, clean: None) -> None:
    settings = make_settings(
        database_url, signing_key_lifetime_s=10 * DAY, signing_key_publish_ahead_s=DAY
    )
    async with started(settings) as identity:
        ring: KeyRing = identity.app.state.keyring
        first = ring.signing_key().kid
        start = datetime.now(UTC)

        # Two days before the end: the successor exists and is published, but does not sign.
        await ring.refresh(identity.database, now=start + timedelta(days=8, hours=1))
        published = {key["kid"] for key in ring.jwks()["keys"]}
        assert len(published) == 2
        assert ring.signing_key(start + timedelta(days=8, hours=1)).kid == first

        # Past the end of the first key: the successor signs, the first is still published.
        later = start + timedelta(days=10, minutes=1)
        await ring.refresh(identity.database, now=later)
        second = ring.signing_key(later).kid
        assert second != first
        assert second in published
        assert first in {key["kid"] for key in ring.jwks()["keys"]}

        # Once every token of the first key has expired, it leaves the JWKS.
        gone = start + timedelta(days=10) + RETIRED_KEY_GRACE + timedelta(minutes=1)
        await ring.refresh(identity.database, now=gone)
        assert first not in {key["kid"] for key in ring.jwks()["keys"]}
        assert ring.signing_key(gone).kid == second


async def test_replicas_starting_together_create_one_key(database_url: str, clean: None) -> None:
    settings = make_settings(database_url)
    async with started(settings) as one, started(settings) as two:
        both = [one.app.state.keyring, two.app.state.keyring]
        await asyncio.gather(*(ring.refresh(one.database) for ring in both))
        count = await one.scalar("SELECT count(*) FROM identity.signing_keys")

    assert count == 1
    assert both[0].jwks() == both[1].jwks()


async def test_operator_rotation_is_picked_up_at_the_next_reload(
    database_url: str, clean: None
) -> None:
    settings = make_settings(database_url)
    async with started(settings) as identity:
        ring: KeyRing = identity.app.state.keyring
        old = ring.signing_key().kid

        new = await rotate_keys(settings)
        assert ring.signing_key().kid == old  # until the replica reloads
        await ring.refresh(identity.database)

        assert ring.signing_key().kid == new
        assert {old, new} == {key["kid"] for key in ring.jwks()["keys"]}
