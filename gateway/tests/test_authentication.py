"""Only a valid, unrevoked access token gets past the gateway, except on listed routes."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time

import pytest
from conftest import ISSUER, Platform, b64
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from marfiq_shared.events.envelope import CloudEvent
from marfiq_shared.events.transport import OutgoingEvent

PROBLEM = "application/problem+json"


def _assert_refused(response, code: str = "invalid-token") -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["type"] == f"https://marfiq.ma/problems/{code}"
    assert "owner" not in response.json()  # answered by the gateway, not a service


def _unsigned(header: dict, payload: dict, signature: bytes = b"") -> str:  # type: ignore[type-arg]
    signing_input = b64(json.dumps(header).encode()) + "." + b64(json.dumps(payload).encode())
    return signing_input + "." + b64(signature)


def _claims(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    return {
        "iss": ISSUER,
        "aud": "marfiq",
        "sub": "citizen-1",
        "iat": now,
        "exp": now + 600,
        "jti": "j1",
        "sid": "session-1",
        **overrides,
    }


async def test_valid_token_is_proxied(platform: Platform) -> None:
    response = await platform.client.get("/v1/me", headers=platform.auth())
    assert response.status_code == 200
    assert response.json()["owner"] == "identity"


async def test_missing_or_malformed_authorization_is_refused(platform: Platform) -> None:
    _assert_refused(await platform.client.get("/v1/me"), "unauthorized")
    for value in ("Basic dXNlcjpwYXNz", "Bearer", "Bearer not.a.jwt", platform.ring.token()):
        _assert_refused(
            await platform.client.get("/v1/complaints", headers={"Authorization": value}),
            "unauthorized" if not value.startswith("Bearer ") else "invalid-token",
        )


@pytest.mark.parametrize(
    "claims",
    [
        {"aud": "another-platform"},
        {"iss": "https://evil.example"},
        {"exp": int(time.time()) - 600},
        {"sub": None},
    ],
    ids=["wrong-aud", "wrong-iss", "expired", "no-sub"],
)
async def test_tokens_with_bad_claims_are_refused(platform: Platform, claims: dict) -> None:  # type: ignore[type-arg]
    token = platform.ring.token(**claims)
    _assert_refused(await platform.client.get("/v1/me", headers=platform.auth(token)))


async def test_wrong_signature_is_refused(platform: Platform) -> None:
    ring = platform.ring
    forger = ring.add(publish=False)
    genuine_kid = ring.published[0]
    # Signed by a key we never published, presented under a published kid.
    token = ring.token(forger, header={"kid": genuine_kid})
    _assert_refused(await platform.client.get("/v1/me", headers=platform.auth(token)))
    # A valid token whose payload was altered after signing.
    header, _, signature = ring.token().split(".")
    altered = b64(json.dumps(_claims(roles=["platform_admin"])).encode())
    _assert_refused(
        await platform.client.get(
            "/v1/me", headers=platform.auth(f"{header}.{altered}.{signature}")
        )
    )


async def test_alg_none_is_refused(platform: Platform) -> None:
    kid = platform.ring.published[0]
    token = _unsigned({"alg": "none", "typ": "at+jwt", "kid": kid}, _claims())
    _assert_refused(await platform.client.get("/v1/me", headers=platform.auth(token)))


async def test_hs256_signed_with_the_public_key_is_refused(platform: Platform) -> None:
    ring = platform.ring
    kid = ring.published[0]
    pem = ring.keys[kid].public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    header = {"alg": "HS256", "typ": "at+jwt", "kid": kid}
    signing_input = b64(json.dumps(header).encode()) + "." + b64(json.dumps(_claims()).encode())
    signature = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    token = signing_input + "." + b64(signature)
    _assert_refused(await platform.client.get("/v1/me", headers=platform.auth(token)))


async def test_not_an_access_token_is_refused(platform: Platform) -> None:
    token = platform.ring.token(header={"typ": "JWT"})
    _assert_refused(await platform.client.get("/v1/me", headers=platform.auth(token)))


async def test_unknown_kid_is_refused(platform: Platform) -> None:
    token = platform.ring.token(platform.ring.add(publish=False))
    _assert_refused(await platform.client.get("/v1/me", headers=platform.auth(token)))


async def test_rotated_key_is_fetched_once_then_accepted(platform: Platform) -> None:
    ring = platform.ring
    await asyncio.sleep(0.3)  # past the refetch interval left by earlier tests
    rotated = ring.add()
    before = ring.fetches
    response = await platform.client.get("/v1/me", headers=platform.auth(ring.token(rotated)))
    assert response.status_code == 200
    assert ring.fetches == before + 1
    # Forged kids right after cannot make the gateway hammer identity's JWKS.
    forged = ring.token(ring.add(publish=False))
    _assert_refused(await platform.client.get("/v1/me", headers=platform.auth(forged)))
    assert ring.fetches == before + 1


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/auth/otp"),
        ("POST", "/v1/auth/otp/verify"),
        ("POST", "/v1/auth/eid/challenge"),
        ("POST", "/v1/auth/eid/verify"),
        ("POST", "/v1/auth/token"),
        ("GET", "/.well-known/jwks.json"),
        ("GET", "/.well-known/openid-configuration"),
        ("GET", "/v1/administrations"),
        ("GET", "/v1/administrations/3f2c"),
        ("GET", "/v1/complaints/stats"),
        ("GET", "/v1/documents/RC-2026-0001"),
    ],
)
async def test_public_routes_pass_without_token(platform: Platform, method: str, path: str) -> None:
    response = await platform.client.request(method, path)
    assert response.status_code == 200, response.text
    assert response.json()["path"] == path


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/auth/otp"),
        ("POST", "/v1/auth/logout"),
        ("POST", "/v1/administrations"),
        ("GET", "/v1/administrations/3f2c/agents"),
        ("GET", "/v1/complaints/stats/2026"),
        ("GET", "/v1/complaints"),
        ("GET", "/v1/documents/RC-1/download"),
        ("DELETE", "/v1/documents/RC-1"),
        ("GET", "/.well-known/other"),
    ],
)
async def test_near_misses_of_public_routes_need_a_token(
    platform: Platform, method: str, path: str
) -> None:
    _assert_refused(await platform.client.request(method, path), "unauthorized")


async def test_tokens_of_a_revoked_session_are_refused(platform: Platform) -> None:
    token = platform.ring.token(sid="session-to-revoke")
    assert (await platform.client.get("/v1/me", headers=platform.auth(token))).status_code == 200
    event = CloudEvent(
        source="identity",
        type="identity.session.revoked",
        data={"sid": "session-to-revoke", "expires_at": "2099-01-01T00:00:00Z"},
    )
    await platform.transport.publish([OutgoingEvent(event.id, event.type, event.to_json())])
    for _ in range(100):
        if platform.gateway.state.revocations.is_revoked("session-to-revoke"):
            break
        await asyncio.sleep(0.01)
    _assert_refused(await platform.client.get("/v1/me", headers=platform.auth(token)))
    # Other sessions are untouched.
    other = platform.ring.token(sid="session-kept")
    assert (await platform.client.get("/v1/me", headers=platform.auth(other))).status_code == 200


async def test_problems_are_localised(platform: Platform) -> None:
    response = await platform.client.get("/v1/me", headers={"Accept-Language": "ar"})
    assert response.headers["content-language"] == "ar"
    assert response.json()["title"] == "يلزم تسجيل الدخول."
