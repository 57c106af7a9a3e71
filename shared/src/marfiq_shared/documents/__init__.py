"""Documents the platform issues: bilingual PDF layout with a verification QR code, PAdES
signatures by identities of the platform's own certificate authority, and their validation.

Typical use, from a worker thread (everything here is blocking and CPU-bound)::

    pki = PlatformPki(settings.pki_dir)
    identity = pki.identity("mef", common_name="Ministère de l'Économie et des Finances")
    rendered = render_pdf(DocumentSpec(...))
    signed = sign_pdf(rendered.pdf, identity, reason="Réponse au courrier MEF-2026-000123")
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
from marfiq_shared.documents.pki import PkiError, PlatformPki, SigningIdentity, signer_name
from marfiq_shared.documents.signing import SignatureCheck, sign_pdf, verify_pdf

__all__ = [
    "DocumentSpec",
    "FileLine",
    "Fonts",
    "Line",
    "PkiError",
    "PlatformPki",
    "RenderedDocument",
    "SignatureCheck",
    "SigningIdentity",
    "find_fonts",
    "new_code",
    "normalise_code",
    "render_pdf",
    "sign_pdf",
    "signer_name",
    "verify_pdf",
]
