"""Keys: JWKS and discovery are served, keys are encrypted at rest, rotation keeps old tokens."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from identity_support import ADMIN_EMAIL, Identity, make_settings, started

from marfiq_identity.dev import issue_tokens_for
from marfiq_identity.keys.crypto import KeyMaterialError
from marfiq_identity.keys.service import key_cipher, local_jwks_fetcher, rotate_signing_keys
from marfiq_shared.auth import JwksCache, TokenVerifier


def verifier_for(identity: Identity) -> TokenVerifier:
    return TokenVerifier(
        JwksCache(local_jwks_fetcher(identity.app), min_refetch_interval_s=0),
        issuer=identity.settings.marfiq_issuer,
        audience=identity.settings.marfiq_audience,
    )


async def admin_id(identity: Identity) -> str:
    return str(
        await identity.scalar(
            "SELECT id FROM identity.accounts WHERE email = :email", email=ADMIN_EMAIL
        )
    )


async def test_jwks_lists_the_signing_key_with_its_public_half_only(identity: Identity) -> None:
    response = await identity.client.get("/.well-known/jwks.json")

    assert response.status_code == 200
    assert "max-age" in response.headers["cache-control"]
    (key,) = response.json()["keys"]
    assert key["kty"] == "EC"
    assert key["crv"] == "P-256"
    assert key["alg"] == "ES256"
    assert key["use"] == "sig"
    assert key["kid"]
    assert "d" not in key


async def test_discovery_names_the_issuer_jwks_and_token_endpoint(identity: Identity) -> None:
    response = await identity.client.get("/.well-known/openid-configuration")

    assert response.status_code == 200
    document = response.json()
    assert document["issuer"] == "https://marfiq.test"
    assert document["jwks_uri"] == "https://marfiq.test/.well-known/jwks.json"
    assert document["token_endpoint"] == "https://marfiq.test/v1/auth/token"
    assert document["id_token_signing_alg_values_supported"] == ["ES256"]
    assert document["acr_values_supported"] == ["low", "substantial", "high"]


async def test_private_key_is_stored_encrypted(identity: Identity) -> None:
    sealed = await identity.scalar("SELECT private_key FROM identity.signing_keys")

    assert sealed is not None
    assert b"PRIVATE KEY" not in sealed
    assert len(sealed) > 100
    kid = await identity.scalar("SELECT kid FROM identity.signing_keys")
    opened = key_cipher(identity.settings).open(sealed, kid=kid)
    assert isinstance(opened, ec.EllipticCurvePrivateKey)


async def test_restart_reuses_the_stored_key(identity: Identity) -> None:
    first = (await identity.client.get("/.well-known/jwks.json")).json()
    async with started(identity.settings) as restarted:
        second = (await restarted.client.get("/.well-known/jwks.json")).json()

    assert first == second


async def test_wrong_encryption_secret_refuses_to_start(identity: Identity) -> None:
    other = make_settings(identity.settings.database_url, key_encryption_secret="another")

    with pytest.raises(KeyMaterialError, match="does not decrypt"):
        async with started(other):
            pass


async def test_rotation_keeps_old_tokens_valid_and_publishes_both_keys(
    identity: Identity,
) -> None:
    verifier = verifier_for(identity)
    old = await issue_tokens_for(identity.app, await admin_id(identity))
    old_kid = identity.app.state.keyring.signing_key().kid
    assert (await verifier.verify(old.access_token)).sub == await admin_id(identity)

    async with identity.database.sessionmaker() as session, session.begin():
        new_kid = await rotate_signing_keys(
            session, settings=identity.settings, cipher=key_cipher(identity.settings)
        )
    await identity.app.state.keyring.refresh(identity.database)
    new = await issue_tokens_for(identity.app, await admin_id(identity))

    kids = {
        key["kid"] for key in (await identity.client.get("/.well-known/jwks.json")).json()["keys"]
    }
    assert kids == {old_kid, new_kid}
    assert identity.app.state.keyring.signing_key().kid == new_kid
    fresh = verifier_for(identity)  # a verifier that never saw the old key before
    assert (await fresh.verify(old.access_token)).sub == await admin_id(identity)
    assert (await fresh.verify(new.access_token)).sub == await admin_id(identity)


async def test_revoking_a_compromised_key_removes_it_from_jwks(identity: Identity) -> None:
    old_kid = identity.app.state.keyring.signing_key().kid
    async with identity.database.sessionmaker() as session, session.begin():
        new_kid = await rotate_signing_keys(
            session,
            settings=identity.settings,
            cipher=key_cipher(identity.settings),
            revoke_previous=True,
        )
    await identity.app.state.keyring.refresh(identity.database)

    kids = {
        key["kid"] for key in (await identity.client.get("/.well-known/jwks.json")).json()["keys"]
    }
    assert kids == {new_kid}
    assert old_kid != new_kid


async def test_configured_pem_signs_and_is_published_but_never_stored(
    database_url: str, clean: None
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    settings = make_settings(database_url, signing_key_pem=pem, key_encryption_secret=None)
    async with started(settings) as identity:
        app, client = identity.app, identity.client
        tokens = await issue_tokens_for(app, await admin_id(identity))
        verifier = verifier_for(identity)
        assert (await verifier.verify(tokens.access_token)).acr == "low"
        stored = await identity.scalar(
            "SELECT count(*) FROM identity.signing_keys WHERE private_key IS NOT NULL"
        )
        (published,) = (await client.get("/.well-known/jwks.json")).json()["keys"]

    assert stored == 0
    assert published["x"]
    assert published["kid"] == app.state.keyring.signing_key().kid
