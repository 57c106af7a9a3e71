"""The OAuth 2.0 token response."""

from __future__ import annotations

from typing import Literal

from fastapi import Response
from pydantic import BaseModel

from marfiq_shared.auth import Acr


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int
    refresh_token: str | None = None
    acr: Acr


def no_store(response: Response) -> None:
    """Token responses must not be cached anywhere (RFC 6749 §5.1)."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
