"""The foundation's vertical slice, over HTTP through the gateway, in both modes.

An administrator creates an administration; the three other services hold it in their
directory replicas within 2 s; forged or stale tokens are refused with 401 problems; bad
input is a 4xx problem; a stopped service is a 502/504 problem, not a hang.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import jwt
from harness import Platform
from sqlalchemy.engine import make_url

REPLICAS = ("complaints", "correspondence", "pensions")


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert body["type"].startswith("https://marfiq.ma/problems/")
    return body


async def replicas_holding(database_url: str, administration_id: str) -> set[str]:
    url = make_url(database_url)
    connection = await asyncpg.connect(
        user=url.username,
        host=url.query.get("host") or url.host,
        port=url.port,
        database=url.database,
    )
    try:
        found = set()
        for schema in REPLICAS:
            row = await connection.fetchrow(
                f"SELECT name_fr FROM {schema}.administrations WHERE id = $1",
                uuid.UUID(administration_id),
            )
            if row is not None:
                found.add(schema)
        return found
    finally:
        await connection.close()


async def create_and_replicate(platform: Platform) -> None:
    token = await platform.admin_token()
    code = f"TST-{uuid.uuid4().hex[:6].upper()}"
    async with httpx.AsyncClient(base_url=platform.gateway, timeout=10) as client:
        listed = await client.get("/v1/administrations", params={"q": "CMR"})
        assert listed.status_code == 200
        assert any(item["code"] == "CMR" for item in listed.json()["items"])

        created = await client.post(
            "/v1/administrations",
            json={
                "code": code,
                "name_fr": "Agence de test des répliques",
                "name_ar": "وكالة اختبار النسخ",
                "kind": "public_establishment",
            },
            headers={"authorization": f"Bearer {token}"},
        )
        assert created.status_code == 201, created.text
        administration_id = created.json()["id"]
        started = time.monotonic()

        holding: set[str] = set()
        while time.monotonic() - started < 2.0:
            holding = await replicas_holding(platform.database_url, administration_id)
            if holding == set(REPLICAS):
                break
            await asyncio.sleep(0.05)
        assert holding == set(REPLICAS), f"replicated only to {holding} within 2 s"

        found = await client.get("/v1/administrations", params={"q": code})
        assert [item["id"] for item in found.json()["items"]] == [administration_id]


async def forged_tokens_are_refused(platform: Platform) -> None:
    from marfiq_identity.keys.service import KeyRing
    from marfiq_identity.settings import IdentitySettings
    from marfiq_shared.db import Database

    settings = IdentitySettings(
        database_url=platform.database_url,
        key_encryption_secret=platform.env["IDENTITY_KEY_ENCRYPTION_SECRET"],
    )
    database = Database(platform.database_url, schema="identity", source="e2e")
    keyring = KeyRing(settings)
    await keyring.refresh(database)
    await database.dispose()
    signing = keyring.signing_key()
    valid = await platform.admin_token()
    claims = jwt.decode(valid, options={"verify_signature": False})
    now = datetime.now(UTC)

    def sign(payload: dict[str, Any], **header: Any) -> str:
        return jwt.encode(
            payload,
            signing.private_key,
            algorithm="ES256",
            headers={"kid": signing.kid, "typ": "at+jwt"} | header,
        )

    head, body, _ = valid.split(".")
    other_signature = sign(claims | {"jti": "x"}).split(".")[2]
    forged = {
        "wrong signature": f"{head}.{body}.{other_signature}",
        "wrong aud": sign(claims | {"aud": "someone-else"}),
        "expired": sign(
            claims
            | {
                "iat": int((now - timedelta(hours=1)).timestamp()),
                "exp": int((now - timedelta(minutes=30)).timestamp()),
            }
        ),
        "alg none": jwt.encode(
            claims, None, algorithm="none", headers={"kid": signing.kid, "typ": "at+jwt"}
        ),
        "unknown kid": sign(claims, kid="not-a-key-of-ours"),
    }
    async with httpx.AsyncClient(base_url=platform.gateway, timeout=10) as client:
        ok = await client.get("/v1/me", headers={"authorization": f"Bearer {valid}"})
        assert ok.status_code == 200, ok.text
        for name, token in forged.items():
            response = await client.get("/v1/me", headers={"authorization": f"Bearer {token}"})
            body = problem(response, 401)
            assert body["type"].endswith(("invalid-token", "unauthorized")), name
        problem(await client.get("/v1/me"), 401)


async def bad_input_is_a_problem(platform: Platform) -> None:
    token = await platform.admin_token()
    auth = {"authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=platform.gateway, timeout=10) as client:
        problem(
            await client.post(
                "/v1/administrations",
                content=b'{"code": "X",',
                headers=auth | {"content-type": "application/json"},
            ),
            400,
        )
        wrong = await client.post(
            "/v1/administrations",
            json={"code": 12, "name_fr": "", "name_ar": "x", "kind": "ministry", "owner": "me"},
            headers=auth,
        )
        fields = {error["field"] for error in problem(wrong, 422)["errors"]}
        assert {"name_fr", "owner"} <= fields
        huge = await client.post(
            "/v1/administrations",
            content=b'{"code": "' + b"x" * 3_000_000 + b'"}',
            headers=auth | {"content-type": "application/json"},
        )
        problem(huge, 413)


async def test_directory_slice_distributed(distributed: Platform) -> None:
    await create_and_replicate(distributed)


async def test_forged_tokens_refused_distributed(distributed: Platform) -> None:
    await forged_tokens_are_refused(distributed)


async def test_bad_input_distributed(distributed: Platform) -> None:
    await bad_input_is_a_problem(distributed)


async def test_stopped_service_is_a_502_not_a_hang(distributed: Platform) -> None:
    distributed.stop("complaints")
    try:
        async with httpx.AsyncClient(base_url=distributed.gateway, timeout=30) as client:
            started = time.monotonic()
            response = await client.get("/v1/complaints/stats")
            elapsed = time.monotonic() - started
        assert response.status_code in (502, 504)
        problem(response, response.status_code)
        assert elapsed < 5, f"answered after {elapsed:.1f}s"
    finally:
        distributed.start("complaints")


async def test_directory_slice_embedded(embedded: Platform) -> None:
    await create_and_replicate(embedded)
    await forged_tokens_are_refused(embedded)
    await bad_input_is_a_problem(embedded)
