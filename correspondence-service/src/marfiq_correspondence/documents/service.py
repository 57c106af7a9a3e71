"""The document registry: issuing receipts and answers, and telling anyone whether a
document the platform issued is genuine."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_correspondence.documents import repository
from marfiq_correspondence.documents.errors import DocumentAlreadyRevoked, IssuedDocumentNotFound
from marfiq_correspondence.documents.models import IssuedDocument
from marfiq_correspondence.documents.rendering import answer_spec, receipt_spec
from marfiq_correspondence.documents.schemas import (
    CopyCheck,
    DocumentVerification,
    Issuer,
    SignatureReport,
)
from marfiq_correspondence.settings import CorrespondenceSettings
from marfiq_shared.db import Database
from marfiq_shared.documents import (
    DocumentSpec,
    PlatformPki,
    SigningIdentity,
    issue_pdf,
    new_code,
    normalise_code,
    verify_pdf,
)
from marfiq_shared.events.catalogue import PensionCertificateIssued
from marfiq_shared.storage import PDF, Storage

PLATFORM_SIGNER = "platform"


def verification_url(settings: CorrespondenceSettings, code: str) -> str:
    return f"{settings.public_base_url.rstrip('/')}/v1/documents/{code}"


def storage_key(code: str) -> str:
    return f"documents/{code}.pdf"


def platform_identity(pki: PlatformPki, settings: CorrespondenceSettings) -> SigningIdentity:
    """The registry office's own key (receipts). Blocking."""
    return pki.identity(PLATFORM_SIGNER, common_name=settings.platform_signer_fr[:64])


def administration_identity(pki: PlatformPki, administration: Mapping[str, Any]) -> SigningIdentity:
    """An administration's key and certificate, issued by the platform's CA. Blocking."""
    code = str(administration["code"])
    return pki.identity(
        f"adm-{code}", common_name=str(administration["name_fr"])[:64], organisational_unit=code
    )


class _Signing:
    """Draws and signs a document where the storage calls it, in a worker thread, with the
    signer's identity loaded there too (cached; the first use reads or makes a key); the
    identity is kept for the registry entry."""

    def __init__(
        self, spec: DocumentSpec, reason: str, signer: Callable[[], SigningIdentity]
    ) -> None:
        self._spec = spec
        self._reason = reason
        self._signer = signer
        self._identity: SigningIdentity | None = None

    def __call__(self) -> bytes:
        self._identity = self._signer()
        return issue_pdf(self._spec, self._identity, reason=self._reason)

    @property
    def identity(self) -> SigningIdentity:
        assert self._identity is not None, "read once the document was drawn"
        return self._identity


