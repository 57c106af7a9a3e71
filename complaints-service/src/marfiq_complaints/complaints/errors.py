"""Typed failures of the complaints API, rendered as RFC 9457 problems."""

from __future__ import annotations

from marfiq_complaints.lifecycle import FieldInvalid
from marfiq_shared.i18n import register_messages
from marfiq_shared.problems import Forbidden, NotFound, Problem


class ComplaintNotFound(NotFound):
    """Also what a caller gets for a complaint that exists but is not theirs to see."""

    code = "complaint-not-found"


class AdministrationUnknown(FieldInvalid):
    code = "complaint-administration-unknown"


class VersionMismatch(Problem):
    status, code = 412, "complaint-version-mismatch"


class NotAComplaintsParty(Forbidden):
    """The caller is neither a citizen nor acting for an administration with the scope."""

    code = "complaint-caller-not-allowed"


MESSAGES: dict[str, dict[str, str]] = {
    ComplaintNotFound.code: {
        "en": "This complaint does not exist or is not yours to see.",
        "fr": "Cette réclamation n'existe pas ou ne vous est pas accessible.",
        "ar": "هذه الشكاية غير موجودة أو لا يحق لك الاطلاع عليها.",
    },
    AdministrationUnknown.code: {
        "en": "This administration is not in the directory or no longer receives complaints.",
        "fr": "Cette administration n'est pas dans l'annuaire ou ne reçoit plus de réclamations.",
        "ar": "هذه الإدارة غير موجودة في الدليل أو لم تعد تتلقى الشكايات.",
    },
    VersionMismatch.code: {
        "en": "The complaint changed meanwhile; reload it and try again.",
        "fr": "La réclamation a changé entre-temps ; rechargez-la et réessayez.",
        "ar": "تغيرت الشكاية في هذه الأثناء؛ أعد تحميلها ثم حاول مجددًا.",
    },
    NotAComplaintsParty.code: {
        "en": "Only citizens, and agents or partner systems of an administration, use this.",
        "fr": "Réservé aux citoyens et aux agents ou systèmes partenaires d'une administration.",
        "ar": "هذه الخدمة مخصصة للمواطنين ولموظفي الإدارات وأنظمتها الشريكة.",
    },
}
register_messages(MESSAGES)
