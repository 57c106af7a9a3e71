"""What a signed-in user sees of their own account."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints

from marfiq_identity.accounts.models import AccountKind
from marfiq_shared.auth import Acr
from marfiq_shared.settings import Language


class MeRead(BaseModel):
    sub: str
    kind: AccountKind
    roles: list[str]
    acr: Acr
    amr: list[str]
    cin: str | None = None
    phone: str | None = None
    email: str | None = None
    language: Language
    administration_id: uuid.UUID | None = None


class MeUpdate(BaseModel):
    """Fields left out stay as they are. A new phone or e-mail is only taken once the code
    sent to it is confirmed (`POST /v1/me/contact/verify`)."""

    model_config = ConfigDict(extra="forbid")

    language: Language | None = None
    phone: Annotated[
        str | None, StringConstraints(strip_whitespace=True, min_length=3, max_length=32)
    ] = None
    email: Annotated[
        str | None, StringConstraints(strip_whitespace=True, min_length=3, max_length=254)
    ] = None


class PendingContact(BaseModel):
    """A contact change waiting for the code sent to the new contact."""

    channel: Literal["sms", "email"]
    challenge_id: uuid.UUID
    expires_in: int


class MeUpdated(MeRead):
    pending_contact: PendingContact | None = None


class ContactVerify(BaseModel):
    model_config = ConfigDict(extra="forbid")

    challenge_id: uuid.UUID
    code: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9]{6}$")]
