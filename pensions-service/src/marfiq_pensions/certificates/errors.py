"""Why a certificate cannot be issued or fetched, as problems."""

from __future__ import annotations

from marfiq_shared.i18n import register_messages
from marfiq_shared.problems import Conflict, NotFound


class CertificateNotAvailable(Conflict):
    """A pension certificate for someone whose pension is not paid yet."""

    code = "certificate-not-available"


class CertificateNotFound(NotFound):
    code = "certificate-not-found"


register_messages(
    {
        CertificateNotAvailable.code: {
            "en": "This certificate cannot be issued for your file as it stands.",
            "fr": "Cette attestation ne peut pas être délivrée pour votre dossier en l'état.",
            "ar": "لا يمكن تسليم هذه الشهادة لملفك في وضعه الحالي.",
        },
        CertificateNotFound.code: {
            "en": "This certificate does not exist or is not yours.",
            "fr": "Cette attestation n'existe pas ou ne vous appartient pas.",
            "ar": "هذه الشهادة غير موجودة أو لا تخصك.",
        },
    }
)
