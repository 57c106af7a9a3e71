"""Shapes of certificates on the wire."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from marfiq_pensions.certificates.models import CertificateType


class CertificateCreate(BaseModel):
    type: CertificateType


class CertificateIssued(BaseModel):
    code: str = Field(description="Verification code printed on the certificate")
    url: str = Field(description="Where the signed PDF is downloaded (the holder only)")
    verification_url: str = Field(description="Where anyone checks it: /v1/documents/{code}")
    type: CertificateType
    sha256: str = Field(description="Of the signed PDF")
    issued_at: datetime


class CertificatePage(BaseModel):
    items: list[CertificateIssued]
