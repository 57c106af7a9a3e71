"""Localised messages for problem titles and notifications (Arabic, French, English)."""

from __future__ import annotations

from contextvars import ContextVar

from marfiq_shared.settings import Language

LANGUAGES: tuple[Language, ...] = ("ar", "fr", "en")

current_language: ContextVar[Language] = ContextVar("current_language", default="fr")

_MESSAGES: dict[str, dict[str, str]] = {
    "bad-request": {
        "en": "The request is malformed.",
        "fr": "La requête est mal formée.",
        "ar": "الطلب غير صحيح الصياغة.",
    },
    "malformed-json": {
        "en": "The request body is not valid JSON.",
        "fr": "Le corps de la requête n'est pas un JSON valide.",
        "ar": "محتوى الطلب ليس JSON صالحًا.",
    },
    "validation-error": {
        "en": "Some fields are invalid.",
        "fr": "Certains champs sont invalides.",
        "ar": "بعض الحقول غير صالحة.",
    },
    "unauthorized": {
        "en": "Authentication is required.",
        "fr": "Une authentification est requise.",
        "ar": "يلزم تسجيل الدخول.",
    },
    "invalid-token": {
        "en": "The access token is invalid or expired.",
        "fr": "Le jeton d'accès est invalide ou expiré.",
        "ar": "رمز الدخول غير صالح أو منتهي الصلاحية.",
    },
    "forbidden": {
        "en": "You are not allowed to do this.",
        "fr": "Vous n'êtes pas autorisé à effectuer cette action.",
        "ar": "غير مسموح لك بهذا الإجراء.",
    },
    "step-up-required": {
        "en": "A stronger sign-in is required for this operation.",
        "fr": "Une authentification plus forte est requise pour cette opération.",
        "ar": "تتطلب هذه العملية تسجيل دخول بمستوى ضمان أعلى.",
    },
    "not-found": {
        "en": "The resource was not found.",
        "fr": "La ressource est introuvable.",
        "ar": "المورد غير موجود.",
    },
    "method-not-allowed": {
        "en": "This method is not allowed on this resource.",
        "fr": "Cette méthode n'est pas autorisée sur cette ressource.",
        "ar": "هذه الطريقة غير مسموح بها على هذا المورد.",
    },
    "conflict": {
        "en": "The request conflicts with the current state of the resource.",
        "fr": "La requête est en conflit avec l'état actuel de la ressource.",
        "ar": "الطلب يتعارض مع الحالة الحالية للمورد.",
    },
    "payload-too-large": {
        "en": "The request body is too large.",
        "fr": "Le corps de la requête est trop volumineux.",
        "ar": "حجم محتوى الطلب كبير جدًا.",
    },
    "unsupported-media-type": {
        "en": "This content type is not supported.",
        "fr": "Ce type de contenu n'est pas pris en charge.",
        "ar": "نوع المحتوى هذا غير مدعوم.",
    },
    "invalid-cursor": {
        "en": "The pagination cursor is invalid.",
        "fr": "Le curseur de pagination est invalide.",
        "ar": "مؤشر التصفح غير صالح.",
    },
    "idempotency-key-reused": {
        "en": "This Idempotency-Key was already used for a different request.",
        "fr": "Cette clé d'idempotence a déjà été utilisée pour une autre requête.",
        "ar": "مفتاح عدم التكرار هذا استُخدم لطلب مختلف.",
    },
    "rate-limited": {
        "en": "Too many requests; try again later.",
        "fr": "Trop de requêtes ; réessayez plus tard.",
        "ar": "طلبات كثيرة جدًا، أعد المحاولة لاحقًا.",
    },
    "bad-gateway": {
        "en": "A platform service is unavailable.",
        "fr": "Un service de la plateforme est indisponible.",
        "ar": "إحدى خدمات المنصة غير متاحة.",
    },
    "service-unavailable": {
        "en": "A platform service is temporarily unavailable; try again shortly.",
        "fr": "Un service de la plateforme est momentanément indisponible ; réessayez bientôt.",
        "ar": "إحدى خدمات المنصة غير متاحة مؤقتًا، أعد المحاولة بعد قليل.",
    },
    "gateway-timeout": {
        "en": "A platform service did not answer in time.",
        "fr": "Un service de la plateforme n'a pas répondu à temps.",
        "ar": "لم تستجب إحدى خدمات المنصة في الوقت المحدد.",
    },
    "internal-error": {
        "en": "An unexpected error occurred; it has been logged.",
        "fr": "Une erreur inattendue s'est produite ; elle a été journalisée.",
        "ar": "حدث خطأ غير متوقع وتم تسجيله.",
    },
}


def register_messages(messages: dict[str, dict[str, str]]) -> None:
    """Add a service's own message keys; each key must have all three languages."""
    for key, texts in messages.items():
        missing = set(LANGUAGES) - texts.keys()
        if missing:
            raise ValueError(f"message {key!r} lacks {sorted(missing)}")
        _MESSAGES[key] = texts


def translate(key: str, language: Language | None = None) -> str:
    """The message for `key` in the request's language (English when a key is unknown)."""
    texts = _MESSAGES.get(key)
    if texts is None:
        return key
    return texts[language or current_language.get()]


def negotiate_language(accept_language: str | None, default: Language = "fr") -> Language:
    """Pick ar/fr/en from an Accept-Language header, honouring q-values."""
    if not accept_language:
        return default
    best: tuple[float, Language] | None = None
    for part in accept_language.split(","):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if primary in LANGUAGES and quality > 0 and (best is None or quality > best[0]):
            best = (quality, primary)  # type: ignore[assignment]
    return best[1] if best else default
