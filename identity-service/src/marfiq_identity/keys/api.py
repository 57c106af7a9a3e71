"""Public key documents: `/.well-known/jwks.json` and `/.well-known/openid-configuration`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from marfiq_identity.dependencies import Keys, Settings
from marfiq_identity.keys.crypto import ALGORITHM
from marfiq_identity.keys.schemas import DiscoveryRead, JwksRead

router = APIRouter(tags=["keys"])

# Verifiers cache keys; a new key is published ahead of use, so a few minutes is safe.
_CACHE = "public, max-age=300"


@router.get("/.well-known/jwks.json", response_model=JwksRead)
async def jwks(keys: Keys, response: Response) -> dict[str, Any]:
    """The public signing keys, current and recently retired."""
    response.headers["Cache-Control"] = _CACHE
    return keys.jwks()


@router.get("/.well-known/openid-configuration", response_model=DiscoveryRead)
async def openid_configuration(settings: Settings, response: Response) -> DiscoveryRead:
    """Discovery metadata; every URL is the public (gateway) one."""
    response.headers["Cache-Control"] = _CACHE
    issuer = settings.marfiq_issuer.rstrip("/")
    return DiscoveryRead(
        issuer=settings.marfiq_issuer,
        jwks_uri=f"{issuer}/.well-known/jwks.json",
        token_endpoint=f"{issuer}/v1/auth/token",
        grant_types_supported=["refresh_token", "client_credentials"],
        token_endpoint_auth_methods_supported=["client_secret_basic"],
        response_types_supported=["token"],
        subject_types_supported=["public"],
        id_token_signing_alg_values_supported=[ALGORITHM],
        access_token_signing_alg_values_supported=[ALGORITHM],
        acr_values_supported=["low", "substantial", "high"],
        claims_supported=[
            "iss",
            "aud",
            "sub",
            "exp",
            "iat",
            "jti",
            "sid",
            "acr",
            "amr",
            "roles",
            "adm",
            "scope",
            "cin",
        ],
        ui_locales_supported=["ar", "fr", "en"],
    )
