"""Certificates: affiliation and pension certificates as signed PDFs (PAdES) with a QR code
to the platform's verification page, announced to the document registry."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_pensions.affiliates.models import Affiliate, AffiliateStatus
from marfiq_pensions.careers.service import career_of
from marfiq_pensions.certificates import repository
from marfiq_pensions.certificates.errors import CertificateNotAvailable, CertificateNotFound
from marfiq_pensions.certificates.models import Certificate, CertificateType
from marfiq_pensions.certificates.rendering import Holder, certificate_spec
from marfiq_pensions.certificates.schemas import CertificateIssued
from marfiq_pensions.settings import PensionsSettings
from marfiq_shared.auth import Acr, Principal
from marfiq_shared.documents import (
    DocumentSpec,
    PlatformPki,
    SigningIdentity,
    new_code,
    normalise_code,
    render_pdf,
    sign_pdf,
)
from marfiq_shared.events.catalogue import PensionCertificateIssued
from marfiq_shared.events.outbox import add_event
from marfiq_shared.problems import StepUpRequired

REQUIRED_ACR: Acr = "substantial"
SIGNER = "pensions-fund"


def verification_url(settings: PensionsSettings, code: str) -> str:
    return f"{settings.public_base_url.rstrip('/')}/v1/documents/{code}"


def download_url(code: str) -> str:
    return f"/v1/pensions/me/certificates/{code}"


def fund_identity(pki: PlatformPki, settings: PensionsSettings) -> SigningIdentity:
    """The fund's signing key and certificate, issued by the platform's CA. Blocking."""
    return pki.identity(SIGNER, common_name=settings.fund_name_fr[:64], organisational_unit="CR")


def _draw_and_sign(spec: DocumentSpec, identity: SigningIdentity, reason: str) -> bytes:
    return sign_pdf(render_pdf(spec).pdf, identity, reason=reason)


def _issued(certificate: Certificate, settings: PensionsSettings) -> CertificateIssued:
    return CertificateIssued(
        code=certificate.code,
        url=download_url(certificate.code),
        verification_url=verification_url(settings, certificate.code),
        type=CertificateType(certificate.type),
        sha256=certificate.sha256,
        issued_at=certificate.issued_at,
    )


async def issue(
    session: AsyncSession,
    *,
    holder: Principal,
    affiliate: Affiliate,
    kind: CertificateType,
    pki: PlatformPki,
    settings: PensionsSettings,
    now: datetime,
) -> CertificateIssued:
    """Draw, sign and keep a certificate; the registry learns of it by an event."""
    if not holder.has_acr(REQUIRED_ACR):
        raise StepUpRequired(REQUIRED_ACR, "certificates are issued to strongly signed-in people")
    if kind is CertificateType.PENSION and (
        affiliate.status != AffiliateStatus.RETIRED
        or affiliate.monthly_pension is None
        or affiliate.pension_start is None
    ):
        raise CertificateNotAvailable(
            "no pension is paid on this file yet", certificate_type=kind.value
        )
    career = await career_of(session, affiliate=affiliate)
    code = new_code()
    spec = certificate_spec(
        kind,
        Holder(
            full_name=" ".join(filter(None, (affiliate.last_name, affiliate.first_name))) or "—",
            cin=affiliate.cin,
            affiliation_number=affiliate.affiliation_number,
            birth_date=affiliate.birth_date,
            regime=affiliate.regime,
            status=affiliate.status,
            affiliated_since=career.periods[0].start if career.periods else None,
            months_of_service=career.months,
            pension_start=affiliate.pension_start,
            monthly_pension=affiliate.monthly_pension,
        ),
        issuer_fr=settings.fund_name_fr,
        issuer_ar=settings.fund_name_ar,
        code=code,
        url=verification_url(settings, code),
        issued_at=now,
    )
    identity = await asyncio.to_thread(fund_identity, pki, settings)
    reason = f"{spec.title_fr} {affiliate.affiliation_number}"
    # Drawing and signing take a CPU's tens of milliseconds: off the event loop.
    pdf = await asyncio.to_thread(_draw_and_sign, spec, identity, reason)
    certificate = Certificate(
        code=code,
        affiliate_id=affiliate.id,
        type=kind.value,
        issued_at=now,
        sha256=hashlib.sha256(pdf).hexdigest(),
        size=len(pdf),
        pdf=pdf,
        requested_by=holder.sub,
        session_id=holder.sid,
    )
    repository.add(session, certificate)
    await add_event(
        session,
        PensionCertificateIssued(
            code=code,
            certificate_type=kind.value,
            affiliate_cin=affiliate.cin,
            sha256=certificate.sha256,
            issued_at=now,
            issuer_administration_id=settings.fund_administration_id,
            issuer_name_fr=settings.fund_name_fr,
            issuer_name_ar=settings.fund_name_ar,
        ),
        subject=code,
    )
    await session.flush()
    return _issued(certificate, settings)


async def list_certificates(
    session: AsyncSession, *, affiliate: Affiliate, settings: PensionsSettings
) -> list[CertificateIssued]:
    return [
        _issued(certificate, settings)
        for certificate in await repository.of_affiliate(session, affiliate.id)
    ]


async def certificate_pdf(session: AsyncSession, *, affiliate: Affiliate, code: str) -> bytes:
    """The signed PDF of one of the affiliate's certificates."""
    canonical = normalise_code(code)
    certificate = await repository.get(session, canonical) if canonical else None
    if certificate is None or certificate.affiliate_id != affiliate.id:
        raise CertificateNotFound()
    return certificate.pdf
