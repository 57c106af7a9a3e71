"""Codes: six digits from the CSPRNG, stored as an HMAC bound to their challenge."""

from __future__ import annotations

import hmac
import logging
import secrets
import uuid

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from marfiq_identity.settings import IdentitySettings

log = logging.getLogger("marfiq.identity.otp")

CODE_DIGITS = 6
# Used only when the embedded (development) mode runs without any secret configured.
_DEVELOPMENT_SECRET = "marfiq-development-only-otp-secret"


class OtpSecretMissing(RuntimeError):
    """No secret to key code hashes with, outside the embedded mode."""


def new_code() -> str:
    """Six decimal digits, uniformly drawn."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def _derive(secret: str, label: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"marfiq-identity", info=label).derive(
        secret.encode()
    )


def otp_key(settings: IdentitySettings) -> bytes:
    """The HMAC key: IDENTITY_OTP_SECRET, else derived from the key-encryption secret."""
    if settings.otp_secret is not None:
        return _derive(settings.otp_secret.get_secret_value(), b"otp-code-hash/v1")
    if settings.key_encryption_secret is not None:
        # A separate label: knowing this key tells nothing about the key-encryption key.
        return _derive(settings.key_encryption_secret.get_secret_value(), b"otp-code-hash/v1")
    if settings.amqp_url is not None:
        raise OtpSecretMissing(
            "IDENTITY_OTP_SECRET (or IDENTITY_KEY_ENCRYPTION_SECRET) is required"
        )
    log.warning("IDENTITY_OTP_SECRET is not set: codes are hashed under the development secret")
    return _derive(_DEVELOPMENT_SECRET, b"otp-code-hash/v1")


class CodeHasher:
    """HMAC-SHA256 over (challenge id, code): a stolen table yields neither codes nor a
    code that fits another challenge."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def digest(self, challenge_id: uuid.UUID, code: str) -> bytes:
        # The one-shot form: no HMAC object per code (a third of the cost).
        return hmac.digest(self._key, challenge_id.bytes + code.encode(), "sha256")

    def matches(self, challenge_id: uuid.UUID, code: str, stored: bytes) -> bool:
        """Constant-time comparison with the stored digest."""
        return hmac.compare_digest(self.digest(challenge_id, code), stored)
