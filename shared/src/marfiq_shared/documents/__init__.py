"""Documents the platform issues: bilingual PDF layout with a verification QR code, PAdES
signatures by identities of the platform's own certificate authority, and their validation.

`issue_pdf` draws and signs in one go: a one-page document in a few milliseconds
(`onepage`), anything longer through fpdf2 and pyHanko (`render_pdf`, then `sign_pdf`).

Typical use, from a worker thread (everything here is blocking and CPU-bound)::

    pki = PlatformPki(settings.pki_dir)
    identity = pki.identity("mef", common_name="Ministère de l'Économie et des Finances")
    signed = issue_pdf(DocumentSpec(...), identity, reason="Réponse au courrier MEF-2026-000123")
    check = verify_pdf(signed, pki.trust_roots())
"""

from marfiq_shared.documents.codes import new_code, normalise_code
from marfiq_shared.documents.layout import (
    DocumentSpec,
    FileLine,
    Fonts,
    Line,
    RenderedDocument,
    find_fonts,
    render_pdf,
)
from marfiq_shared.documents.onepage import DoesNotFit, issue_pdf, render_signed
from marfiq_shared.documents.pki import PkiError, PlatformPki, SigningIdentity, signer_name
from marfiq_shared.documents.signing import SignatureCheck, sign_pdf, verify_pdf

__all__ = [
    "DocumentSpec",
    "DoesNotFit",
    "FileLine",
    "Fonts",
    "Line",
    "PkiError",
    "PlatformPki",
    "RenderedDocument",
    "SignatureCheck",
    "SigningIdentity",
    "find_fonts",
    "issue_pdf",
    "new_code",
    "normalise_code",
    "render_pdf",
    "render_signed",
    "sign_pdf",
    "signer_name",
    "verify_pdf",
]
