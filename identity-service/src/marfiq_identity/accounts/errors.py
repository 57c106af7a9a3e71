"""Typed failures of the accounts feature."""

from __future__ import annotations

from marfiq_shared.problems import BadRequest, Conflict, NotFound

MESSAGES = {
    "account-not-found": {
        "en": "No account matches this identity.",
        "fr": "Aucun compte ne correspond à cette identité.",
        "ar": "لا يوجد حساب مطابق لهذه الهوية.",
    },
    "contact-taken": {
        "en": "This phone number or e-mail address already belongs to an account.",
        "fr": "Ce numéro ou cette adresse e-mail appartient déjà à un compte.",
        "ar": "رقم الهاتف أو البريد الإلكتروني هذا مرتبط بحساب آخر.",
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


class ContactTaken(Conflict):
    code = "contact-taken"
