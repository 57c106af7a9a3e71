"""Typed failures of the document registry."""

from __future__ import annotations

from marfiq_shared.i18n import register_messages
from marfiq_shared.problems import Conflict, NotFound


class IssuedDocumentNotFound(NotFound):
    code = "document-not-found"


class DocumentAlreadyRevoked(Conflict):
    code = "document-already-revoked"


MESSAGES: dict[str, dict[str, str]] = {
    IssuedDocumentNotFound.code: {
        "en": "No document was issued with this verification code.",
        "fr": "Aucun document n'a été délivré avec ce code de vérification.",
        "ar": "لم تصدر أي وثيقة بهذا الرمز.",
    },
    DocumentAlreadyRevoked.code: {
        "en": "This document is already revoked.",
        "fr": "Ce document est déjà révoqué.",
        "ar": "هذه الوثيقة ملغاة من قبل.",
    },
}
register_messages(MESSAGES)
