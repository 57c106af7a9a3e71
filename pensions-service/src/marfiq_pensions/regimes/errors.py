"""Errors of the regimes' rules, rendered as RFC 9457 problems with localised titles."""

from __future__ import annotations

from marfiq_shared.i18n import register_messages
from marfiq_shared.problems import ValidationFailed


class RegimeNotInForce(ValidationFailed):
    """No parameter set of the regime covers the date asked for."""

    code = "regime-not-in-force"


class InvalidCareer(ValidationFailed):
    """Career periods that cannot be counted: misaligned, overlapping, negative, too many days."""

    code = "invalid-career"


class InvalidSalary(ValidationFailed):
    code = "invalid-salary"


register_messages(
    {
        "regime-not-in-force": {
            "en": "No pension rules of this regime are in force for this date.",
            "fr": "Aucune règle de ce régime de retraite n'est en vigueur à cette date.",
            "ar": "لا توجد قواعد سارية لهذا النظام في هذا التاريخ.",
        },
        "invalid-career": {
            "en": "The career data cannot be counted as they are.",
            "fr": "Les données de carrière ne peuvent pas être prises en compte en l'état.",
            "ar": "لا يمكن احتساب بيانات المسار المهني كما هي.",
        },
        "invalid-salary": {
            "en": "The salary is invalid.",
            "fr": "Le salaire est invalide.",
            "ar": "الأجر غير صالح.",
        },
    }
)