def receipt_entry(
    *,
    correspondence_id: uuid.UUID,
    recipient: Mapping[str, Any],
    reference: str,
    content: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    """The registry row of a registration's receipt, with a fresh verification code; the
    caller inserts it with the registration. Its PDF is drawn and signed when first asked
    for (`draw_receipt`)."""
    return {
        "code": new_code(),
        "kind": "receipt",
        "issuer_administration_id": recipient["id"],
        "issuer_name_fr": recipient["name_fr"],
        "issuer_name_ar": recipient["name_ar"],
        "issued_at": now,
        "reference": reference,
        "correspondence_id": correspondence_id,
        "content": content,
    }


@dataclass(frozen=True, slots=True)
class DrawnReceipt:
    """A receipt's PDF as it was drawn and stored, and its registry entry's new values."""

    pdf: bytes
    values: dict[str, Any]


async def draw_receipt(
    *,
    database: Database,
    storage: Storage,
    pki: PlatformPki,
    settings: CorrespondenceSettings,
    code: str,
    reference: str,
    content: dict[str, Any],
    now: datetime,
) -> DrawnReceipt | None:
    """Draw, sign and store the receipt `code` and record it in its registry entry, which
    must not have a PDF yet; None when another request recorded one first (ours is then
    removed again: the entry keeps the PDF that was recorded first).

    No lock is held while the PDF is drawn and stored: each attempt stores under a key of
    its own, and the entry takes the first recorded (one conditional UPDATE).
    """
    spec = receipt_spec(content, code=code, url=verification_url(settings, code))
    signing = _Signing(
        spec, f"Accusé de réception {reference}", lambda: platform_identity(pki, settings)
    )
    key = f"documents/{code}-{secrets.token_hex(4)}.pdf"
    # One worker-thread hop for a local folder: drawn, signed, stored.
    stored, pdf = await storage.put_drawn(key, signing, accept={PDF})
    values = {
        "sha256": stored.sha256,
        "size": stored.size,
        "storage_key": stored.key,
        "signed_by": signing.identity.subject[:300],
        "signed_at": now,
    }
    recorded = False
    try:
        recorded = await repository.record_pdf(database, code, values)
    finally:
        if not recorded:
            # Shielded: a cancelled request must still not leave its copy behind.
            await asyncio.shield(storage.delete(stored.key))
    return DrawnReceipt(pdf, values) if recorded else None


async def ensure_receipt(
    *,
    database: Database,
    storage: Storage,
    pki: PlatformPki,
    settings: CorrespondenceSettings,
    code: str,
    now: datetime,
) -> IssuedDocument:
    """The registry entry of `code`, with its PDF drawn, signed and stored if it was a
    receipt not drawn yet."""
    async with database.sessionmaker() as session:
        document = await repository.get(session, code)
    if document is None:
        raise IssuedDocumentNotFound()
    if document.storage_key is not None or document.kind != "receipt":
        return document
    drawn = await draw_receipt(
        database=database,
        storage=storage,
        pki=pki,
        settings=settings,
        code=code,
        reference=document.reference,
        content=document.content,
        now=now,
    )
    if drawn is None:  # drawn meanwhile by another request: the one recorded is the one
        async with database.sessionmaker() as session:
            document = await repository.get(session, code)
        assert document is not None
        return document
    for key, value in drawn.values.items():
        setattr(document, key, value)
    return document


async def issue_answer(
    session: AsyncSession,
    *,
    storage: Storage,
    pki: PlatformPki,
    settings: CorrespondenceSettings,
    correspondence_id: uuid.UUID,
    administration: Mapping[str, Any],
    reference: str,
    content: dict[str, Any],
    now: datetime,
) -> IssuedDocument:
    """Draw an answer, sign it in the administration's name, store it and register it.

    The caller deletes `storage_key(code)` if its transaction does not commit.
    """
    code = new_code()
    content = content | {
        "issuer_fr": administration["name_fr"],
        "issuer_ar": administration["name_ar"],
    }
    spec = answer_spec(content, code=code, url=verification_url(settings, code))
    signing = _Signing(
        spec,
        f"Réponse au courrier {reference}",
        lambda: administration_identity(pki, administration),
    )
    stored, _ = await storage.put_drawn(storage_key(code), signing, accept={PDF})
    values = {
        "code": code,
        "kind": "answer",
        "issuer_administration_id": administration["id"],
        "issuer_name_fr": administration["name_fr"],
        "issuer_name_ar": administration["name_ar"],
        "issued_at": now,
        "reference": reference,
        "correspondence_id": correspondence_id,
        "content": content,
        "sha256": stored.sha256,
        "size": stored.size,
        "storage_key": stored.key,
        "signed_by": signing.identity.subject[:300],
        "signed_at": now,
    }
    await repository.add(session, values)
    return IssuedDocument(**values)


def describe(document: IssuedDocument) -> DocumentVerification:
    """What the public may know of a registry entry."""
    return DocumentVerification(
        code=document.code,
        kind=document.kind,  # type: ignore[arg-type]
        reference=document.reference,
        issuer=Issuer(
            administration_id=document.issuer_administration_id,
            name_fr=document.issuer_name_fr,
            name_ar=document.issuer_name_ar,
        ),
        issued_at=document.issued_at,
        sha256=document.sha256,
        size=document.size,
        signed_by=document.signed_by,
        status="revoked" if document.revoked_at is not None else "valid",
        revoked_at=document.revoked_at,
        revocation_reason=document.revocation_reason,
    )


def canonical_code(raw: str) -> str:
    code = normalise_code(raw)
    if code is None:
        raise IssuedDocumentNotFound()
    return code


def check_copy(document: IssuedDocument, pdf: bytes, pki: PlatformPki) -> CopyCheck:
    """Compare a copy with the registry and validate its signature. Blocking."""
    signature = verify_pdf(pdf, pki.trust_roots())
    matches = document.sha256 is not None and signature.sha256 == document.sha256
    if not signature.signed:
        verdict = "unsigned"
    elif not signature.intact or not signature.covers_whole_file or not matches:
        verdict = "altered"
    elif not signature.trusted or not signature.valid:
        verdict = "untrusted"
    elif document.revoked_at is not None:
        verdict = "revoked"
    else:
        verdict = "valid"
    return CopyCheck(
        code=document.code,
        verdict=verdict,  # type: ignore[arg-type]
        matches_registry=matches,
        sha256=signature.sha256,
        registered_sha256=document.sha256,
        signature=SignatureReport.model_validate(signature.as_dict()),
        document=describe(document),
    )


async def revoke(
    session: AsyncSession,
    *,
    code: str,
    administration_id: uuid.UUID,
    reason: str,
    now: datetime,
) -> DocumentVerification:
    """An administration withdraws a document it issued (an answer sent in error …)."""
    document = await repository.get(session, code, for_update=True)
    if document is None or document.issuer_administration_id != administration_id:
        raise IssuedDocumentNotFound()
    if document.revoked_at is not None:
        raise DocumentAlreadyRevoked()
    document.revoked_at = now
    document.revocation_reason = reason
    await session.flush()
    return describe(document)


async def record_certificate(session: AsyncSession, data: PensionCertificateIssued) -> None:
    """Enter a certificate pensions-service issued; a redelivery changes nothing."""
    code = normalise_code(data.code) or data.code.upper()[:14]
    await repository.add_if_absent(
        session,
        {
            "code": code,
            "kind": "certificate",
            "issuer_administration_id": data.issuer_administration_id,
            "issuer_name_fr": data.issuer_name_fr or "Caisse de retraite",
            "issuer_name_ar": data.issuer_name_ar or "صندوق التقاعد",
            "issued_at": data.issued_at,
            "reference": data.certificate_type[:64],
            "correspondence_id": None,
            # Only what a verifier needs; the CIN stays with the fund.
            "content": {"certificate_type": data.certificate_type},
            "sha256": data.sha256,
            "size": None,
            "storage_key": None,
            "signed_by": data.issuer_name_fr,
            "signed_at": data.issued_at,
        },
    )
