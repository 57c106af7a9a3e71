"""Typed refusals of eID sign-in that belong to the sign-in flow, not to the chip."""

from __future__ import annotations

from marfiq_shared.problems import Conflict, ValidationFailed

MESSAGES = {
    "eid-no-cin": {
        "en": "This document carries no Moroccan national identity number.",
        "fr": "Ce document ne porte pas de numéro de carte nationale marocaine.",
        "ar": "هذه الوثيقة لا تحمل رقم البطاقة الوطنية المغربية.",
    },
    "cin-mismatch": {
        "en": "This account is already tied to another identity.",
        "fr": "Ce compte est déjà rattaché à une autre identité.",
        "ar": "هذا الحساب مرتبط بهوية أخرى.",
    },
}


class EidNoCin(ValidationFailed):
    code = "eid-no-cin"


class CinMismatch(Conflict):
    code = "cin-mismatch"
