"""Real HTTP over loopback: tiny upstream servers, a JWKS server, and the gateway itself."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from starlette.types import ASGIApp, Receive, Scope, Send

from marfiq_gateway.app import create_gateway_app
from marfiq_gateway.settings import GatewaySettings
from marfiq_shared.events.inprocess import InProcessTransport
from marfiq_shared.testing import free_port

ISSUER = "https://issuer.test"
AUDIENCE = "marfiq"
OWNERS = ("identity", "correspondence", "complaints", "pensions")
MAX_BODY = 16 * 1024 * 1024


class KeyRing:
    """ES256 signing keys and the JWKS document that publishes them."""

    def __init__(self) -> None:
        self.keys: dict[str, ec.EllipticCurvePrivateKey] = {}
        self.published: list[str] = []
        self.fetches = 0

    def add(self, *, publish: bool = True) -> str:
        kid = uuid.uuid4().hex[:12]
        self.keys[kid] = ec.generate_private_key(ec.SECP256R1())
        if publish:
            self.published.append(kid)
        return kid

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid in self.published:
            jwk = json.loads(ECAlgorithm.to_jwk(self.keys[kid].public_key()))
            keys.append({**jwk, "kid": kid, "use": "sig", "alg": "ES256"})
        return {"keys": keys}

    def token(
        self, kid: str | None = None, *, header: dict[str, Any] | None = None, **claims: Any
    ) -> str:
        kid = kid or self.published[0]
        now = int(time.time())
        payload = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "citizen-1",
            "iat": now,
            "exp": now + 600,
            "jti": uuid.uuid4().hex,
            "sid": "session-1",
            "acr": "low",
            "roles": ["citizen"],
            **claims,
        }
        payload = {key: value for key, value in payload.items() if value is not None}
        return jwt.encode(
            payload,
            self.keys[kid],
            algorithm="ES256",
            headers={"kid": kid, "typ": "at+jwt", **(header or {})},
        )


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class Hooks:
    """Lets a test and an upstream handler wait on each other (same event loop)."""

    first_request_chunk: asyncio.Event = field(default_factory=asyncio.Event)
    client_got_first_chunk: asyncio.Event = field(default_factory=asyncio.Event)


def openapi_of(owner: str) -> dict[str, Any]:
    prefix = {
        "identity": "/v1/me",
        "correspondence": "/v1/correspondence",
        "complaints": "/v1/complaints",
        "pensions": "/v1/pensions/me",
    }[owner]
    return {
        "openapi": "3.1.0",
        "info": {"title": owner, "version": "1"},
        "tags": [{"name": owner}],
        "paths": {
            prefix: {
                "get": {
                    "tags": [owner],
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Item"}
                                }
                            },
                        },
                        "422": {
                            "description": "invalid",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/HTTPValidationError"}
                                }
                            },
                        },
                    },
                }
            },
            "/livez": {"get": {"responses": {"200": {"description": "ok"}}}},
        },
        "components": {
            "schemas": {
                # Same name, different shape in each service: must not overwrite each other.
                "Item": {"type": "object", "properties": {f"{owner}_field": {"type": "string"}}},
                # Same name and shape everywhere: kept once.
                "HTTPValidationError": {"type": "object", "properties": {"detail": {}}},
            }
        },
    }


def echo_app(owner: str, hooks: Hooks) -> ASGIApp:
    """An upstream that answers with what it received; a few paths behave specially."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        path = scope["path"]
        if path == "/openapi.json":
            await _json(send, 200, openapi_of(owner))
            return
        if path.endswith("/slow"):
            await asyncio.sleep(3)
        if path.endswith("/stream-out"):
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"first", "more_body": True})
            await asyncio.wait_for(hooks.client_got_first_chunk.wait(), 5)
            await send({"type": "http.response.body", "body": b"second", "more_body": False})
            return
        digest = hashlib.sha256()
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return
            chunk = message.get("body", b"")
            if chunk:
                hooks.first_request_chunk.set()
            digest.update(chunk)
            size += len(chunk)
            if not message.get("more_body"):
                break
        await _json(
            send,
            200,
            {
                "owner": owner,
                "method": scope["method"],
                "path": path,
                "raw_path": (scope.get("raw_path") or b"").decode("latin-1"),
                "query": scope["query_string"].decode("latin-1"),
                "headers": [
                    [k.decode("latin-1"), v.decode("latin-1")] for k, v in scope["headers"]
                ],
                "body_size": size,
                "body_sha256": digest.hexdigest(),
            },
            extra=[(b"x-upstream", owner.encode()), (b"connection", b"keep-alive")],
        )

    return app


