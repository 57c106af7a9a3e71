"""The OAuth 2.0 token response."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from marfiq_shared.auth import Acr


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int
    refresh_token: str | None = None
    acr: Acr
