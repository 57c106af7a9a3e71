"""Typed failures of the accounts feature."""

from __future__ import annotations

from marfiq_shared.problems import BadRequest, NotFound

MESSAGES = {
    "account-not-found": {
        "en": "No account matches this identity.",
        "fr": "Aucun compte ne correspond à cette identité.",
        "ar": "لا يوجد حساب مطابق لهذه الهوية.",
    },
    "invalid-contact": {
        "en": "The phone number or e-mail address is not valid.",
        "fr": "Le numéro de téléphone ou l'adresse e-mail n'est pas valide.",
        "ar": "رقم الهاتف أو عنوان البريد الإلكتروني غير صالح.",
    },
}


class AccountNotFound(NotFound):
    code = "account-not-found"


class InvalidContact(BadRequest):
    status, code = 422, "invalid-contact"
