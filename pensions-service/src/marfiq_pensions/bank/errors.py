"""Bank account errors, as problems with localised titles."""

from __future__ import annotations

from marfiq_shared.i18n import register_messages
from marfiq_shared.problems import ValidationFailed


class InvalidRib(ValidationFailed):
    code = "invalid-rib"


class InvalidIban(ValidationFailed):
    code = "invalid-iban"


class ForeignIban(ValidationFailed):
    """A well-formed IBAN of another country: pensions are paid to Moroccan accounts only."""

    code = "foreign-iban"


register_messages(
    {
        "invalid-rib": {
            "en": "The RIB is invalid: 24 digits with a correct control key are expected.",
            "fr": "Le RIB est invalide : 24 chiffres avec une clé de contrôle correcte sont "
            "attendus.",
            "ar": "رقم الحساب البنكي (RIB) غير صالح: يجب أن يتكون من 24 رقمًا بمفتاح تحقق صحيح.",
        },
        "invalid-iban": {
            "en": "The IBAN is invalid.",
            "fr": "L'IBAN est invalide.",
            "ar": "رقم الحساب الدولي (IBAN) غير صالح.",
        },
        "foreign-iban": {
            "en": "Only Moroccan IBANs, starting with MA, are accepted.",
            "fr": "Seuls les IBAN marocains, commençant par MA, sont acceptés.",
            "ar": "لا تُقبل إلا أرقام IBAN المغربية التي تبدأ بـ MA.",
        },
    }
)
