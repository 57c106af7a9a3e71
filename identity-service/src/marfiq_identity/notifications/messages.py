"""What is sent, in Arabic, French and English: codes, and notifications other services ask
for. Texts are plain and short enough for one SMS in French and English."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from marfiq_shared.settings import Language

Channel = Literal["sms", "email"]
CodePurpose = Literal["sign_in", "contact_change"]
CHANNELS: tuple[Channel, ...] = ("sms", "email")


@dataclass(frozen=True, slots=True)
class Message:
    """One message to one recipient. `secret` marks a text that must never be logged."""

    channel: Channel
    to: str
    subject: str
    text: str
    language: Language
    secret: bool = False


_CODE_SMS: dict[CodePurpose, dict[Language, str]] = {
    "sign_in": {
        "ar": "مرفق: رمز الدخول الخاص بك هو {code}. صالح لمدة {minutes} دقائق. "
        "لا تشاركه مع أي أحد.",
        "fr": "Marfiq : votre code de connexion est {code}. Il expire dans {minutes} min. "
        "Ne le communiquez à personne.",
        "en": "Marfiq: your sign-in code is {code}. It expires in {minutes} min. Never share it.",
    },
    "contact_change": {
        "ar": "مرفق: رمز تأكيد وسيلة الاتصال الجديدة هو {code}. صالح لمدة {minutes} دقائق.",
        "fr": "Marfiq : code de confirmation de votre nouveau contact : {code}. "
        "Il expire dans {minutes} min.",
        "en": "Marfiq: the code confirming your new contact is {code}. "
        "It expires in {minutes} min.",
    },
}
_CODE_SUBJECT: dict[CodePurpose, dict[Language, str]] = {
    "sign_in": {
        "ar": "رمز الدخول إلى مرفق",
        "fr": "Votre code de connexion Marfiq",
        "en": "Your Marfiq sign-in code",
    },
    "contact_change": {
        "ar": "تأكيد عنوان بريدك الإلكتروني على مرفق",
        "fr": "Confirmez votre adresse e-mail sur Marfiq",
        "en": "Confirm your e-mail address on Marfiq",
    },
}
_EMAIL_FOOTER: dict[Language, str] = {
    "ar": "إذا لم تطلب هذا الرمز، تجاهل هذه الرسالة. لن يطلب منك موظفو الإدارة هذا الرمز أبدًا.",
    "fr": "Si vous n'avez pas demandé ce code, ignorez ce message. "
    "Aucun agent ne vous le demandera jamais.",
    "en": "If you did not ask for this code, ignore this message. "
    "No official will ever ask you for it.",
}


def code_message(
    *,
    channel: Channel,
    to: str,
    code: str,
    language: Language,
    ttl_s: int,
    purpose: CodePurpose = "sign_in",
) -> Message:
    """The message carrying a one-time code."""
    minutes = max(1, ttl_s // 60)
    text = _CODE_SMS[purpose][language].format(code=code, minutes=minutes)
    if channel == "email":
        text = f"{text}\n\n{_EMAIL_FOOTER[language]}"
    return Message(
        channel=channel,
        to=to,
        subject=_CODE_SUBJECT[purpose][language],
        text=text,
        language=language,
        secret=True,
    )


# Notifications other services ask for (`identity.notification.requested`), by kind.
_NOTICES: dict[str, dict[Language, tuple[str, str]]] = {
    "complaints.status_changed": {
        "ar": ("تحديث شكايتك", "مرفق: شكايتك رقم {tracking_number} أصبحت في حالة: {status}."),
        "fr": (
            "Votre réclamation a évolué",
            "Marfiq : votre réclamation {tracking_number} est maintenant : {status}.",
        ),
        "en": (
            "Your complaint was updated",
            "Marfiq: your complaint {tracking_number} is now: {status}.",
        ),
    },
    # For agents: complaints-service names the assigned agent, or identity finds the
    # supervisors of the administration an escalation is for.
    "complaints.assigned": {
        "ar": (
            "شكاية أسندت إليك",
            "مرفق: أسندت إليك الشكاية رقم {tracking_number}. آخر أجل للجواب: {due_date}.",
        ),
        "fr": (
            "Une réclamation vous est confiée",
            "Marfiq : la réclamation {tracking_number} vous est confiée. "
            "Réponse attendue au plus tard le {due_date}.",
        ),
        "en": (
            "A complaint was assigned to you",
            "Marfiq: complaint {tracking_number} was assigned to you. Answer due by {due_date}.",
        ),
    },
    "complaints.reminder_due": {
        "ar": (
            "تذكير: أجل الجواب يقترب",
            "مرفق: ينتهي أجل الجواب عن الشكاية رقم {tracking_number} في {due_date}.",
        ),
        "fr": (
            "Rappel : échéance de réponse proche",
            "Marfiq : la réponse à la réclamation {tracking_number} est due le {due_date}.",
        ),
        "en": (
            "Reminder: an answer falls due soon",
            "Marfiq: the answer to complaint {tracking_number} is due on {due_date}.",
        ),
    },
    "complaints.overdue": {
        "ar": (
            "شكاية تجاوزت الأجل",
            "مرفق: تجاوزت الشكاية رقم {tracking_number} الأجل القانوني ({due_date}).",
        ),
        "fr": (
            "Réclamation en retard",
            "Marfiq : la réclamation {tracking_number} a dépassé son échéance ({due_date}).",
        ),
        "en": (
            "Complaint overdue",
            "Marfiq: complaint {tracking_number} is past its due date ({due_date}).",
        ),
    },
    "complaints.escalated": {
        "ar": (
            "تصعيد: شكاية متأخرة في إدارتك",
            "مرفق: الشكاية رقم {tracking_number} متأخرة منذ {overdue_since} "
            "(الأجل: {due_date}). يرجى التدخل.",
        ),
        "fr": (
            "Escalade : réclamation en retard dans votre administration",
            "Marfiq : la réclamation {tracking_number} est en retard depuis le "
            "{overdue_since} (échéance : {due_date}). Merci d'intervenir.",
        ),
        "en": (
            "Escalation: an overdue complaint in your administration",
            "Marfiq: complaint {tracking_number} has been overdue since {overdue_since} "
            "(due {due_date}). Please step in.",
        ),
    },
    "correspondence.status_changed": {
        "ar": ("تحديث مراسلتك", "مرفق: مراسلتك رقم {registration_number} أصبحت في حالة: {status}."),
        "fr": (
            "Votre courrier a évolué",
            "Marfiq : votre courrier {registration_number} est maintenant : {status}.",
        ),
        "en": (
            "Your correspondence was updated",
            "Marfiq: your correspondence {registration_number} is now: {status}.",
        ),
    },
    "pensions.bank_account_changed": {
        "ar": (
            "تغيير الحساب البنكي لمعاشك",
            "مرفق: تم تغيير الحساب البنكي الذي يُصرف فيه معاشك. "
            "إذا لم تقم بذلك، اتصل بصندوق التقاعد فورًا.",
        ),
        "fr": (
            "Changement du compte bancaire de votre pension",
            "Marfiq : le compte bancaire de versement de votre pension a été modifié. "
            "Si ce n'est pas vous, contactez immédiatement votre caisse.",
        ),
        "en": (
            "Your pension bank account was changed",
            "Marfiq: the bank account your pension is paid into was changed. "
            "If this was not you, contact your pension fund at once.",
        ),
    },
    "identity.contact_changed": {
        "ar": (
            "تغيير وسيلة الاتصال بحسابك",
            "مرفق: تم تغيير رقم الهاتف أو البريد الإلكتروني لحسابك. إذا لم تكن أنت، اتصل بالدعم.",
        ),
        "fr": (
            "Changement de contact sur votre compte",
            "Marfiq : le numéro ou l'adresse e-mail de votre compte a été changé. "
            "Si ce n'est pas vous, contactez le support.",
        ),
        "en": (
            "A contact of your account was changed",
            "Marfiq: the phone number or e-mail address of your account was changed. "
            "If this was not you, contact support.",
        ),
    },
    "identity.new_sign_in": {
        "ar": (
            "تسجيل دخول جديد إلى حسابك",
            "مرفق: تم تسجيل الدخول إلى حسابك من جهاز جديد. إذا لم تكن أنت، غيّر وسائل اتصالك.",
        ),
        "fr": (
            "Nouvelle connexion à votre compte",
            "Marfiq : une connexion à votre compte a eu lieu depuis un nouvel appareil. "
            "Si ce n'est pas vous, contactez le support.",
        ),
        "en": (
            "New sign-in to your account",
            "Marfiq: your account was signed in to from a new device. "
            "If this was not you, contact support.",
        ),
    },
}
_GENERIC_NOTICE: dict[Language, tuple[str, str]] = {
    "ar": ("إشعار جديد", "مرفق: لديك إشعار جديد. افتح التطبيق للاطلاع عليه."),
    "fr": (
        "Nouvelle notification",
        "Marfiq : vous avez une nouvelle notification dans l'application.",
    ),
    "en": ("New notification", "Marfiq: you have a new notification in the app."),
}


class _Params(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "—"  # a parameter the producer left out never breaks the message


def notice_texts(
    kind: str, params: Mapping[str, str | Mapping[str, str]], language: Language
) -> tuple[str, str]:
    """Subject and text of a notification of `kind`, in `language`."""
    subject, template = _NOTICES.get(kind, _GENERIC_NOTICE)[language]
    values = _Params()
    for name, value in params.items():
        if isinstance(value, str):
            values[name] = value
        else:
            values[name] = value.get(language) or value.get("fr") or next(iter(value.values()), "")
    return subject, template.format_map(values)


def known_kind(kind: str) -> bool:
    return kind in _NOTICES
