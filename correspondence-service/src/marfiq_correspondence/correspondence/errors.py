"""Typed failures of the correspondence API, rendered as RFC 9457 problems."""

from __future__ import annotations

from typing import Any

from marfiq_shared.i18n import register_messages
from marfiq_shared.problems import Conflict, Forbidden, NotFound, ValidationFailed


class CorrespondenceNotFound(NotFound):
    """Also what a caller gets for a correspondence that exists but is not theirs to see."""

    code = "correspondence-not-found"


class DocumentNotFound(NotFound):
    code = "correspondence-document-not-found"


class NotACorrespondenceParty(Forbidden):
    code = "correspondence-caller-not-allowed"


class StepNotAllowed(Conflict):
    code = "correspondence-step-not-allowed"


class FieldProblem(ValidationFailed):
    """One field is wrong, told the way validation errors are."""

    code = "validation-error"

    def __init__(self, field: str, message: str, **extensions: Any) -> None:
        super().__init__(errors=[{"field": field, "in": "body", "message": message}], **extensions)


class RecipientUnknown(FieldProblem):
    code = "correspondence-recipient-unknown"


class FilesUnusable(FieldProblem):
    code = "correspondence-files-unusable"


MESSAGES: dict[str, dict[str, str]] = {
    CorrespondenceNotFound.code: {
        "en": "This correspondence does not exist or is not yours to see.",
        "fr": "Ce courrier n'existe pas ou ne vous est pas accessible.",
        "ar": "هذه المراسلة غير موجودة أو لا يحق لك الاطلاع عليها.",
    },
    DocumentNotFound.code: {
        "en": "This document does not exist.",
        "fr": "Ce document n'existe pas.",
        "ar": "هذه الوثيقة غير موجودة.",
    },
    NotACorrespondenceParty.code: {
        "en": "Only citizens, companies' representatives, and agents or partner systems of an "
        "administration use this.",
        "fr": "Réservé aux citoyens, aux représentants d'entreprises et aux agents ou systèmes "
        "partenaires d'une administration.",
        "ar": "هذه الخدمة مخصصة للمواطنين وممثلي المقاولات وموظفي الإدارات وأنظمتها الشريكة.",
    },
    StepNotAllowed.code: {
        "en": "This step is not possible in the correspondence's current state.",
        "fr": "Cette étape n'est pas possible dans l'état actuel du courrier.",
        "ar": "هذه الخطوة غير ممكنة في الحالة الحالية للمراسلة.",
    },
    RecipientUnknown.code: {
        "en": "This administration is not in the directory or no longer receives mail.",
        "fr": "Cette administration n'est pas dans l'annuaire ou ne reçoit plus de courrier.",
        "ar": "هذه الإدارة غير موجودة في الدليل أو لم تعد تتلقى المراسلات.",
    },
    FilesUnusable.code: {
        "en": "Some files cannot be used: unknown, not yours, or already attached.",
        "fr": "Certains fichiers sont inutilisables : inconnus, pas à vous ou déjà joints.",
        "ar": "بعض الملفات غير قابلة للاستعمال: غير معروفة أو ليست لك أو مرفقة من قبل.",
    },
}
register_messages(MESSAGES)
