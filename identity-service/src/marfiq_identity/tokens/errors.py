"""Typed refusals of the token endpoint, as problems that also carry the OAuth `error`."""

from __future__ import annotations

from typing import Any

from marfiq_identity.transactions import KeptRefusal
from marfiq_shared.problems import BadRequest, Unauthorized

MESSAGES = {
    "invalid-grant": {
        "en": "The refresh token is invalid, expired or revoked; sign in again.",
        "fr": "Le jeton de rafraîchissement est invalide, expiré ou révoqué ; reconnectez-vous.",
        "ar": "رمز التجديد غير صالح أو منتهي أو ملغى، سجّل الدخول من جديد.",
    },
    "invalid-client": {
        "en": "Client authentication failed.",
        "fr": "L'authentification du client a échoué.",
        "ar": "فشلت مصادقة العميل.",
    },
    "unsupported-grant-type": {
        "en": "This grant type is not supported.",
        "fr": "Ce type d'autorisation n'est pas pris en charge.",
        "ar": "نوع التفويض هذا غير مدعوم.",
    },
    "invalid-scope": {
        "en": "The requested scope exceeds what this client was granted.",
        "fr": "La portée demandée dépasse celle accordée à ce client.",
        "ar": "النطاق المطلوب يتجاوز ما مُنح لهذا العميل.",
    },
}


class InvalidGrant(BadRequest):
    code = "invalid-grant"

    def __init__(self, detail: str | None = None, **extensions: Any) -> None:
        super().__init__(detail, error="invalid_grant", **extensions)


class GrantRevoked(KeptRefusal, InvalidGrant):
    """Refused, and the session revoked for it (a spent refresh token came back, the
    account was disabled): the revocation must commit."""


class InvalidClient(Unauthorized):
    code = "invalid-client"

    def __init__(self) -> None:
        super().__init__(error="invalid_client")
        self.headers = {"WWW-Authenticate": 'Basic realm="marfiq"'}


class UnsupportedGrantType(BadRequest):
    code = "unsupported-grant-type"

    def __init__(self) -> None:
        super().__init__(error="unsupported_grant_type")


class InvalidScope(BadRequest):
    code = "invalid-scope"

    def __init__(self) -> None:
        super().__init__(error="invalid_scope")
