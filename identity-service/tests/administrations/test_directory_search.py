"""Searching and paging the directory: Arabic, French without accents, codes; indexed."""

from __future__ import annotations

from identity_support import Identity
from sqlalchemy import text

from marfiq_identity.administrations.search import prefix_query, search_document
from marfiq_identity.administrations.seed import SEED, seed_administrations


async def seeded(identity: Identity) -> None:
    async with identity.database.sessionmaker() as session, session.begin():
        await seed_administrations(session)


async def codes(identity: Identity, q: str, **params: str) -> list[str]:
    response = await identity.client.get("/v1/administrations", params={"q": q} | params)
    assert response.status_code == 200, response.text
    return [item["code"] for item in response.json()["items"]]


async def test_search_by_arabic_name(identity: Identity) -> None:
    await seeded(identity)

    assert await codes(identity, "الصندوق المغربي للتقاعد") == ["CMR"]
    assert await codes(identity, "المغربي") == ["CMR"]
    # Without the article, with a bare alef for the hamza, with ta marbuta typed as ha.
    assert await codes(identity, "اكادير") == ["COM-AGADIR"]
    assert await codes(identity, "مالية") == ["MEF"]
    assert await codes(identity, "الاقتصاد والماليه") == ["MEF"]


async def test_search_by_french_name_ignores_case_and_accents(identity: Identity) -> None:
    await seeded(identity)

    assert await codes(identity, "economie finances") == ["MEF"]
    assert await codes(identity, "ÉCONOMIE") == ["MEF"]
    assert set(await codes(identity, "ÉCONOM")) == {"MEF", "MIEPEEC"}
    assert await codes(identity, "fes") == ["COM-FES"]
    assert await codes(identity, "caisse retr") == ["CMR"]
    assert set(await codes(identity, "retraite")) == {"CMR", "RCAR"}


async def test_search_by_code(identity: Identity) -> None:
    await seeded(identity)

    assert await codes(identity, "CNSS") == ["CNSS"]
    assert await codes(identity, "ancfcc") == ["ANCFCC"]
    assert await codes(identity, "com-rabat") == ["COM-RABAT"]


async def test_search_without_matches_and_with_punctuation_only(identity: Identity) -> None:
    await seeded(identity)

    assert await codes(identity, "zzzz") == []
    assert len(await codes(identity, "&|!:*", limit="200")) == len(SEED)


async def test_filters_by_kind_and_parent(identity: Identity) -> None:
    await seeded(identity)
    mef = (await identity.client.get("/v1/administrations", params={"q": "MEF"})).json()

    communes = await codes(identity, "", kind="commune", limit="200")
    under_mef = await codes(identity, "", parent_id=mef["items"][0]["id"], limit="200")

    assert len(communes) == 6
    assert set(under_mef) == {"DGI", "ADII", "TGR", "CMR", "RCAR"}


async def test_cursor_walks_the_whole_directory_once_in_name_order(identity: Identity) -> None:
    await seeded(identity)
    seen: list[dict[str, str]] = []
    cursor = None
    while True:
        params = {"limit": "7"} | ({"cursor": cursor} if cursor else {})
        page = (await identity.client.get("/v1/administrations", params=params)).json()
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert len(seen) == len(SEED)
    assert len({item["id"] for item in seen}) == len(SEED)
    names = [search_document(item["name_fr"]) for item in seen]
    assert names[0].startswith("administration des douanes")


async def test_bad_cursor_and_limits_are_problems(identity: Identity) -> None:
    bad_cursor = await identity.client.get("/v1/administrations", params={"cursor": "%%%"})
    forged = await identity.client.get("/v1/administrations", params={"cursor": "WzFd"})
    zero = await identity.client.get("/v1/administrations", params={"limit": "0"})
    long_q = await identity.client.get("/v1/administrations", params={"q": "x" * 101})

    assert bad_cursor.status_code == 400
    assert forged.status_code == 400
    assert zero.status_code == 422
    assert long_q.status_code == 422


async def test_inactive_administrations_are_hidden_unless_asked(identity: Identity) -> None:
    await seeded(identity)
    async with identity.database.sessionmaker() as session, session.begin():
        await session.execute(
            text("UPDATE identity.administrations SET active = false WHERE code = 'MTL'")
        )

    assert await codes(identity, "transport") == []
    assert await codes(identity, "transport", include_inactive="true") == ["MTL"]


async def test_search_is_served_by_the_gin_index(identity: Identity) -> None:
    await seeded(identity)
    async with identity.database.sessionmaker() as session, session.begin():
        await session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(
            row[0]
            for row in await session.execute(
                text(
                    "EXPLAIN SELECT id FROM identity.administrations "
                    "WHERE search_vector @@ to_tsquery('simple', :q)"
                ),
                {"q": prefix_query("econ")},
            )
        )

    assert "ix_administrations_search_vector" in plan
