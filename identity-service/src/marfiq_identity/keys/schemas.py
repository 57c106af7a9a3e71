"""The public documents about keys: JWKS and OpenID discovery metadata."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Jwk(BaseModel):
    model_config = ConfigDict(extra="allow")

    kty: str
    crv: str
    x: str
    y: str
    kid: str
    use: str
    alg: str


class JwksRead(BaseModel):
    keys: list[Jwk]


class DiscoveryRead(BaseModel):
    """OpenID Provider / OAuth 2.0 authorization server metadata (the fields that apply)."""

    issuer: str
    jwks_uri: str
    token_endpoint: str
    grant_types_supported: list[str]
    token_endpoint_auth_methods_supported: list[str]
    response_types_supported: list[str]
    subject_types_supported: list[str]
    id_token_signing_alg_values_supported: list[str]
    access_token_signing_alg_values_supported: list[str]
    acr_values_supported: list[str]
    claims_supported: list[str]
    ui_locales_supported: list[str]
