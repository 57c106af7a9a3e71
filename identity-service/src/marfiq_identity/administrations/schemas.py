"""Requests and answers of the administrations directory."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from marfiq_identity.administrations.models import AdministrationKind
from marfiq_shared.pagination import Page

_ARABIC_LETTER = re.compile(r"[\u0620-\u064a\u066e-\u06d3\u06fa-\u06ff]")


def _has_arabic(value: str) -> str:
    if not _ARABIC_LETTER.search(value):
        raise ValueError("the Arabic name must be written in Arabic script")
    return value


Code = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_upper=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{1,31}$"
    ),
    Field(description="Stable short code, e.g. MEF, CNSS, COM-RABAT", examples=["MEF"]),
]
# No control characters; surrounding blanks are dropped; an empty name is refused.
Name = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=300, pattern=r"^[^\x00-\x1f\x7f]+$"
    ),
]
NameAr = Annotated[Name, AfterValidator(_has_arabic)]


class AdministrationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Code
    name_ar: NameAr = Field(examples=["وزارة الاقتصاد والمالية"])
    name_fr: Name = Field(examples=["Ministère de l'Économie et des Finances"])
    kind: AdministrationKind
    parent_id: uuid.UUID | None = None


class AdministrationUpdate(BaseModel):
    """Fields left out stay as they are; `parent_id: null` detaches from the parent.

    The code is the stable key partners and other services hold, so it cannot change.
    """

    model_config = ConfigDict(extra="forbid")

    name_ar: NameAr | None = None
    name_fr: Name | None = None
    kind: AdministrationKind | None = None
    parent_id: uuid.UUID | None = None
    active: bool | None = None


class AdministrationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    code: str
    name_ar: str
    name_fr: str
    kind: AdministrationKind
    parent_id: uuid.UUID | None
    active: bool
    version: int
    created_at: datetime
    updated_at: datetime


class AdministrationPage(Page[AdministrationRead]):
    pass