async def _json(
    send: Send, status: int, body: Any, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    raw = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]
    await send(
        {"type": "http.response.start", "status": status, "headers": headers + (extra or [])}
    )
    await send({"type": "http.response.body", "body": raw})


def jwks_app(ring: KeyRing) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        ring.fetches += 1
        await _json(send, 200, ring.jwks())

    return app


class Served:
    """An ASGI app served by uvicorn on a free loopback port, in the test's event loop."""

    def __init__(self, app: ASGIApp, *, lifespan: str = "off") -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app,
            lifespan=lifespan,
            log_level="warning",
            access_log=False,
            proxy_headers=False,
            timeout_graceful_shutdown=1,
        )
        self.server = uvicorn.Server(config)
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(self.server.serve(sockets=[self.socket]))
        while not self.server.started:
            if self.task.done():
                self.task.result()
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        self.server.should_exit = True
        if self.task is not None:
            await self.task
        self.socket.close()


def dead_url() -> str:
    """A loopback URL where nothing listens (a stopped service)."""
    return f"http://127.0.0.1:{free_port()}"


def settings(**overrides: Any) -> GatewaySettings:
    values: dict[str, Any] = {
        "marfiq_issuer": ISSUER,
        "marfiq_audience": AUDIENCE,
        "read_timeout_s": 1.0,
        "connect_timeout_s": 1.0,
        "max_body_bytes": MAX_BODY,
        "jwks_min_refetch_s": 0.2,
        "amqp_url": None,
        **overrides,
    }
    return GatewaySettings(**values)


@dataclass
class Platform:
    """The gateway under test, its upstreams and what the tests need to drive them."""

    url: str
    ring: KeyRing
    hooks: Hooks
    transport: InProcessTransport
    gateway: Any
    client: httpx.AsyncClient

    def auth(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.ring.token()}"}


@pytest.fixture(scope="session")
async def ring() -> KeyRing:
    keys = KeyRing()
    keys.add()
    return keys


@pytest.fixture(scope="session")
async def jwks_url(ring: KeyRing) -> AsyncIterator[str]:
    server = Served(jwks_app(ring))
    await server.start()
    yield server.url + "/.well-known/jwks.json"
    await server.stop()


@pytest.fixture(scope="session")
async def platform(ring: KeyRing, jwks_url: str) -> AsyncIterator[Platform]:
    """Four HTTP upstreams and the gateway in front of them (distributed mode)."""
    hooks = Hooks()
    upstreams = {owner: Served(echo_app(owner, hooks)) for owner in OWNERS}
    for server in upstreams.values():
        await server.start()
    transport = InProcessTransport()
    gateway = create_gateway_app(
        settings(marfiq_jwks_url=jwks_url),
        upstreams={owner: server.url for owner, server in upstreams.items()},
        transport=transport,
    )
    served = Served(gateway, lifespan="on")
    await served.start()
    async with httpx.AsyncClient(base_url=served.url, timeout=10) as client:
        yield Platform(served.url, ring, hooks, transport, gateway, client)
    await served.stop()
    for server in upstreams.values():
        await server.stop()


@pytest.fixture
def timer() -> Callable[[], float]:
    started = time.perf_counter()
    return lambda: time.perf_counter() - started
