"""Helpers of the webhook tests: a partner's receiver, its signature check, registering."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from correspondence_support import Service


@dataclass
class Receiver:
    """A partner's HTTP endpoint: records every message with its headers."""

    port: int
    messages: list[dict[str, Any]] = field(default_factory=list)
    fail_with: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/marfiq"

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.messages.append({"headers": dict(request.headers), "body": body})
        return web.Response(status=self.fail_with or 204)

    @asynccontextmanager
    async def listening(self) -> AsyncIterator[None]:
        app = web.Application()
        app.router.add_post("/hooks/marfiq", self.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", self.port)
        await site.start()
        try:
            yield
        finally:
            await runner.cleanup()


def signature_verifies(secret: str, message: dict[str, Any]) -> bool:
    """The receiver's check, written from the Standard Webhooks specification."""
    headers = {key.lower(): value for key, value in message["headers"].items()}
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + message["body"]
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    given = [part.split(",", 1)[1] for part in headers["webhook-signature"].split()]
    return any(hmac.compare_digest(expected, candidate) for candidate in given)


async def register(service: Service, agent: Any, url: str, **extra: Any) -> dict[str, Any]:
    response = await service.client.post(
        "/v1/webhooks", json={"url": url} | extra, headers=agent.headers
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created
