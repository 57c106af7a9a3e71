"""The seed: complete, idempotent, announced like any creation."""

from __future__ import annotations

from identity_support import Identity

from marfiq_identity.administrations.schemas import AdministrationCreate
from marfiq_identity.administrations.seed import SEED, seed_administrations, seed_directory, seed_id


async def test_seed_creates_every_entry_once_and_publishes_them(identity: Identity) -> None:
    async with identity.database.sessionmaker() as session, session.begin():
        first = await seed_administrations(session)
    second = await seed_directory(identity.settings.database_url)

    assert first == len(SEED) >= 30
    assert second == 0
    assert await identity.scalar("SELECT count(*) FROM identity.administrations") == len(SEED)
    events = await identity.scalar(
        "SELECT count(*) FROM identity.outbox WHERE type = 'identity.administration.created'"
    )
    assert events == len(SEED)


async def test_seed_links_units_to_their_ministry_by_stable_ids(identity: Identity) -> None:
    await seed_directory(identity.settings.database_url)

    parent = await identity.scalar(
        "SELECT parent_id FROM identity.administrations WHERE code = 'DGI'"
    )
    cmr = (await identity.client.get(f"/v1/administrations/{seed_id('CMR')}")).json()

    assert parent == seed_id("MEF")
    assert cmr["name_ar"] == "الصندوق المغربي للتقاعد"
    assert cmr["parent_id"] == str(seed_id("MEF"))


def test_seed_entries_are_valid_and_unique() -> None:
    codes = [entry.code for entry in SEED]
    assert len(codes) == len(set(codes))
    for index, entry in enumerate(SEED):
        AdministrationCreate(
            code=entry.code, name_ar=entry.name_ar, name_fr=entry.name_fr, kind=entry.kind
        )
        if entry.parent is not None:
            assert entry.parent in codes[:index], f"{entry.code}: parent must come first"
