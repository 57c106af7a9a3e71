"""Requests and answers about in-person identity checks."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints

Cin = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Za-z]{1,2}[0-9]{1,8}$"),
]


class IdentityCheckCreate(BaseModel):
    """What the agent saw: the person's contact (how they sign in), their CIN, the document."""

    model_config = ConfigDict(extra="forbid")

    contact: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=254)]
    cin: Cin
    document_type: Literal["cin_card", "passport", "residence_permit"] = "cin_card"


class IdentityCheckRead(BaseModel):
    id: uuid.UUID
    account_id: uuid.UUID
    cin: str
    document_type: str
    administration_id: uuid.UUID
    checked_at: datetime
