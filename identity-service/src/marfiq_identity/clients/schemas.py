"""Requests and answers about partner clients."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Scope = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9_-]*:[a-z][a-z0-9_.-]*$", max_length=64),
    Field(examples=["pensions:declare"]),
]


class ClientCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[
        str,
        StringConstraints(
            strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$"
        ),
    ]
    scopes: list[Scope] = Field(min_length=1, max_length=20)


class ClientRead(BaseModel):
    """A client as listed: never its secret."""

    model_config = ConfigDict(from_attributes=True)

    client_id: str
    administration_id: uuid.UUID
    name: str
    scopes: list[str]
    created_at: datetime
    secret_rotated_at: datetime
    previous_secret_expires_at: datetime | None = None
    revoked_at: datetime | None = None


class ClientCreated(ClientRead):
    """The answer to a creation: the secret, shown this once (absent on an idempotent
    replay, since it is not kept)."""

    client_secret: str | None = None


class ClientSecretRead(BaseModel):
    """A new secret, shown once; the previous one works until `previous_secret_expires_at`."""

    client_id: str
    client_secret: str
    previous_secret_expires_at: datetime | None
