"""Requests and answers of the code flows."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from marfiq_identity.notifications.messages import Channel

Destination = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=3, max_length=254),
    Field(
        description="Phone number (E.164, or a Moroccan national number such as 0612345678) "
        "or e-mail address",
        examples=["+212612345678"],
    ),
]
Code = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^[0-9]{6}$"),
    Field(description="The six digits received", examples=["123456"]),
]


class OtpRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: Channel
    destination: Destination


class OtpChallengeRead(BaseModel):
    """The same answer whether or not an account exists for the contact."""

    challenge_id: uuid.UUID
    expires_in: int


class OtpVerify(BaseModel):
    model_config = ConfigDict(extra="forbid")

    challenge_id: uuid.UUID
    code: Code
