"""The services behind the gateway: over HTTP (distributed mode) or in process (embedded.py).

Both kinds answer the same two calls: `forward` streams one client request through and its
answer back, `get` fetches a small document (OpenAPI, liveness) for the gateway itself.
Over HTTP, `forward` uses the gateway's own HTTP/1.1 client (http1.py, for CPU) and `get`
uses aiohttp.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from urllib.parse import quote

import aiohttp
from prometheus_client import Counter
from starlette.types import Receive, Scope, Send
from yarl import URL

from marfiq_gateway.headers import IncomingRequest, response_headers
from marfiq_gateway.http1 import BrokenExchange, ConnectFailed, Http1Pool

RETRIES = Counter(
    "marfiq_gateway_upstream_retries_total",
    "Idempotent requests sent a second time after a connect error",
    ["upstream"],
)
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS"})
# Requests aiohttp sent again when a kept-alive connection proved closed before answering.
_REPLAYABLE = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})
# Without a body, these still announced `Content-Length: 0` under aiohttp; services saw it.
_BODILESS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "CONNECT"})


class UpstreamUnavailable(Exception):
    """The service could not be reached or broke the exchange (502)."""


class UpstreamTimeout(Exception):
    """The service did not answer in time (504)."""


class BodyTooLarge(Exception):
    """The client sent more than the gateway accepts (413)."""


class ClientGone(Exception):
    """The client disconnected before its request was complete; nobody to answer."""


@dataclass(slots=True)
class Exchange:
    """One client request on its way to a service."""

    scope: Scope
    request: IncomingRequest
    max_body: int


class Upstream(Protocol):
    name: str

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def forward(self, exchange: Exchange, receive: Receive, send: Send) -> int:
        """Stream the request through and the answer back; the response status."""
        ...

    async def get(self, path: str, *, within: float) -> tuple[int, bytes]:
        """A small GET on behalf of the gateway itself: status and body."""
        ...


class HttpPool:
    """Connections to the services: a keep-alive pool per service for forwarding (http1),
    one aiohttp session for the gateway's own small GETs."""

    def __init__(
        self,
        *,
        connect_timeout: float,
        read_timeout: float,
        connections_per_host: int,
        keepalive_timeout: float,
    ) -> None:
        self._options = (connect_timeout, read_timeout, connections_per_host, keepalive_timeout)
        self._session: aiohttp.ClientSession | None = None
        self._forwarding: dict[tuple[str, int, bool], Http1Pool] = {}

    def forwarding(self, url: URL) -> Http1Pool:
        """The pool to `url`'s host and port, shared by every upstream there (as aiohttp's
        `limit_per_host` was)."""
        tls = url.scheme == "https"
        key = (url.raw_host or "", url.port or (443 if tls else 80), tls)
        pool = self._forwarding.get(key)
        if pool is None:
            connect, read, per_host, keepalive = self._options
            pool = self._forwarding[key] = Http1Pool(
                key[0],
                key[1],
                tls=tls,
                connect_timeout=connect,
                read_timeout=read,
                limit=per_host,
                keepalive=keepalive,
            )
        return pool

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connect, read, per_host, keepalive = self._options
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=0, limit_per_host=per_host, keepalive_timeout=keepalive
                ),
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=connect, sock_read=read),
                # Bytes pass through untouched, and no header is invented on the way.
                auto_decompress=False,
                skip_auto_headers=("User-Agent", "Accept-Encoding", "Content-Type"),
                # A shared jar would hand one user's cookies to the next user's request.
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return self._session

    async def close(self) -> None:
        for pool in self._forwarding.values():
            pool.close()
        if self._session is not None:
            await self._session.close()
            self._session = None


class BodyCount:
    """Counts request body bytes against the limit while they stream through."""

    __slots__ = ("client_gone", "limit", "received", "too_large")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.received = 0
        self.too_large = False
        self.client_gone = False

    def count(self, size: int) -> None:
        self.received += size
        if self.received > self.limit:
            self.too_large = True
            raise BodyTooLarge


