"""Routes of the citizen's certificates: issue one, list them, download one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status

from marfiq_pensions.affiliates.access import MyFile
from marfiq_pensions.certificates import service
from marfiq_pensions.certificates.schemas import (
    CertificateCreate,
    CertificateIssued,
    CertificatePage,
)
from marfiq_pensions.dependencies import Now, Settings
from marfiq_shared.db import Session
from marfiq_shared.documents import PlatformPki

router = APIRouter(prefix="/v1/pensions/me/certificates", tags=["certificates"])


async def _pki(request: Request) -> PlatformPki:
    pki: PlatformPki = request.app.state.pki
    return pki


Pki = Annotated[PlatformPki, Depends(_pki)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CertificateIssued)
async def issue_certificate(
    data: CertificateCreate,
    holder: MyFile,
    session: Session,
    settings: Settings,
    pki: Pki,
    now: Now,
    response: Response,
) -> CertificateIssued:
    """An affiliation or pension certificate, signed (PAdES), with a QR code to its
    verification page `/v1/documents/{code}`. Needs assurance `substantial` or more."""
    issued = await service.issue(
        session,
        holder=holder.principal,
        affiliate=holder.affiliate,
        kind=data.type,
        pki=pki,
        settings=settings,
        now=now,
    )
    response.headers["Location"] = issued.url
    return issued


@router.get("", response_model=CertificatePage)
async def my_certificates(holder: MyFile, session: Session, settings: Settings) -> CertificatePage:
    """The certificates issued to the caller, newest first."""
    items = await service.list_certificates(session, affiliate=holder.affiliate, settings=settings)
    return CertificatePage(items=items)


@router.get(
    "/{code}",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "The signed PDF"}},
)
async def download_certificate(code: str, holder: MyFile, session: Session) -> Response:
    """The signed PDF of one of the caller's certificates."""
    pdf = await service.certificate_pdf(session, affiliate=holder.affiliate, code=code)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="attestation-{code}.pdf"'},
    )
