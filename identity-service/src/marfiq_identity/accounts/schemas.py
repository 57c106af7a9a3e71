"""What a signed-in user sees of their own account."""

from __future__ import annotations

import uuid

from pydantic import BaseModel

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
