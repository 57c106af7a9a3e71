"""Why a bank account change is refused, as problems."""

from __future__ import annotations

from marfiq_shared.i18n import register_messages
from marfiq_shared.problems import Conflict, NotFound


class SameAccount(Conflict):
    code = "bank-account-unchanged"


class ChangeNotFound(NotFound):
    code = "bank-account-change-not-found"


class ChangeNotPending(Conflict):
    code = "bank-account-change-not-pending"


register_messages(
    {
        SameAccount.code: {
            "en": "This account is already the one your pension is paid into.",
            "fr": "Ce compte est déjà celui sur lequel votre pension est versée.",
            "ar": "هذا الحساب هو بالفعل الحساب الذي يُصرف فيه معاشك.",
        },
        ChangeNotFound.code: {
            "en": "This bank account change does not exist or is not yours.",
            "fr": "Ce changement de compte bancaire n'existe pas ou ne vous appartient pas.",
            "ar": "تغيير الحساب البنكي هذا غير موجود أو لا يخصك.",
        },
        ChangeNotPending.code: {
            "en": "This change has already taken effect or was withdrawn; it can no longer be "
            "cancelled.",
            "fr": "Ce changement a déjà pris effet ou a été retiré ; il ne peut plus être annulé.",
            "ar": "هذا التغيير دخل حيز التنفيذ أو سُحب؛ لم يعد بالإمكان إلغاؤه.",
        },
    }
)
