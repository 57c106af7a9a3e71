"""Typed failures of uploads."""

from __future__ import annotations

from marfiq_shared.i18n import register_messages
from marfiq_shared.problems import BadRequest, NotFound, ValidationFailed


class NotMultipart(BadRequest):
    code = "correspondence-upload-not-multipart"


class FilePartMissing(ValidationFailed):
    code = "correspondence-upload-file-missing"

    def __init__(self) -> None:
        error = {"field": "file", "in": "body", "message": "a part named 'file'"}
        super().__init__(errors=[error])


class FileNotFound(NotFound):
    code = "correspondence-file-not-found"


MESSAGES: dict[str, dict[str, str]] = {
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
    FileNotFound.code: {
        "en": "This file does not exist or is not yours.",
        "fr": "Ce fichier n'existe pas ou ne vous appartient pas.",
        "ar": "هذا الملف غير موجود أو ليس لك.",
    },
}
register_messages(MESSAGES)
