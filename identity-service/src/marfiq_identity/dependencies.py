"""Annotated dependencies of the identity service: its settings and its key ring."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from marfiq_identity.keys.service import KeyRing
from marfiq_identity.settings import IdentitySettings


def _settings(request: Request) -> IdentitySettings:
    settings: IdentitySettings = request.app.state.settings
    return settings


def _keyring(request: Request) -> KeyRing:
    keyring: KeyRing = request.app.state.keyring
    return keyring


Settings = Annotated[IdentitySettings, Depends(_settings)]
Keys = Annotated[KeyRing, Depends(_keyring)]
