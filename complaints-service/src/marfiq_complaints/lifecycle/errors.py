"""Typed errors of the lifecycle, rendered as RFC 9457 problems with localised titles."""

from __future__ import annotations

from marfiq_shared.i18n import register_messages
from marfiq_shared.problems import Conflict, Forbidden, ValidationFailed

# Codes carry the "complaint-" prefix because message keys are one platform-wide registry
# and other services have lifecycles of their own.


class IllegalTransition(Conflict):
    code = "complaint-illegal-transition"


class ActorNotAllowed(Forbidden):
    code = "complaint-action-forbidden"


class FieldInvalid(ValidationFailed):
    """A 422 that names the body field at fault, shaped like the platform's validation errors."""

    def __init__(self, field: str, message: str) -> None:
        error = {"field": field, "in": "body", "message": message, "code": self.code}
        super().__init__(message, errors=[error])


class ReasonRequired(FieldInvalid):
    code = "complaint-reason-required"


class AssigneeRequired(FieldInvalid):
    code = "complaint-assignee-required"


class InvalidRedirectTarget(FieldInvalid):
    code = "complaint-redirect-target-invalid"


class InvalidRating(FieldInvalid):
    code = "complaint-rating-invalid"


class UrgencyNotApplicable(FieldInvalid):
    code = "complaint-urgency-not-applicable"


class AlreadyExtended(Conflict):
    code = "complaint-already-extended"


class ExtensionTooLate(Conflict):
    code = "complaint-extension-too-late"


class ReopenWindowClosed(Conflict):
    code = "complaint-reopen-window-closed"


class ReopenLimitReached(Conflict):
    code = "complaint-reopen-limit-reached"


class ReopenWindowOpen(Conflict):
    code = "complaint-reopen-window-open"


class AlreadyRated(Conflict):
    code = "complaint-already-rated"


MESSAGES: dict[str, dict[str, str]] = {
    IllegalTransition.code: {
        "en": "This step is not possible in the complaint's current state.",
        "fr": "Cette étape n'est pas possible dans l'état actuel de la réclamation.",
        "ar": "هذه الخطوة غير ممكنة في الحالة الحالية للشكاية.",
    },
    ActorNotAllowed.code: {
        "en": "You are not allowed to take this step on this complaint.",
        "fr": "Vous n'êtes pas autorisé à effectuer cette étape sur cette réclamation.",
        "ar": "غير مسموح لك بالقيام بهذه الخطوة على هذه الشكاية.",
    },
    ReasonRequired.code: {
        "en": "A reason is required for this step.",
        "fr": "Un motif est requis pour cette étape.",
        "ar": "يجب ذكر السبب للقيام بهذه الخطوة.",
    },
    AssigneeRequired.code: {
        "en": "Say which agent the complaint is assigned to.",
        "fr": "Indiquez l'agent à qui la réclamation est attribuée.",
        "ar": "يجب تحديد الموظف المكلف بالشكاية.",
    },
    InvalidRedirectTarget.code: {
        "en": "Name another administration to redirect the complaint to.",
        "fr": "Indiquez une autre administration vers laquelle réorienter la réclamation.",
        "ar": "يجب تحديد إدارة أخرى لإحالة الشكاية إليها.",
    },
    InvalidRating.code: {
        "en": "The rating must be a whole number from 1 to 5.",
        "fr": "La note doit être un nombre entier de 1 à 5.",
        "ar": "يجب أن يكون التقييم عددًا صحيحًا من 1 إلى 5.",
    },
    UrgencyNotApplicable.code: {
        "en": "Only requests for information can be marked urgent.",
        "fr": "Seules les demandes d'information peuvent être déclarées urgentes.",
        "ar": "طلبات الحصول على المعلومات وحدها يمكن وصفها بالمستعجلة.",
    },
    AlreadyExtended.code: {
        "en": "The answer period has already been extended once.",
        "fr": "Le délai de réponse a déjà été prorogé une fois.",
        "ar": "سبق تمديد أجل الرد مرة واحدة.",
    },
    ExtensionTooLate.code: {
        "en": "The answer period can only be extended before it ends.",
        "fr": "Le délai de réponse ne peut être prorogé qu'avant son expiration.",
        "ar": "لا يمكن تمديد أجل الرد إلا قبل انقضائه.",
    },
    ReopenWindowClosed.code: {
        "en": "The period to reopen this complaint after its answer has ended.",
        "fr": "Le délai pour rouvrir cette réclamation après sa réponse est expiré.",
        "ar": "انقضى أجل إعادة فتح هذه الشكاية بعد الرد عليها.",
    },
    ReopenLimitReached.code: {
        "en": "This complaint cannot be reopened again.",
        "fr": "Cette réclamation ne peut plus être rouverte.",
        "ar": "لم يعد ممكنًا إعادة فتح هذه الشكاية.",
    },
    ReopenWindowOpen.code: {
        "en": "The citizen may still reopen this complaint; it cannot be closed yet.",
        "fr": "Le citoyen peut encore rouvrir cette réclamation : elle ne peut pas être close.",
        "ar": "ما زال بإمكان المواطن إعادة فتح هذه الشكاية، فلا يمكن إغلاقها بعد.",
    },
    AlreadyRated.code: {
        "en": "This answer has already been rated.",
        "fr": "Cette réponse a déjà été notée.",
        "ar": "سبق تقييم هذا الرد.",
    },
}

# Registering is an in-memory dictionary update with no I/O; doing it with the import means
# no route can raise one of these errors before its title exists.
register_messages(MESSAGES)
