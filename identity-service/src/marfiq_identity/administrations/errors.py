"""Typed failures of the administrations directory."""

from __future__ import annotations

from marfiq_shared.problems import Conflict, NotFound, Problem

MESSAGES = {
    "administration-not-found": {
        "en": "This administration does not exist.",
        "fr": "Cette administration n'existe pas.",
        "ar": "هذه الإدارة غير موجودة.",
    },
    "administration-code-taken": {
        "en": "Another administration already uses this code.",
        "fr": "Une autre administration utilise déjà ce code.",
        "ar": "هذا الرمز مستعمل من طرف إدارة أخرى.",
    },
    "parent-administration-not-found": {
        "en": "The parent administration does not exist.",
        "fr": "L'administration de tutelle n'existe pas.",
        "ar": "الإدارة الوصية غير موجودة.",
    },
    "administration-hierarchy-cycle": {
        "en": "An administration cannot be placed under itself or one of its own units.",
        "fr": "Une administration ne peut être placée sous elle-même ni sous l'une de ses entités.",
        "ar": "لا يمكن إلحاق إدارة بنفسها أو بإحدى الوحدات التابعة لها.",
    },
    "version-mismatch": {
        "en": "The administration was changed meanwhile; reload it and try again.",
        "fr": "L'administration a été modifiée entre-temps ; rechargez-la et réessayez.",
        "ar": "تم تعديل الإدارة في هذه الأثناء؛ أعد تحميلها ثم حاول مجددًا.",
    },
}


class AdministrationNotFound(NotFound):
    code = "administration-not-found"


class AdministrationCodeTaken(Conflict):
    code = "administration-code-taken"


class ParentAdministrationNotFound(Problem):
    status, code = 422, "parent-administration-not-found"


class AdministrationHierarchyCycle(Problem):
    status, code = 422, "administration-hierarchy-cycle"


class VersionMismatch(Problem):
    status, code = 412, "version-mismatch"
