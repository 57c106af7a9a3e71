"""Typed failures of eID sign-in, each a problem with a stable code and localised title.

A document that cannot be read is the client's fault (422); a document that reads but does
not prove who holds it is a failed authentication (401).
"""

from __future__ import annotations

from marfiq_shared.problems import Unauthorized, ValidationFailed

MESSAGES = {
    "eid-malformed": {
        "en": "The data read from the identity card is malformed.",
        "fr": "Les données lues sur la carte d'identité sont mal formées.",
        "ar": "البيانات المقروءة من بطاقة التعريف غير صحيحة الصياغة.",
    },
    "eid-untrusted-signer": {
        "en": "The identity card was not issued by a trusted authority.",
        "fr": "La carte d'identité n'a pas été émise par une autorité de confiance.",
        "ar": "لم تصدر بطاقة التعريف عن جهة موثوقة.",
    },
    "eid-tampered": {
        "en": "The identity card data has been altered.",
        "fr": "Les données de la carte d'identité ont été altérées.",
        "ar": "تم تغيير بيانات بطاقة التعريف.",
    },
    "eid-signature-invalid": {
        "en": "The identity card did not prove that it is genuine.",
        "fr": "La carte d'identité n'a pas prouvé son authenticité.",
        "ar": "لم تثبت بطاقة التعريف أنها أصلية.",
    },
    "eid-document-expired": {
        "en": "The identity card has expired.",
        "fr": "La carte d'identité a expiré.",
        "ar": "انتهت صلاحية بطاقة التعريف.",
    },
    "eid-challenge-invalid": {
        "en": "The card reading challenge is unknown, expired or already used; start again.",
        "fr": "Le défi de lecture de la carte est inconnu, expiré ou déjà utilisé ; recommencez.",
        "ar": "تحدي قراءة البطاقة غير معروف أو منتهي الصلاحية أو مستعمل، أعد المحاولة.",
    },
}


class EidMalformed(ValidationFailed):
    """Bad base64, truncated or unexpected ASN.1/TLV, an algorithm we do not support."""

    code = "eid-malformed"


class EidUntrustedSigner(Unauthorized):
    """The Document Signer does not chain to a valid CSCA, is out of date or may not sign."""

    code = "eid-untrusted-signer"


class EidTampered(Unauthorized):
    """The SOD signature fails, or a data group does not hash to what the SOD says."""

    code = "eid-tampered"


class EidSignatureInvalid(Unauthorized):
    """Active Authentication failed: the chip did not sign this nonce with the DG15 key."""

    code = "eid-signature-invalid"


class EidDocumentExpired(ValidationFailed):
    """The card is genuine but past its expiry date."""

    code = "eid-document-expired"


class EidChallengeInvalid(Unauthorized):
    """The challenge is unknown, expired or spent; the three are not told apart."""

    code = "eid-challenge-invalid"
