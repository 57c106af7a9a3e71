"""Typed refusals of the code flows."""

from __future__ import annotations

import math
from datetime import datetime

from marfiq_identity.transactions import KeptRefusal
from marfiq_shared.problems import BadRequest, Forbidden, Problem, RateLimited

MESSAGES = {
    "otp-invalid": {
        "en": "The code is wrong.",
        "fr": "Le code est erroné.",
        "ar": "الرمز غير صحيح.",
    },
    "otp-expired": {
        "en": "This code is no longer valid; ask for a new one.",
        "fr": "Ce code n'est plus valable ; demandez-en un nouveau.",
        "ar": "هذا الرمز لم يعد صالحًا، اطلب رمزًا جديدًا.",
    },
    "otp-attempts-exhausted": {
        "en": "Too many wrong codes for this request; ask for a new code.",
        "fr": "Trop de codes erronés pour cette demande ; demandez un nouveau code.",
        "ar": "عدد كبير من الرموز الخاطئة لهذا الطلب، اطلب رمزًا جديدًا.",
    },
    "otp-throttled": {
        "en": "Too many wrong codes for this contact; try again later.",
        "fr": "Trop de codes erronés pour ce contact ; réessayez plus tard.",
        "ar": "عدد كبير من الرموز الخاطئة لوسيلة الاتصال هذه، أعد المحاولة لاحقًا.",
    },
    "otp-resend-too-soon": {
        "en": "A code was just sent; wait a moment before asking for another.",
        "fr": "Un code vient d'être envoyé ; patientez avant d'en demander un autre.",
        "ar": "تم إرسال رمز للتو، انتظر قليلًا قبل طلب رمز آخر.",
    },
    "otp-send-limit": {
        "en": "Too many codes were requested; try again later.",
        "fr": "Trop de codes ont été demandés ; réessayez plus tard.",
        "ar": "تم طلب عدد كبير من الرموز، أعد المحاولة لاحقًا.",
    },
    "channel-unavailable": {
        "en": "Codes cannot be sent on this channel at the moment.",
        "fr": "Les codes ne peuvent pas être envoyés par ce canal pour le moment.",
        "ar": "لا يمكن إرسال الرموز عبر هذه القناة حاليًا.",
    },
    "account-disabled": {
        "en": "This account is disabled.",
        "fr": "Ce compte est désactivé.",
        "ar": "هذا الحساب معطل.",
    },
}


def _retry_after(until: datetime, now: datetime) -> dict[str, str]:
    return {"Retry-After": str(max(1, math.ceil((until - now).total_seconds())))}


class _Throttle(RateLimited):
    def __init__(self, *, until: datetime, now: datetime) -> None:
        super().__init__(headers=_retry_after(until, now))


class WrongCode(KeptRefusal, BadRequest):
    code = "otp-invalid"

    def __init__(self, *, attempts_left: int) -> None:
        super().__init__(attempts_left=attempts_left)


class CodeExpired(BadRequest):
    """Unknown, expired or already used: to the client, all mean "ask for a new code"."""

    code = "otp-expired"


class AttemptsExhausted(RateLimited):
    code = "otp-attempts-exhausted"


class Throttled(_Throttle):
    code = "otp-throttled"


class ResendTooSoon(_Throttle):
    code = "otp-resend-too-soon"


class SendLimitReached(_Throttle):
    code = "otp-send-limit"


class ChannelUnavailable(Problem):
    status, code = 503, "channel-unavailable"


class AccountDisabled(Forbidden):
    code = "account-disabled"
