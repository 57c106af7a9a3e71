"""Tokens: what a minted access token carries, that it verifies, and that forgeries do not."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid

import jwt
import pytest
from identity_support import Identity

from marfiq_identity.accounts.models import AccountKind
from marfiq_identity.administrations.schemas import AdministrationCreate
from marfiq_identity.administrations.service import create_administration
from marfiq_identity.dev import issue_tokens_for
from marfiq_identity.keys.service import local_jwks_fetcher
from marfiq_identity.tokens.service import mint_access_token
from marfiq_shared.auth import JwksCache, TokenVerifier
from marfiq_shared.problems import InvalidToken


def verifier(identity: Identity) -> TokenVerifier:
    return TokenVerifier(
        JwksCache(local_jwks_fetcher(identity.app)),
        issuer=identity.settings.marfiq_issuer,
        audience=identity.settings.marfiq_audience,
    )


async def test_access_token_carries_the_design_claims_and_verifies(identity: Identity) -> None:
    citizen = await identity.account(kind=AccountKind.citizen, phone="0612345678")
    tokens = await issue_tokens_for(identity.app, citizen, acr="substantial", amr=["sms"])

    principal = await verifier(identity).verify(tokens.access_token)
    header = jwt.get_unverified_header(tokens.access_token)
    claims = jwt.decode(tokens.access_token, options={"verify_signature": False})

    assert header["typ"] == "at+jwt"
    assert header["alg"] == "ES256"
    assert header["kid"] == identity.app.state.keyring.signing_key().kid
    assert principal.sub == str(citizen.id)
    assert principal.roles == {"citizen"}
    assert principal.acr == "substantial"
    assert principal.amr == ("sms",)
    assert claims["iss"] == "https://marfiq.test"
    assert claims["aud"] == "marfiq"
    assert 0 < claims["exp"] - claims["iat"] <= 900
    assert abs(claims["iat"] - time.time()) < 5
    assert uuid.UUID(claims["sid"])
    assert claims["jti"]
    assert "adm" not in claims
    assert "cin" not in claims
    assert "scope" not in claims
    assert tokens.token_type == "Bearer"
    assert tokens.expires_in == identity.settings.access_token_ttl_s


async def test_agent_token_names_the_administration_and_proven_cin(identity: Identity) -> None:
    async with identity.database.sessionmaker() as session, session.begin():
        administration = await create_administration(
            session,
            data=AdministrationCreate(
                code="CMR",
                name_ar="الصندوق المغربي للتقاعد",
                name_fr="Caisse Marocaine des Retraites",
                kind="public_establishment",
            ),
        )
    agent = await identity.account(
        kind=AccountKind.agent,
        email="Agent@CMR.ma",
        administration_id=administration.id,
        roles=["agent", "supervisor"],
        cin="AB123456",
    )
    tokens = await issue_tokens_for(identity.app, agent.id, acr="high", amr=["nfc"])

    principal = await verifier(identity).verify(tokens.access_token)

    assert principal.adm == administration.id
    assert principal.is_agent
    assert principal.roles == {"agent", "supervisor"}
    assert principal.cin == "AB123456"


async def test_machine_token_carries_scope_and_lifetime_is_capped(identity: Identity) -> None:
    minted = mint_access_token(
        keyring=identity.app.state.keyring,
        issuer=identity.settings.marfiq_issuer,
        audience=identity.settings.marfiq_audience,
        subject="client-42",
        roles=["client"],
        acr="low",
        amr=[],
        ttl_s=86_400,
        adm=uuid.uuid4(),
        scope=["pensions:declare", "correspondence:read"],
    )

    principal = await verifier(identity).verify(minted.token)

    assert minted.expires_in == 900
    assert principal.scope == {"pensions:declare", "correspondence:read"}
    assert principal.sid is None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


async def test_tampered_token_is_refused(identity: Identity) -> None:
    citizen = await identity.account(kind=AccountKind.citizen, email="c@example.ma")
    token = (await issue_tokens_for(identity.app, citizen)).access_token
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["roles"] = ["platform_admin"]
    forged = ".".join([header, _b64(json.dumps(claims).encode()), signature])

    with pytest.raises(InvalidToken):
        await verifier(identity).verify(forged)
    with pytest.raises(InvalidToken):
        await verifier(identity).verify(token[:-4] + ("AAAA" if token[-4:] != "AAAA" else "BBBB"))


async def test_refresh_token_is_stored_only_as_its_hash(identity: Identity) -> None:
    citizen = await identity.account(kind=AccountKind.citizen, email="r@example.ma")
    tokens = await issue_tokens_for(identity.app, citizen)
    assert tokens.refresh_token is not None

    stored = await identity.scalar("SELECT token_hash FROM identity.refresh_tokens")
    expires = await identity.scalar("SELECT expires_at > now() FROM identity.refresh_tokens")
    sessions = await identity.scalar(
        "SELECT count(*) FROM identity.sessions WHERE account_id = :id AND revoked_at IS NULL",
        id=citizen.id,
    )

    assert stored == hashlib.sha256(tokens.refresh_token.encode()).digest()
    assert expires is True
    assert sessions == 1
