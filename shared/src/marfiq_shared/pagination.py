"""Cursor pagination: opaque cursors over a stable, indexed sort key."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import Query
from pydantic import BaseModel

from marfiq_shared.problems import BadRequest


class InvalidCursor(BadRequest):
    code = "invalid-cursor"


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list: `next_cursor` is null on the last page."""

    items: list[T]
    next_cursor: str | None = None


Limit = Annotated[int, Query(ge=1, le=200, description="Items per page")]
Cursor = Annotated[str | None, Query(max_length=512, description="Opaque cursor from a page")]


def encode_cursor(position: dict[str, Any]) -> str:
    """An opaque token for the position after the last item of a page."""
    return base64.urlsafe_b64encode(orjson.dumps(position, default=str)).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    """The position a cursor names; a tampered or truncated cursor is a 400 problem."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        position = orjson.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise InvalidCursor() from exc
    if not isinstance(position, dict):
        raise InvalidCursor()
    return position
