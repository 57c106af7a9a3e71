"""Why a retirement cannot be recorded, as problems."""

from __future__ import annotations

from marfiq_shared.i18n import register_messages
from marfiq_shared.problems import Conflict


class NotActive(Conflict):
    """Only an active affiliate retires: a retired or deceased one already left."""

    code = "affiliate-not-active"


register_messages(
    {
        NotActive.code: {
            "en": "This affiliate is no longer active: their retirement cannot be recorded.",
            "fr": "Cet affilié n'est plus en activité : son départ à la retraite ne peut être "
            "enregistré.",
            "ar": "هذا المنخرط لم يعد في حالة نشاط: لا يمكن تسجيل إحالته على التقاعد.",
        },
    }
)
