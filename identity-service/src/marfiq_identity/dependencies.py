"""Annotated dependencies of the identity service: settings, keys, database, delivery, and
the client's address. All `async def`: FastAPI runs a plain `def` dependency in a worker
thread, a hop that costs more than these lookups themselves."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from ipaddress import IPv4Network, IPv6Network, ip_address
from typing import Annotated

from fastapi import Depends, Request

from marfiq_identity.keys.service import KeyRing
from marfiq_identity.notifications.postman import Postman
from marfiq_identity.otp.codes import CodeHasher
from marfiq_identity.settings import IdentitySettings
from marfiq_shared.db import Database


async def _settings(request: Request) -> IdentitySettings:
    settings: IdentitySettings = request.app.state.settings
    return settings


async def _keyring(request: Request) -> KeyRing:
    keyring: KeyRing = request.app.state.keyring
    return keyring


async def _database(request: Request) -> Database:
    database: Database = request.app.state.db
    return database


async def _postman(request: Request) -> Postman:
    postman: Postman = request.app.state.postman
    return postman


async def _hasher(request: Request) -> CodeHasher:
    hasher: CodeHasher = request.app.state.code_hasher
    return hasher


def client_address(
    peer: str, forwarded_for: str | None, trusted: Sequence[IPv4Network | IPv6Network]
) -> str:
    """The client's address: the peer, unless the peer is a trusted proxy, in which case
    the right-most `X-Forwarded-For` entry that is not itself a trusted proxy.

    Entries left of the first untrusted one were written by the client and prove nothing.
    """
    chain = [part.strip() for part in (forwarded_for or "").split(",") if part.strip()]
    chain.append(peer)
    client = peer
    for entry in reversed(chain):
        try:
            address = ip_address(entry)
        except ValueError:
            break  # garbage from the far side of the last trusted hop: stop at that hop
        client = entry
        if not any(address in network for network in trusted):
            break
    return client[:45]


async def address_of(request: Request) -> str:
    """The address of the client of `request` (see `client_address`)."""
    settings: IdentitySettings = request.app.state.settings
    peer = request.client.host if request.client else "0.0.0.0"  # noqa: S104 (a value, not a bind)
    if not settings.trusted_proxies:
        return peer[:45]
    return client_address(peer, request.headers.get("x-forwarded-for"), settings.trusted_proxies)


async def device_of(request: Request) -> str | None:
    """A digest naming the device: its X-Device-Id (the app's install id), else User-Agent."""
    raw = request.headers.get("x-device-id") or request.headers.get("user-agent")
    if not raw:
        return None
    return hashlib.sha256(raw[:512].encode()).hexdigest()[:32]


Settings = Annotated[IdentitySettings, Depends(_settings)]
Keys = Annotated[KeyRing, Depends(_keyring)]
Db = Annotated[Database, Depends(_database)]
Post = Annotated[Postman, Depends(_postman)]
Hasher = Annotated[CodeHasher, Depends(_hasher)]
ClientAddress = Annotated[str, Depends(address_of)]
Device = Annotated[str | None, Depends(device_of)]
