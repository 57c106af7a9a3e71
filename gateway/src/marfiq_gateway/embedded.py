"""A service app mounted in the gateway's process (embedded mode): no socket, same contract."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from marfiq_gateway.headers import response_headers
from marfiq_gateway.upstreams import (
    BodyCount,
    BodyTooLarge,
    Exchange,
    UpstreamTimeout,
    UpstreamUnavailable,
)

log = logging.getLogger("marfiq.gateway")


class AsgiUpstream:
    """A service app mounted in this process (embedded mode); no socket, same contract."""

    def __init__(
        self, name: str, app: ASGIApp, *, read_timeout: float, manage_lifespan: bool = True
    ) -> None:
        self.name = name
        self.app = app
        self._read_timeout = read_timeout
        self._lifespan = _Lifespan(app) if manage_lifespan else None

    async def start(self) -> None:
        if self._lifespan is not None:
            await self._lifespan.startup()

    async def close(self) -> None:
        if self._lifespan is not None:
            await self._lifespan.shutdown()

    def _scope(self, scope: Scope, headers: list[tuple[bytes, bytes]]) -> Scope:
        child = dict(scope)
        child["headers"] = headers
        # The service sees the state its own lifespan set up, not the gateway's.
        child["state"] = dict(self._lifespan.state) if self._lifespan is not None else {}
        return child

    async def forward(self, exchange: Exchange, receive: Receive, send: Send) -> int:
        request = exchange.request
        body = BodyCount(exchange.max_body)
        status = 0
        completed = False
        deadline: asyncio.Timeout | None = None

        async def guarded_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request" and not body.too_large:
                try:
                    body.count(len(message.get("body", b"")))
                except BodyTooLarge:
                    # The service sees a client that left; the gateway answers 413 for it.
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal status, completed
            if body.too_large and not status:
                return
            if message["type"] == "http.response.start":
                status = message["status"]
                if deadline is not None:
                    deadline.reschedule(None)
                message = {
                    **message,
                    "headers": response_headers(message.get("headers", ()), request.request_id),
                }
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                completed = True
            await send(message)

        try:
            async with asyncio.timeout(self._read_timeout) as deadline:
                await self.app(
                    self._scope(exchange.scope, request.headers), guarded_receive, guarded_send
                )
        except TimeoutError as exc:
            if status:
                raise
            raise UpstreamTimeout(f"{self.name} did not answer") from exc
        except Exception as exc:
            if body.too_large and not status:
                raise BodyTooLarge from exc
            if not status:
                raise UpstreamUnavailable(f"{self.name} failed: {type(exc).__name__}") from exc
            if not completed:
                raise
            # Starlette re-raises after it has sent its own 500: the client has an answer.
            log.warning("upstream raised after answering", extra={"upstream": self.name})
        if body.too_large and not status:
            raise BodyTooLarge
        if not status:
            raise UpstreamUnavailable(f"{self.name} returned no response")
        return status

    async def get(self, path: str, *, within: float) -> tuple[int, bytes]:
        scope: Scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"gateway"), (b"accept", b"application/json")],
            "client": ("127.0.0.1", 0),
            "server": ("gateway", 80),
        }
        status = 0
        chunks: list[bytes] = []
        answered = asyncio.Event()
        sent_request = False

        async def receive() -> Message:
            nonlocal sent_request
            if not sent_request:
                sent_request = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await answered.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    answered.set()

        async with asyncio.timeout(within):
            await self.app(self._scope(scope, scope["headers"]), receive, send)
        return status, b"".join(chunks)


class _Lifespan:
    """Drive an in-process app's lifespan, as a server would (startup, later shutdown)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.state: dict[str, Any] = {}
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[Message | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._supported = True

    async def _run(self) -> None:
        scope: Scope = {
            "type": "lifespan",
            "asgi": {"version": "3.0", "spec_version": "2.0"},
            "state": self.state,
        }
        try:
            await self.app(scope, self._to_app.get, self._from_app.put)
        except Exception:
            self._supported = False
            log.debug("app ended its lifespan with an error", exc_info=True)
        finally:
            await self._from_app.put(None)

    async def startup(self) -> None:
        self._task = asyncio.create_task(self._run())
        await self._to_app.put({"type": "lifespan.startup"})
        message = await self._from_app.get()
        if message is None:
            # No lifespan support (ASGI spec: carry on without it).
            self._task = None
            return
        if message["type"] == "lifespan.startup.failed":
            raise RuntimeError(f"upstream startup failed: {message.get('message', '')}")

    async def shutdown(self) -> None:
        if self._task is None:
            return
        await self._to_app.put({"type": "lifespan.shutdown"})
        message = await self._from_app.get()
        await self._task
        self._task = None
        if message is not None and message["type"] == "lifespan.shutdown.failed":
            log.error("upstream shutdown failed: %s", message.get("message", ""))
