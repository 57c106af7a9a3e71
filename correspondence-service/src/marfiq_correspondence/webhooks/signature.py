"""Standard Webhooks signatures (https://www.standardwebhooks.com): the receiver checks
`webhook-signature` = `v1,` + base64(HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<body>"))
where the key is the base64 part of the endpoint's `whsec_…` secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

PREFIX = "whsec_"


def new_secret() -> str:
    """A fresh endpoint secret: 32 random bytes, in the `whsec_<base64>` form."""
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX))


def sign(secret: str, *, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value for one message."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secret: str, *, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, message_id=message_id, timestamp=timestamp, body=body),
        "content-type": "application/json",
        "user-agent": "Marfiq-Webhooks/1",
    }


def verify(
    secret: str, *, message_id: str, timestamp: str, body: bytes, signature_header: str
) -> bool:
    """Whether any `v1,` signature of the header matches (receivers may rotate secrets)."""
    expected = sign(secret, message_id=message_id, timestamp=int(timestamp), body=body)
    return any(hmac.compare_digest(expected, part) for part in signature_header.split())