class HttpUpstream:
    """A service reached over HTTP at `base_url`; request and answer stream through."""

    def __init__(self, name: str, base_url: str, pool: HttpPool) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self._pool = pool
        url = URL(self.base_url)
        self._forwarding = pool.forwarding(url)
        self._prefix = url.raw_path.rstrip("/").encode("latin-1")
        # What aiohttp sent as Host: the port only when not the scheme's default.
        self._host = b"\r\nHost: " + (url.host_port_subcomponent or "").encode("latin-1") + b"\r\n"

    async def start(self) -> None:
        self._pool.session  # noqa: B018 - opened inside the running loop

    async def close(self) -> None:
        """Nothing of its own: the shared pool is closed by the gateway."""

    async def forward(self, exchange: Exchange, receive: Receive, send: Send) -> int:
        scope = exchange.scope
        request = exchange.request
        method: str = scope["method"]
        body = BodyCount(exchange.max_body)
        first, more = b"", False
        if request.chunked or (request.content_length or 0) > 0:
            first, more = await _read(receive, body)
        head = self._head(method, scope, request, first, more)
        rest = (lambda: _read(receive, body)) if more else None
        # Chunked towards the service only when the client's body did not come in one piece
        # and it gave no length (aiohttp's choice for a streamed body).
        chunked = more and request.content_length is None
        head_only = method == "HEAD"
        forwarding = self._forwarding
        try:
            try:
                answer = await forwarding.send(
                    head,
                    first,
                    rest,
                    chunked=chunked,
                    head_only=head_only,
                    retry_stale=not more and method in _REPLAYABLE,
                )
            except ConnectFailed:
                # Nothing reached the service, so one more try of a read cannot repeat an
                # effect; writes are never retried here (Idempotency-Key is the client's).
                if method not in _IDEMPOTENT or more:
                    raise
                RETRIES.labels(self.name).inc()
                answer = await forwarding.send(
                    head, first, None, chunked=False, head_only=head_only, retry_stale=True
                )
        except Exception as exc:
            raise _failure(exc, body) from exc
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": answer.status,
                    "headers": response_headers(answer.headers, request.request_id),
                }
            )
            while True:
                chunk, last = await answer.read()
                await send({"type": "http.response.body", "body": chunk, "more_body": not last})
                if last:
                    break
        except BaseException:
            # Half an answer went out; dropping both connections is the only honest end.
            answer.abort()
            raise
        answer.finish()
        return answer.status

    def _head(
        self, method: str, scope: Scope, request: IncomingRequest, first: bytes, more: bool
    ) -> bytes:
        """Request line and headers, as aiohttp wrote them: the services see no difference."""
        raw_path: bytes = scope.get("raw_path") or quote(scope["path"]).encode()
        query: bytes = scope.get("query_string", b"")
        parts = [method.encode("latin-1"), b" ", self._prefix, raw_path]
        if query:
            parts += (b"?", query)
        parts += (b" HTTP/1.1", self._host)
        accept = False
        for name, value in request.headers:
            parts += (name, b": ", value, b"\r\n")
            if name == b"accept":
                accept = True
        if not accept:
            parts.append(b"Accept: */*\r\n")
        if request.content_length is None:
            if more:
                parts.append(b"Transfer-Encoding: chunked\r\n")
            elif first or method not in _BODILESS:
                parts.append(b"Content-Length: %d\r\n" % len(first))
        parts.append(b"\r\n")
        return b"".join(parts)

    async def get(self, path: str, *, within: float) -> tuple[int, bytes]:
        async with self._pool.session.get(
            self.base_url + path, timeout=aiohttp.ClientTimeout(total=within)
        ) as response:
            return response.status, await response.read()


def _failure(exc: Exception, body: BodyCount) -> Exception:
    """What a failed upstream call means for the client; the body's fate comes first."""
    if body.too_large:
        return BodyTooLarge()
    if body.client_gone:
        return ClientGone()
    if isinstance(exc, BodyTooLarge | ClientGone):
        return exc
    if isinstance(exc, ConnectFailed):  # could not even connect, timeout or not
        return UpstreamUnavailable(str(exc))
    if isinstance(exc, TimeoutError):  # ReadTimeout: the service fell silent
        return UpstreamTimeout(str(exc))
    if isinstance(exc, BrokenExchange | OSError | ValueError):
        return UpstreamUnavailable(str(exc) or type(exc).__name__)
    return exc


async def _read(receive: Receive, body: BodyCount) -> tuple[bytes, bool]:
    message = await receive()
    if message["type"] != "http.request":
        body.client_gone = True
        raise ClientGone
    chunk: bytes = message.get("body", b"")
    body.count(len(chunk))
    return chunk, bool(message.get("more_body"))
