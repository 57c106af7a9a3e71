"""Why a citizen's own file cannot be reached or changed, as problems."""

from __future__ import annotations

from marfiq_shared.i18n import register_messages
from marfiq_shared.problems import Conflict, NotFound, StepUpRequired


class ProvenCinRequired(StepUpRequired):
    """The token carries no proven CIN: the person must sign in with a stronger method."""

    def __init__(self) -> None:
        super().__init__(
            "substantial",
            "your pension file opens once your identity is proven: sign in with your eID "
            "card, or with a code sent to the phone the fund holds",
        )


class AffiliateNotFound(NotFound):
    """No affiliate holds the caller's CIN (what anyone gets for a file not theirs)."""

    code = "affiliate-not-found"


class BirthDateUnknown(Conflict):
    code = "affiliate-birth-date-unknown"


class AlreadyRetired(Conflict):
    code = "affiliate-already-retired"


register_messages(
    {
        AffiliateNotFound.code: {
            "en": "No pension file is held for your identity card number.",
            "fr": "Aucun dossier de retraite n'est tenu pour votre numéro de CIN.",
            "ar": "لا يوجد ملف تقاعد مرتبط برقم بطاقتك الوطنية.",
        },
        BirthDateUnknown.code: {
            "en": "The fund does not hold your birth date yet; contact it to complete your file.",
            "fr": "La caisse ne détient pas encore votre date de naissance ; contactez-la pour "
            "compléter votre dossier.",
            "ar": "لا يتوفر الصندوق بعد على تاريخ ازديادك؛ اتصل به لإتمام ملفك.",
        },
        AlreadyRetired.code: {
            "en": "Your pension is already paid; a simulation no longer applies.",
            "fr": "Votre pension est déjà servie ; une simulation ne s'applique plus.",
            "ar": "معاشك يُصرف بالفعل؛ لم تعد المحاكاة مجدية.",
        },
    }
)
