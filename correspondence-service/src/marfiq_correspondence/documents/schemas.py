"""What the public verification answers."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints


class Issuer(BaseModel):
    administration_id: uuid.UUID | None
    name_fr: str
    name_ar: str


class DocumentVerification(BaseModel):
    """What anyone holding a document may learn about it from its code (nothing personal)."""

    code: str
    kind: Literal["receipt", "answer", "certificate"]
    reference: str = Field(description="Registration number, or certificate type")
    issuer: Issuer
    issued_at: datetime
    sha256: str | None = Field(description="Of the signed PDF: compare with your copy's")
    size: int | None
    signed_by: str | None = Field(description="Subject of the signing certificate")
    status: Literal["valid", "revoked"]
    revoked_at: datetime | None = None
    revocation_reason: str | None = None


class SignatureReport(BaseModel):
    valid: bool
    signed: bool
    intact: bool
    trusted: bool
    covers_whole_file: bool
    signer: str | None
    signed_at: datetime | None
    problem: str | None


class CopyCheck(BaseModel):
    """The verdict on a copy someone holds: the registry's record, the copy's hash, and
    what pyHanko's validator says of its signature."""

    model_config = ConfigDict(from_attributes=True)

    code: str
    verdict: Literal["valid", "revoked", "altered", "unsigned", "untrusted"]
    matches_registry: bool = Field(description="The copy's SHA-256 is the registered one")
    sha256: str
    registered_sha256: str | None
    signature: SignatureReport
    document: DocumentVerification


class Revocation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
