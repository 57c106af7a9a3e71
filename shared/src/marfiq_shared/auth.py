"""Access-token verification against the identity service's JWKS, and route guards.

The gateway and every service verify the same way (defence in depth); keys are fetched
asynchronously, cached, and refetched when a token names a `kid` we do not know yet.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from uuid import UUID

import httpx
import jwt
from fastapi import Depends, Request
from jwt import PyJWK

from marfiq_shared.problems import Forbidden, InvalidToken, StepUpRequired, Unauthorized

Acr = Literal["low", "substantial", "high"]
ACR_RANK: dict[str, int] = {"low": 0, "substantial": 1, "high": 2}
ALGORITHMS = ["ES256"]
ACCESS_TOKEN_TYP = "at+jwt"
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub", "jti"]

JwksFetcher = Callable[[], Awaitable[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, as the access token proves it."""

    sub: str
    sid: str | None
    jti: str
    exp: int
    acr: Acr
    amr: tuple[str, ...]
    roles: frozenset[str]
    scope: frozenset[str]
    adm: UUID | None
    cin: str | None

    @property
    def is_citizen(self) -> bool:
        return "citizen" in self.roles

    @property
    def is_agent(self) -> bool:
        return bool(self.roles & {"agent", "supervisor"}) and self.adm is not None

    @property
    def is_client(self) -> bool:
        return "client" in self.roles

    @property
    def is_platform_admin(self) -> bool:
        return "platform_admin" in self.roles

    def has_acr(self, level: Acr) -> bool:
        return ACR_RANK[self.acr] >= ACR_RANK[level]

    @classmethod
    def from_claims(cls, claims: dict[str, Any]) -> Principal:
        try:
            adm = UUID(claims["adm"]) if claims.get("adm") else None
            acr = claims.get("acr", "low")
            if acr not in ACR_RANK:
                raise ValueError(acr)
            scope = claims.get("scope") or ""
            return cls(
                sub=str(claims["sub"]),
                sid=claims.get("sid"),
                jti=str(claims["jti"]),
                exp=int(claims["exp"]),
                acr=acr,
                amr=tuple(claims.get("amr") or ()),
                roles=frozenset(claims.get("roles") or ()),
                scope=frozenset(scope.split() if isinstance(scope, str) else scope),
                adm=adm,
                cin=claims.get("cin"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidToken("malformed claims") from exc


def http_jwks_fetcher(url: str, *, timeout: float = 5.0) -> JwksFetcher:
    """Fetch a JWKS document over HTTP without blocking the event loop."""

    async def fetch() -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=timeout) as client:
            response = await client.get(url)
            response.raise_for_status()
            document: dict[str, Any] = response.json()
            return document

    return fetch


class JwksCache:
    """Signing keys by `kid`; refetched on an unknown `kid`, at most once per interval."""

    def __init__(
        self,
        fetch: JwksFetcher,
        *,
        max_age_s: float = 300.0,
        min_refetch_interval_s: float = 5.0,
    ) -> None:
        self._fetch = fetch
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at = float("-inf")
        self._max_age = max_age_s
        self._min_interval = min_refetch_interval_s
        self._lock = asyncio.Lock()

    async def key(self, kid: str) -> PyJWK | None:
        now = time.monotonic()
        if kid in self._keys and now - self._fetched_at < self._max_age:
            return self._keys[kid]
        # An unknown kid may be a freshly rotated key; refetch, but never faster than the
        # interval so that forged kids cannot turn us into a load generator for identity.
        if now - self._fetched_at >= self._min_interval or now - self._fetched_at >= self._max_age:
            await self._refresh(now)
        return self._keys.get(kid)

    async def _refresh(self, requested_at: float) -> None:
        async with self._lock:
            if self._fetched_at >= requested_at:
                return
            try:
                document = await self._fetch()
            except Exception:
                # Keep serving with the keys we have; a later token retries after the interval.
                self._fetched_at = time.monotonic() - self._max_age + self._min_interval
                return
            keys: dict[str, PyJWK] = {}
            for entry in document.get("keys", []):
                if entry.get("kid") and entry.get("use", "sig") == "sig":
                    try:
                        keys[entry["kid"]] = PyJWK(entry, algorithm="ES256")
                    except jwt.PyJWTError:
                        continue
            self._keys = keys
            self._fetched_at = time.monotonic()


class TokenVerifier:
    """Verify ES256 access tokens: signature, `typ`, `iss`, `aud`, lifetime, required claims."""

    def __init__(
        self,
        jwks: JwksCache,
        *,
        issuer: str,
        audience: str,
        leeway_s: int = 30,
        cache_size: int = 50_000,
    ) -> None:
        self.jwks = jwks
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway_s
        # Verified tokens, by their exact text: a repeated token skips the ECDSA check.
        # Entries are dropped once expired; the dict is cleared when it grows too large.
        self._verified: dict[str, Principal] = {}
        self._cache_size = cache_size

    async def verify(self, token: str) -> Principal:
        cached = self._verified.get(token)
        if cached is not None:
            if cached.exp + self.leeway > time.time():
                return cached
            del self._verified[token]
        principal = await self._verify(token)
        if len(self._verified) >= self._cache_size:
            self._verified.clear()
        self._verified[token] = principal
        return principal

    async def _verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken("malformed token") from exc
        if header.get("alg") not in ALGORITHMS:
            raise InvalidToken("algorithm not accepted")
        if header.get("typ") != ACCESS_TOKEN_TYP:
            raise InvalidToken("not an access token")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise InvalidToken("no key id")
        key = await self.jwks.key(kid)
        if key is None:
            raise InvalidToken("unknown signing key")
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=ALGORITHMS,
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from exc
        return Principal.from_claims(claims)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer …` header, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def current_principal(request: Request) -> Principal:
    """The verified caller; 401 problem when the token is missing or invalid."""
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        raise Unauthorized()
    verifier: TokenVerifier = request.app.state.token_verifier
    principal = await verifier.verify(token)
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


async def require_citizen(principal: CurrentPrincipal) -> Principal:
    if not principal.is_citizen:
        raise Forbidden()
    return principal


async def require_agent(principal: CurrentPrincipal) -> Principal:
    """An agent or a partner client acting for one administration."""
    if principal.adm is None or not (principal.is_agent or principal.is_client):
        raise Forbidden()
    return principal


async def require_platform_admin(principal: CurrentPrincipal) -> Principal:
    if not principal.is_platform_admin:
        raise Forbidden()
    return principal


Citizen = Annotated[Principal, Depends(require_citizen)]
Agent = Annotated[Principal, Depends(require_agent)]
PlatformAdmin = Annotated[Principal, Depends(require_platform_admin)]


def require_acr(level: Acr) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency refusing callers below `level` with a `step-up-required` problem."""

    async def guard(principal: CurrentPrincipal) -> Principal:
        if not principal.has_acr(level):
            raise StepUpRequired(required_acr=level)
        return principal

    return guard


def require_scope(scope: str) -> Callable[[Principal], Awaitable[Principal]]:
    """Machine clients must hold `scope`; people are governed by their roles instead."""

    async def guard(principal: CurrentPrincipal) -> Principal:
        if principal.is_client and scope not in principal.scope:
            raise Forbidden()
        return principal

    return guard
