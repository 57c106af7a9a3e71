"""Typed failures of webhook management."""

from __future__ import annotations

from marfiq_shared.i18n import register_messages
from marfiq_shared.problems import NotFound, ValidationFailed


class WebhookNotFound(NotFound):
    code = "webhook-not-found"


class WebhookUrlRefused(ValidationFailed):
    code = "webhook-url-refused"

    def __init__(self, message: str) -> None:
        super().__init__(errors=[{"field": "url", "in": "body", "message": message}])


MESSAGES: dict[str, dict[str, str]] = {
    WebhookNotFound.code: {
        "en": "This webhook does not exist.",
        "fr": "Ce webhook n'existe pas.",
        "ar": "هذا الـ webhook غير موجود.",
    },
    WebhookUrlRefused.code: {
        "en": "This URL cannot receive webhooks: use https to a public address.",
        "fr": "Cette URL ne peut pas recevoir de webhooks : utilisez https vers une adresse "
        "publique.",
        "ar": "لا يمكن لهذا الرابط استقبال الإشعارات: استعمل https نحو عنوان عمومي.",
    },
}
register_messages(MESSAGES)
