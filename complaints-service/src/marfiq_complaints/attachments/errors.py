"""Typed failures of attachments."""

from __future__ import annotations

from marfiq_shared.i18n import register_messages
from marfiq_shared.problems import BadRequest, Conflict, NotFound, ValidationFailed


class AttachmentNotFound(NotFound):
    code = "complaint-attachment-not-found"


class AttachmentLimitReached(Conflict):
    code = "complaint-attachment-limit"


class ComplaintFinished(Conflict):
    code = "complaint-attachments-closed"


class NotMultipart(BadRequest):
    code = "complaint-attachment-not-multipart"


class FilePartMissing(ValidationFailed):
    code = "complaint-attachment-missing"

    def __init__(self) -> None:
        error = {"field": "file", "in": "body", "message": "a part named 'file'"}
        super().__init__(errors=[error])


MESSAGES: dict[str, dict[str, str]] = {
    AttachmentNotFound.code: {
        "en": "This attachment does not exist.",
        "fr": "Cette pièce jointe n'existe pas.",
        "ar": "هذا المرفق غير موجود.",
    },
    AttachmentLimitReached.code: {
        "en": "This complaint already has as many attachments as allowed.",
        "fr": "Cette réclamation a déjà le nombre maximal de pièces jointes.",
        "ar": "بلغت هذه الشكاية الحد الأقصى لعدد المرفقات.",
    },
    ComplaintFinished.code: {
        "en": "Documents can no longer be added to this complaint.",
        "fr": "Il n'est plus possible d'ajouter des documents à cette réclamation.",
        "ar": "لم يعد ممكنًا إضافة وثائق إلى هذه الشكاية.",
    },
    NotMultipart.code: {
        "en": "Send the file as multipart/form-data, in a part named 'file'.",
        "fr": "Envoyez le fichier en multipart/form-data, dans une partie nommée « file ».",
        "ar": "أرسل الملف بصيغة multipart/form-data في جزء باسم file.",
    },
    FilePartMissing.code: {
        "en": "The request has no part named 'file'.",
        "fr": "La requête ne contient pas de partie nommée « file ».",
        "ar": "لا يتضمن الطلب جزءًا باسم file.",
    },
}
register_messages(MESSAGES)
