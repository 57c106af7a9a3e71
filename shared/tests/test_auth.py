"""The shared verifier refuses every token it should, and refetches keys on rotation."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from marfiq_shared.auth import JwksCache, Principal, TokenVerifier, require_acr
from marfiq_shared.problems import InvalidToken, StepUpRequired

ISSUER, AUDIENCE = "https://id.test", "marfiq"


class KeyRing:
    def __init__(self) -> None:
        self.keys: dict[str, ec.EllipticCurvePrivateKey] = {}
        self.fetches = 0

    def add(self) -> str:
        kid = uuid.uuid4().hex[:12]
        self.keys[kid] = ec.generate_private_key(ec.SECP256R1())
        return kid

    async def fetch(self) -> dict[str, Any]:
        self.fetches += 1
        entries = []
        for kid, key in self.keys.items():
            entry = json.loads(ECAlgorithm.to_jwk(key.public_key()))
            entries.append(entry | {"kid": kid, "use": "sig", "alg": "ES256"})
        return {"keys": entries}


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user-1",
        "iat": now,
        "exp": now + 300,
        "jti": uuid.uuid4().hex,
        "sid": "s1",
        "acr": "low",
        "roles": ["citizen"],
    }
    return {k: v for k, v in (base | overrides).items() if v is not None}


def sign(ring: KeyRing, kid: str, payload: dict[str, Any], **header: Any) -> str:
    return jwt.encode(
        payload, ring.keys[kid], algorithm="ES256", headers={"kid": kid, "typ": "at+jwt"} | header
    )


@pytest.fixture
def ring() -> KeyRing:
    return KeyRing()


@pytest.fixture
def verifier(ring: KeyRing) -> TokenVerifier:
    return TokenVerifier(
        JwksCache(ring.fetch, min_refetch_interval_s=0), issuer=ISSUER, audience=AUDIENCE
    )


async def test_valid_token_gives_principal(ring: KeyRing, verifier: TokenVerifier) -> None:
    kid = ring.add()
    principal = await verifier.verify(sign(ring, kid, claims(acr="high", cin="AB123456")))
    assert principal.sub == "user-1"
    assert principal.is_citizen
    assert principal.cin == "AB123456"
    assert principal.has_acr("substantial")


@pytest.mark.parametrize(
    "payload",
    [
        claims(aud="other"),
        claims(iss="https://evil.test"),
        claims(exp=int(time.time()) - 120, iat=int(time.time()) - 1000),
        claims(exp=None),
        claims(jti=None),
        claims(acr="ultra"),
    ],
    ids=["wrong-aud", "wrong-iss", "expired", "no-exp", "no-jti", "unknown-acr"],
)
async def test_bad_claims_are_refused(
    ring: KeyRing, verifier: TokenVerifier, payload: dict[str, Any]
) -> None:
    kid = ring.add()
    with pytest.raises(InvalidToken):
        await verifier.verify(sign(ring, kid, payload))


async def test_wrong_signature_is_refused(ring: KeyRing, verifier: TokenVerifier) -> None:
    kid = ring.add()
    token = sign(ring, kid, claims())
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims(sub="admin")).encode())
    head, _, signature = token.split(".")
    with pytest.raises(InvalidToken):
        await verifier.verify(f"{head}.{forged_payload.decode().rstrip('=')}.{signature}")


async def test_alg_none_is_refused(ring: KeyRing, verifier: TokenVerifier) -> None:
    kid = ring.add()
    token = jwt.encode(claims(), None, algorithm="none", headers={"kid": kid, "typ": "at+jwt"})
    with pytest.raises(InvalidToken):
        await verifier.verify(token)


async def test_hs256_with_public_key_is_refused(ring: KeyRing, verifier: TokenVerifier) -> None:
    kid = ring.add()
    public_jwk = (await ring.fetch())["keys"][0]
    ring.fetches = 0
    header = {"alg": "HS256", "kid": kid, "typ": "at+jwt"}
    segments = [
        base64.urlsafe_b64encode(json.dumps(part).encode()).decode().rstrip("=")
        for part in (header, claims())
    ]
    mac = hmac.new(json.dumps(public_jwk).encode(), ".".join(segments).encode(), hashlib.sha256)
    signature = base64.urlsafe_b64encode(mac.digest()).decode().rstrip("=")
    with pytest.raises(InvalidToken):
        await verifier.verify(".".join([*segments, signature]))


async def test_id_token_typ_is_refused(ring: KeyRing, verifier: TokenVerifier) -> None:
    kid = ring.add()
    with pytest.raises(InvalidToken):
        await verifier.verify(sign(ring, kid, claims(), typ="JWT"))


async def test_forged_kids_do_not_hammer_identity(ring: KeyRing) -> None:
    verifier = TokenVerifier(
        JwksCache(ring.fetch, min_refetch_interval_s=60), issuer=ISSUER, audience=AUDIENCE
    )
    first = ring.add()
    await verifier.verify(sign(ring, first, claims()))
    assert ring.fetches == 1
    # A forged kid within the interval does not hit identity again.
    with pytest.raises(InvalidToken):
        await verifier.verify(sign(ring, ring.add(), claims()))
    assert ring.fetches == 1


async def test_rotated_key_is_found_by_refetch(ring: KeyRing, verifier: TokenVerifier) -> None:
    old = ring.add()
    await verifier.verify(sign(ring, old, claims()))
    new = ring.add()
    principal = await verifier.verify(sign(ring, new, claims(sub="user-2")))
    assert principal.sub == "user-2"
    assert ring.fetches == 2


async def test_unknown_kid_never_published_is_refused(
    ring: KeyRing, verifier: TokenVerifier
) -> None:
    ring.add()
    stranger = KeyRing()
    kid = stranger.add()
    with pytest.raises(InvalidToken):
        await verifier.verify(sign(stranger, kid, claims()))


async def test_step_up_names_the_level() -> None:
    guard = require_acr("substantial")
    low = Principal.from_claims(claims())
    with pytest.raises(StepUpRequired) as raised:
        await guard(low)
    assert raised.value.extensions == {"required_acr": "substantial"}
    assert await guard(Principal.from_claims(claims(acr="high"))) is not None
