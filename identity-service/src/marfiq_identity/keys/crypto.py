"""Key material: ES256 keys, their JWK form and thumbprint, and encryption at rest."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from functools import lru_cache
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from jwt.algorithms import ECAlgorithm

ALGORITHM = "ES256"
_CIPHER_VERSION = b"\x01"
_NONCE_BYTES = 12


class KeyMaterialError(RuntimeError):
    """A key cannot be used: wrong curve, unreadable PEM, or the wrong encryption secret."""


def _b64url(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


_ES256 = ec.ECDSA(hashes.SHA256())


def sign_jws(claims: dict[str, Any], *, key: ec.EllipticCurvePrivateKey, kid: str, typ: str) -> str:
    """A compact ES256 JWS of `claims` (RFC 7515/7518), as PyJWT would produce it.

    Written out because PyJWT re-validates the key and the headers on every call: that
    doubled the cost of the one signature each sign-in makes. The payload is encoded by
    orjson (compact, like PyJWT's separators): `json.dumps` with separators builds a new
    encoder on every call, which py-spy showed as a third of this function.
    """
    signing_input = _jws_header(kid, typ) + b"." + _b64url(orjson.dumps(claims))
    r, s = decode_dss_signature(key.sign(signing_input, _ES256))
    # JWS carries R || S, each 32 bytes for P-256, not the DER the library returns.
    return (signing_input + b"." + _b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))).decode()


@lru_cache(maxsize=64)
def _jws_header(kid: str, typ: str) -> bytes:
    """The encoded protected header: the same for every token of a key."""
    return _b64url(orjson.dumps({"alg": ALGORITHM, "typ": typ, "kid": kid}))


def generate_private_key() -> ec.EllipticCurvePrivateKey:
    """A fresh P-256 key, the curve ES256 requires."""
    return ec.generate_private_key(ec.SECP256R1())


def load_private_key_pem(pem: str) -> ec.EllipticCurvePrivateKey:
    """Read a configured PEM; anything but an unencrypted P-256 private key is refused."""
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise KeyMaterialError("IDENTITY_SIGNING_KEY_PEM is not a readable private key") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise KeyMaterialError("IDENTITY_SIGNING_KEY_PEM must be an EC P-256 key (ES256)")
    return key


def public_jwk(key: ec.EllipticCurvePrivateKey) -> dict[str, Any]:
    """The public half as a JWK (kty, crv, x, y), without kid."""
    jwk: dict[str, Any] = ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return {name: jwk[name] for name in ("kty", "crv", "x", "y")}


def thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 thumbprint: the same key always gets the same `kid`, on every replica."""
    canonical = json.dumps(
        {name: jwk[name] for name in ("crv", "kty", "x", "y")},
        separators=(",", ":"),
        sort_keys=True,
    )
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def published_jwk(jwk: dict[str, Any], kid: str) -> dict[str, Any]:
    """The entry of the JWKS document for one key."""
    return {**jwk, "kid": kid, "use": "sig", "alg": ALGORITHM}


class KeyCipher:
    """AES-256-GCM under a key derived (HKDF-SHA256) from the configured secret.

    The `kid` is the associated data, so a ciphertext moved to another row fails to open.
    """

    def __init__(self, secret: str) -> None:
        derived = HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=b"marfiq-identity",
            info=b"signing-key-encryption/v1",
        ).derive(secret.encode())
        self._aead = AESGCM(derived)

    def seal(self, key: ec.EllipticCurvePrivateKey, *, kid: str) -> bytes:
        der = key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        nonce = os.urandom(_NONCE_BYTES)
        return _CIPHER_VERSION + nonce + self._aead.encrypt(nonce, der, kid.encode())

    def open(self, sealed: bytes, *, kid: str) -> ec.EllipticCurvePrivateKey:
        if sealed[:1] != _CIPHER_VERSION:
            raise KeyMaterialError(f"signing key {kid}: unknown encryption format")
        nonce = sealed[1 : 1 + _NONCE_BYTES]
        try:
            der = self._aead.decrypt(nonce, sealed[1 + _NONCE_BYTES :], kid.encode())
        except InvalidTag as exc:
            raise KeyMaterialError(
                f"signing key {kid} does not decrypt: IDENTITY_KEY_ENCRYPTION_SECRET differs "
                "from the one it was stored with"
            ) from exc
        key = serialization.load_der_private_key(der, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise KeyMaterialError(f"signing key {kid} is not an EC key")
        return key
