"""Typed failures of identity checks."""

from __future__ import annotations

from marfiq_shared.problems import Conflict, NotFound

MESSAGES = {
    "contact-unknown": {
        "en": "No account signs in with this phone number or e-mail address.",
        "fr": "Aucun compte ne se connecte avec ce numéro ou cette adresse e-mail.",
        "ar": "لا يوجد حساب يسجل الدخول بهذا الرقم أو البريد الإلكتروني.",
    },
    "cin-taken": {
        "en": "This CIN is already proven on another account.",
        "fr": "Ce numéro de CIN est déjà prouvé sur un autre compte.",
        "ar": "رقم البطاقة الوطنية هذا مثبت على حساب آخر.",
    },
}


class ContactUnknown(NotFound):
    code = "contact-unknown"


class CinTaken(Conflict):
    code = "cin-taken"
