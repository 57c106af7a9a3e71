"""The directory over HTTP: who may change it, what it refuses, the events it writes."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from identity_support import Identity, bearer

MEF = {
    "code": "MEF",
    "name_ar": "وزارة الاقتصاد والمالية",
    "name_fr": "Ministère de l'Économie et des Finances",
    "kind": "ministry",
}


async def create(identity: Identity, body: dict[str, Any], **headers: str) -> Any:
    token = await identity.admin_token()
    return await identity.client.post(
        "/v1/administrations", json=body, headers=bearer(token) | headers
    )


async def outbox_events(identity: Identity, event_type: str) -> list[dict[str, Any]]:
    async with identity.database.sessionmaker() as session:
        from sqlalchemy import text

        rows = await session.execute(
            text("SELECT payload FROM identity.outbox WHERE type = :type ORDER BY created_at"),
            {"type": event_type},
        )
        return [json.loads(row.payload) for row in rows]


async def test_admin_creates_an_administration_and_one_created_event(identity: Identity) -> None:
    response = await create(identity, MEF)

    assert response.status_code == 201
    body = response.json()
    assert body["code"] == "MEF"
    assert body["name_fr"] == MEF["name_fr"]
    assert body["version"] == 1
    assert body["active"] is True
    assert body["parent_id"] is None
    assert response.headers["location"] == f"/v1/administrations/{body['id']}"
    (event,) = await outbox_events(identity, "identity.administration.created")
    assert event["subject"] == body["id"]
    assert event["source"] == "identity-service"
    assert event["data"]["id"] == body["id"]
    assert event["data"]["name_ar"] == MEF["name_ar"]
    assert event["data"]["version"] == 1
    fetched = await identity.client.get(f"/v1/administrations/{body['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == body


async def test_creation_needs_a_platform_admin(identity: Identity) -> None:
    citizen = await identity.citizen_token()

    anonymous = await identity.client.post("/v1/administrations", json=MEF)
    forbidden = await identity.client.post("/v1/administrations", json=MEF, headers=bearer(citizen))
    garbage = await identity.client.post(
        "/v1/administrations", json=MEF, headers=bearer("not.a.token")
    )

    assert anonymous.status_code == 401
    assert forbidden.status_code == 403
    assert forbidden.headers["content-type"] == "application/problem+json"
    assert garbage.status_code == 401
    assert await identity.scalar("SELECT count(*) FROM identity.administrations") == 0
    assert await identity.scalar("SELECT count(*) FROM identity.outbox") == 0


async def test_duplicate_code_is_a_localised_409_and_writes_no_event(identity: Identity) -> None:
    assert (await create(identity, MEF)).status_code == 201

    again = await create(identity, MEF | {"code": "mef"}, **{"Accept-Language": "ar"})

    assert again.status_code == 409
    problem = again.json()
    assert problem["type"] == "https://marfiq.ma/problems/administration-code-taken"
    assert problem["title"] == "هذا الرمز مستعمل من طرف إدارة أخرى."
    assert problem["administration_code"] == "MEF"
    assert len(await outbox_events(identity, "identity.administration.created")) == 1


async def test_idempotency_key_replays_the_first_answer(identity: Identity) -> None:
    key = {"Idempotency-Key": "create-mef-0001"}
    first = await create(identity, MEF, **key)
    second = await create(identity, MEF, **key)
    reused = await create(identity, MEF | {"code": "MI"}, **key)

    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert reused.status_code == 422
    assert reused.json()["type"].endswith("/idempotency-key-reused")
    assert await identity.scalar("SELECT count(*) FROM identity.administrations") == 1
    assert len(await outbox_events(identity, "identity.administration.created")) == 1


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (MEF | {"website": "https://finances.gov.ma"}, 422),  # unknown field
        (MEF | {"name_fr": "   "}, 422),
        (MEF | {"name_ar": ""}, 422),
        (MEF | {"name_ar": "Finances"}, 422),  # not Arabic script
        (MEF | {"name_fr": "x" * 301}, 422),
        (MEF | {"code": 42}, 422),
        (MEF | {"code": "M E F"}, 422),
        (MEF | {"kind": "kingdom"}, 422),
        (MEF | {"parent_id": "not-a-uuid"}, 422),
        (MEF | {"parent_id": str(uuid.uuid4())}, 422),  # parent does not exist
        ({k: v for k, v in MEF.items() if k != "name_ar"}, 422),
        ([MEF], 422),
        (None, 422),
    ],
)
async def test_bad_input_is_a_problem_never_a_500(
    identity: Identity, body: Any, status: int
) -> None:
    response = await create(identity, body)

    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert await identity.scalar("SELECT count(*) FROM identity.administrations") == 0


async def test_malformed_json_is_a_400_problem(identity: Identity) -> None:
    token = await identity.admin_token()
    response = await identity.client.post(
        "/v1/administrations",
        content=b'{"code": "MEF", "name_ar": ',
        headers=bearer(token) | {"Content-Type": "application/json"},
    )

    assert response.status_code == 400
    assert response.json()["type"].endswith("/malformed-json")


async def test_validation_problem_lists_each_field(identity: Identity) -> None:
    response = await create(identity, MEF | {"name_fr": "", "extra": 1})

    fields = {error["field"] for error in response.json()["errors"]}
    assert fields == {"name_fr", "extra"}


async def test_unknown_or_malformed_ids_are_problems(identity: Identity) -> None:
    missing = await identity.client.get(f"/v1/administrations/{uuid.uuid4()}")
    malformed = await identity.client.get("/v1/administrations/42")

    assert missing.status_code == 404
    assert missing.json()["type"].endswith("/administration-not-found")
    assert malformed.status_code == 422


async def test_patch_changes_names_bumps_version_and_publishes_update(identity: Identity) -> None:
    created = (await create(identity, MEF)).json()
    token = await identity.admin_token()

    response = await identity.client.patch(
        f"/v1/administrations/{created['id']}",
        json={"name_fr": "Ministère de l'Économie et des Finances (MEF)", "active": False},
        headers=bearer(token) | {"If-Match": 'W/"1"'},
    )
    stale = await identity.client.patch(
        f"/v1/administrations/{created['id']}",
        json={"active": True},
        headers=bearer(token) | {"If-Match": 'W/"1"'},
    )
    unchanged = await identity.client.patch(
        f"/v1/administrations/{created['id']}", json={"active": False}, headers=bearer(token)
    )

    assert response.status_code == 200
    assert response.json()["version"] == 2
    assert response.json()["active"] is False
    assert response.headers["etag"] == 'W/"2"'
    assert stale.status_code == 412
    assert unchanged.json()["version"] == 2
    (event,) = await outbox_events(identity, "identity.administration.updated")
    assert event["data"]["version"] == 2
    assert event["data"]["active"] is False


async def test_patch_refuses_non_admins_unknown_fields_and_cycles(identity: Identity) -> None:
    mef = (await create(identity, MEF)).json()
    dgi = (
        await create(
            identity,
            {
                "code": "DGI",
                "name_ar": "المديرية العامة للضرائب",
                "name_fr": "Direction Générale des Impôts",
                "kind": "directorate",
                "parent_id": mef["id"],
            },
        )
    ).json()
    token = await identity.admin_token()
    path = f"/v1/administrations/{mef['id']}"

    citizen = await identity.client.patch(
        path, json={"active": False}, headers=bearer(await identity.citizen_token())
    )
    code_change = await identity.client.patch(path, json={"code": "X"}, headers=bearer(token))
    cycle = await identity.client.patch(path, json={"parent_id": dgi["id"]}, headers=bearer(token))
    itself = await identity.client.patch(path, json={"parent_id": mef["id"]}, headers=bearer(token))
    missing = await identity.client.patch(
        f"/v1/administrations/{uuid.uuid4()}", json={"active": False}, headers=bearer(token)
    )

    assert citizen.status_code == 403
    assert code_change.status_code == 422
    assert cycle.status_code == 422
    assert cycle.json()["type"].endswith("/administration-hierarchy-cycle")
    assert itself.status_code == 422
    assert missing.status_code == 404
    assert dgi["parent_id"] == mef["id"]


async def test_event_rides_in_the_callers_transaction(identity: Identity) -> None:
    from marfiq_identity.administrations.schemas import AdministrationCreate
    from marfiq_identity.administrations.service import create_administration

    async with identity.database.sessionmaker() as session:
        transaction = await session.begin()
        await create_administration(session, data=AdministrationCreate(**MEF))
        await transaction.rollback()

    assert await identity.scalar("SELECT count(*) FROM identity.administrations") == 0
    assert await identity.scalar("SELECT count(*) FROM identity.outbox") == 0
