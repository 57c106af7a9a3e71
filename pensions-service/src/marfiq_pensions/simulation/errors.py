"""Why a simulation request cannot be answered, as problems with localised titles."""

from __future__ import annotations

from datetime import date

from marfiq_shared.i18n import register_messages
from marfiq_shared.problems import ValidationFailed


class RetirementDateInPast(ValidationFailed):
    code = "retirement-date-in-past"


class RetirementBeforeMinimumAge(ValidationFailed):
    """The date comes before the regime's pension age; the earliest date is given back."""

    code = "retirement-before-minimum-age"

    def __init__(self, earliest: date) -> None:
        super().__init__(
            f"the pension age is reached on {earliest.isoformat()}",
            earliest_retirement_date=earliest.isoformat(),
        )
        self.earliest = earliest


class InvalidSalaryGrowth(ValidationFailed):
    code = "invalid-salary-growth"


register_messages(
    {
        "retirement-date-in-past": {
            "en": "The retirement date is in the past.",
            "fr": "La date de départ à la retraite est déjà passée.",
            "ar": "تاريخ الإحالة على التقاعد قد مضى.",
        },
        "retirement-before-minimum-age": {
            "en": "The retirement date comes before the pension age.",
            "fr": "La date de départ précède l'âge de la retraite.",
            "ar": "تاريخ الإحالة على التقاعد يسبق سن التقاعد.",
        },
        "invalid-salary-growth": {
            "en": "The salary growth assumption is out of the accepted range.",
            "fr": "L'hypothèse d'évolution du salaire est hors de la plage acceptée.",
            "ar": "فرضية تطور الأجر خارج النطاق المقبول.",
        },
    }
)
