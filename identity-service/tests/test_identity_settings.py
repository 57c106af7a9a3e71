"""Settings: the environment names operators set, and refusing unsafe key storage."""

from __future__ import annotations

import pytest
from identity_support import Identity

from marfiq_identity.keys.crypto import KeyMaterialError
from marfiq_identity.keys.service import key_cipher
from marfiq_identity.settings import IdentitySettings


def test_environment_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARFIQ_BOOTSTRAP_ADMIN_EMAIL", "root@marfiq.ma")
    monkeypatch.setenv("IDENTITY_KEY_ENCRYPTION_SECRET", "s3cret")
    monkeypatch.setenv("IDENTITY_ACCESS_TOKEN_TTL_S", "300")
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/marfiq")

    settings = IdentitySettings()

    assert settings.bootstrap_admin_email == "root@marfiq.ma"
    assert settings.key_encryption_secret is not None
    assert settings.key_encryption_secret.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(settings)
    assert settings.access_token_ttl_s == 300
    assert settings.database_url == "postgresql://db/marfiq"


def test_access_tokens_cannot_be_configured_past_fifteen_minutes() -> None:
    with pytest.raises(ValueError, match="less than or equal to 900"):
        IdentitySettings(access_token_ttl_s=3600)


def test_distributed_mode_refuses_to_store_keys_without_a_secret() -> None:
    settings = IdentitySettings(amqp_url="amqp://broker", key_encryption_secret=None)

    with pytest.raises(KeyMaterialError, match="IDENTITY_KEY_ENCRYPTION_SECRET"):
        key_cipher(settings)


async def test_openapi_documents_the_public_contract(identity: Identity) -> None:
    response = await identity.client.get("/openapi.json")

    paths = response.json()["paths"]
    assert response.status_code == 200
    assert {"/.well-known/jwks.json", "/v1/me", "/v1/administrations"} <= set(paths)
    assert "Idempotency-Key" in {
        p["name"] for p in paths["/v1/administrations"]["post"]["parameters"]
    }
