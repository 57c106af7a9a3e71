"""Forwarding over the gateway's own HTTP/1.1 client, against a service written by hand.

The service here speaks raw HTTP/1.1 so that each test can see exactly what the gateway
put on the wire and answer in every framing a service may use (length, chunked, until
close, none at all), or misbehave (close a kept-alive connection, stall, send garbage).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from conftest import OWNERS, KeyRing, Served, settings
from prometheus_client import REGISTRY

from marfiq_gateway.app import create_gateway_app
from marfiq_shared.auth import http_jwks_fetcher

OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"


@dataclass
class Seen:
    """One request as it reached the service."""

    head: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes
    connection: int

    def header(self, name: bytes) -> list[bytes]:
        return [value for key, value in self.headers if key.lower() == name]


# Writes the answer to one request; returns whether the connection stays open.
Answer = Callable[[Seen, asyncio.StreamWriter], Awaitable[bool]]


async def answer_ok(seen: Seen, writer: asyncio.StreamWriter) -> bool:
    writer.write(OK + b"Content-Length: 2\r\n\r\nok")
    return True


@dataclass
class RawService:
    """A loopback HTTP/1.1 service: records what arrives, answers with `answer`."""

    answer: Answer = answer_ok
    seen: list[Seen] = field(default_factory=list)
    connections: int = 0
    open_now: int = 0
    most_open: int = 0
    read_body: bool = True
    server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def __aenter__(self) -> RawService:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number = self.connections
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    return
                lines = head[:-4].split(b"\r\n")[1:]
                headers = [tuple(line.split(b": ", 1)) for line in lines]
                seen = Seen(head, headers, b"", number)  # type: ignore[arg-type]
                if self.read_body:
                    seen.body = await _read_body(reader, seen)
                self.seen.append(seen)
                keep = await self.answer(seen, writer)
                await writer.drain()
                if not keep:
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return  # the gateway dropped the connection mid-request
        finally:
            self.open_now -= 1
            writer.close()


async def _read_body(reader: asyncio.StreamReader, seen: Seen) -> bytes:
    if seen.header(b"transfer-encoding") == [b"chunked"]:
        parts = []
        while True:
            size = int((await reader.readline()).strip(), 16)
            parts.append(await reader.readexactly(size + 2))
            if size == 0:
                return b"".join(part[:-2] for part in parts)
    length = seen.header(b"content-length")
    return await reader.readexactly(int(length[0])) if length else b""


@asynccontextmanager
async def gateway_to(
    url: str, jwks_url: str, **overrides: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, int]]:
    """A gateway whose every owner is the service at `url`; its client and its port."""
    app = create_gateway_app(
        settings(marfiq_jwks_url=jwks_url, **overrides),
        upstreams=dict.fromkeys(OWNERS, url),
        jwks_fetcher=http_jwks_fetcher(jwks_url),
    )
    served = Served(app, lifespan="on")
    await served.start()
    try:
        async with httpx.AsyncClient(base_url=served.url, timeout=10) as client:
            yield client, served.port
    finally:
        await served.stop()


async def raw_exchange(port: int, request: bytes) -> bytes:
    """Send `request` as written (no client library adds a header) and read to the end."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    answer = await reader.read()
    writer.close()
    return answer


# --- what the services receive ----------------------------------------------------------


async def test_services_receive_the_request_head_aiohttp_used_to_write(
    jwks_url: str, ring: KeyRing
) -> None:
    bearer = f"Authorization: Bearer {ring.token()}\r\n".encode()
    async with RawService() as service, gateway_to(service.url, jwks_url) as (_, port):
        host = service.url.removeprefix("http://").encode()
        for request, body in (
            (b"GET /v1/pensions/me?a=1&b=%C3%A9 HTTP/1.1\r\n", b""),
            (b"POST /v1/pensions/me HTTP/1.1\r\n", b""),
            (b"DELETE /v1/pensions/me HTTP/1.1\r\n", b""),
            (b"GET /v1/pensions/me HTTP/1.1\r\nAccept: text/html\r\n", b""),
            (b"POST /v1/pensions/me HTTP/1.1\r\nContent-Length: 3\r\n", b"abc"),
        ):
            answer = await raw_exchange(
                port, request + bearer + b"Host: gw\r\nConnection: close\r\n\r\n" + body
            )
            assert answer.startswith(b"HTTP/1.1 200"), answer
            seen = service.seen[-1]
            request_line, host_line = seen.head.split(b"\r\n")[:2]
            assert request_line == request.split(b"\r\n")[0]
            # Host first and the service's own: the client's goes in X-Forwarded-Host.
            assert host_line == b"Host: " + host
            assert seen.header(b"x-forwarded-host") == [b"gw"]
            expected_accept = [b"text/html"] if b"Accept:" in request else [b"*/*"]
            assert seen.header(b"accept") == expected_accept
            # A write without a body still says so; a read does not.
            expected_length = [b"3"] if body else [] if request.startswith(b"GET") else [b"0"]
            assert seen.header(b"content-length") == expected_length
            assert seen.body == body
            assert seen.header(b"connection") == []


async def test_a_chunked_client_body_reaches_the_service_chunked_and_whole(
    jwks_url: str, ring: KeyRing
) -> None:
    async with RawService() as service, gateway_to(service.url, jwks_url) as (client, _):
        # uvicorn hands a chunked body on in pieces, so it goes on chunked (as with aiohttp).
        whole = os.urandom(3 * 1024 * 1024 + 17)

        async def pieces() -> AsyncIterator[bytes]:
            for start in range(0, len(whole), 256 * 1024):
                yield whole[start : start + 256 * 1024]
                await asyncio.sleep(0)

        auth = {"Authorization": f"Bearer {ring.token()}"}
        answer = await client.post("/v1/pensions/me", content=pieces(), headers=auth)
        assert answer.status_code == 200
        seen = service.seen[-1]
        # The body came in several pieces and without a length: chunked on to the service.
        assert seen.header(b"transfer-encoding") == [b"chunked"]
        assert seen.header(b"content-length") == []
        assert hashlib.sha256(seen.body).digest() == hashlib.sha256(whole).digest()


# --- every framing of an answer -----------------------------------------------------------


async def test_every_framing_of_an_answer_reaches_the_client_byte_for_byte(
    jwks_url: str, ring: KeyRing
) -> None:
    payload = os.urandom(700 * 1024)

    async def answer(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        path = seen.head.split(b" ")[1]
        if path.endswith(b"/chunked"):
            writer.write(OK + b"Transfer-Encoding: chunked\r\n\r\n")
            for start in range(0, len(payload), 100_000):
                piece = payload[start : start + 100_000]
                writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            writer.write(b"0\r\n\r\n")
            return True
        if path.endswith(b"/until-close"):
            writer.write(OK + b"Connection: close\r\n\r\n" + payload)
            return False
        if path.endswith(b"/empty"):
            writer.write(b"HTTP/1.1 204 No Content\r\nX-Kind: empty\r\n\r\n")
            return True
        if path.endswith(b"/unchanged"):
            writer.write(b'HTTP/1.1 304 Not Modified\r\nETag: "1"\r\n\r\n')
            return True
        # A HEAD answer announces the length of the body it does not send.
        length = b"Content-Length: %d\r\n\r\n" % len(payload)
        writer.write(OK + length + (b"" if seen.head.startswith(b"HEAD") else payload))
        return True

    auth = {"Authorization": f"Bearer {ring.token()}"}
    async with RawService(answer) as service, gateway_to(service.url, jwks_url) as (client, _):
        for kind in ("chunked", "until-close", "length"):
            response = await client.get(f"/v1/pensions/me/{kind}", headers=auth)
            assert response.status_code == 200, kind
            assert response.content == payload, kind
        head = await client.head("/v1/pensions/me/length", headers=auth)
        assert head.status_code == 200
        assert head.headers["content-length"] == str(len(payload))
        assert head.content == b""
        empty = await client.get("/v1/pensions/me/empty", headers=auth)
        assert (empty.status_code, empty.content, empty.headers["x-kind"]) == (204, b"", "empty")
        unchanged = await client.get("/v1/pensions/me/unchanged", headers=auth)
        assert (unchanged.status_code, unchanged.content) == (304, b"")
        # The connection that carried HEAD, 204 and 304 is still good for a full answer.
        again = await client.get("/v1/pensions/me/length", headers=auth)
        assert again.content == payload
        assert service.seen[-1].connection == service.seen[-4].connection


# --- connection reuse ----------------------------------------------------------------------


async def test_connections_are_kept_alive_until_the_service_says_close(
    jwks_url: str, ring: KeyRing
) -> None:
    async def answer(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        if seen.head.split(b" ")[1].endswith(b"/last"):
            writer.write(OK + b"Connection: close\r\nContent-Length: 4\r\n\r\nlast")
            return False
        return await answer_ok(seen, writer)

    auth = {"Authorization": f"Bearer {ring.token()}"}
    async with RawService(answer) as service, gateway_to(service.url, jwks_url) as (client, _):
        for _ in range(3):
            assert (await client.get("/v1/pensions/me", headers=auth)).text == "ok"
        last = await client.get("/v1/pensions/me/last", headers=auth)
        assert (last.text, "connection" in last.headers) == ("last", False)
        assert (await client.get("/v1/pensions/me", headers=auth)).text == "ok"
        assert [seen.connection for seen in service.seen] == [1, 1, 1, 1, 2]


async def test_a_kept_connection_found_closed_is_retried_once_for_reads_only(
    jwks_url: str, ring: KeyRing
) -> None:
    dropped: set[bytes] = set()

    async def answer(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        method = seen.head.split(b" ")[0]
        if method == b"PATCH" or method in dropped:
            return await answer_ok(seen, writer)
        # The service gave up on this kept-alive connection just as the request came in.
        dropped.add(method)
        return False

    auth = {"Authorization": f"Bearer {ring.token()}"}
    async with RawService(answer) as service, gateway_to(service.url, jwks_url) as (client, _):
        # A PATCH opens the connection and leaves it in the pool.
        assert (await client.patch("/v1/pensions/me", headers=auth)).status_code == 200
        assert (await client.get("/v1/pensions/me", headers=auth)).text == "ok"
        # Seen on the pooled connection (dropped), then again on a fresh one.
        assert [seen.connection for seen in service.seen] == [1, 1, 2]

        assert (await client.patch("/v1/pensions/me", headers=auth)).status_code == 200
        await asyncio.sleep(0.05)
        service.seen.clear()
        # A write is never sent twice: the client learns that the service failed.
        refused = await client.post("/v1/pensions/me", headers=auth, content=b"{}")
        assert refused.status_code == 502
        assert len(service.seen) == 1


async def test_no_more_connections_in_use_than_the_setting_allows(
    jwks_url: str, ring: KeyRing
) -> None:
    async def answer(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(0.1)
        return await answer_ok(seen, writer)

    auth = {"Authorization": f"Bearer {ring.token()}"}
    async with (
        RawService(answer) as service,
        gateway_to(service.url, jwks_url, upstream_connections=2) as (client, _),
    ):
        answers = await asyncio.gather(
            *(client.get("/v1/pensions/me", headers=auth) for _ in range(6))
        )
        assert [answer.text for answer in answers] == ["ok"] * 6
        assert service.most_open == 2
        assert service.connections == 2


# --- flow control ---------------------------------------------------------------------------


async def test_a_service_reading_slowly_holds_the_client_back(jwks_url: str, ring: KeyRing) -> None:
    piece = os.urandom(1024 * 1024)
    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(40):
            sent += len(piece)
            yield piece

    async def answer(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(2)
        return await answer_ok(seen, writer)

    auth = {"Authorization": f"Bearer {ring.token()}"}
    async with (
        RawService(answer, read_body=False) as service,
        gateway_to(service.url, jwks_url, max_body_bytes=64 * len(piece)) as (client, _),
    ):
        upload = asyncio.create_task(client.put("/v1/files/big", content=body(), headers=auth))
        await asyncio.sleep(1.0)
        # The service has read nothing: only socket buffers are filling, not gateway memory.
        assert not upload.done()
        assert sent < 24 * len(piece), sent
        upload.cancel()


async def test_a_client_reading_slowly_holds_the_service_back(jwks_url: str, ring: KeyRing) -> None:
    piece = os.urandom(1024 * 1024)
    written = 0

    async def answer(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        nonlocal written
        writer.write(OK + b"Content-Length: %d\r\n\r\n" % (64 * len(piece)))
        for _ in range(64):
            writer.write(piece)
            await writer.drain()
            written += len(piece)
        return True

    auth = {"Authorization": f"Bearer {ring.token()}"}
    async with RawService(answer) as service, gateway_to(service.url, jwks_url) as (client, _):
        async with client.stream("GET", "/v1/files/big", headers=auth) as response:
            parts = response.aiter_raw()
            received = len(await anext(parts))
            await asyncio.sleep(1.0)
            # 64 MiB ready to go; the gateway lets through what the client's side can hold.
            assert written < 24 * len(piece), written
            digest = hashlib.sha256()
            async for part in parts:
                received += len(part)
                digest.update(part)
        assert received == 64 * len(piece)


# --- failures -------------------------------------------------------------------------------


async def test_a_service_falling_silent_mid_answer_loses_the_client_connection(
    jwks_url: str, ring: KeyRing
) -> None:
    async def answer(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        path = seen.head.split(b" ")[1]
        if b"/stall" in path:
            framing = b"Content-Length: 10" if path.endswith(b"/length") else b"Connection: close"
            writer.write(OK + framing + b"\r\n\r\nhalf")
            await writer.drain()
            await asyncio.sleep(3)
            return False
        return await answer_ok(seen, writer)

    auth = {"Authorization": f"Bearer {ring.token()}"}
    async with RawService(answer) as service, gateway_to(service.url, jwks_url) as (client, _):
        for framing in ("length", "until-close"):
            started = asyncio.get_running_loop().time()
            try:
                await client.get(f"/v1/pensions/me/stall/{framing}", headers=auth)
            except httpx.HTTPError:
                pass
            else:
                raise AssertionError(f"a half answer must not look complete ({framing})")
            # Read timeout is 1 s: the gateway gave up well before the service's 3 s.
            assert asyncio.get_running_loop().time() - started < 2.5
            assert (await client.get("/v1/pensions/me", headers=auth)).text == "ok"
            assert service.seen[-1].connection != service.seen[-2].connection


async def test_an_interim_answer_is_skipped_for_the_final_one(jwks_url: str, ring: KeyRing) -> None:
    async def answer(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>\r\n\r\n")
        return await answer_ok(seen, writer)

    auth = {"Authorization": f"Bearer {ring.token()}"}
    async with RawService(answer) as service, gateway_to(service.url, jwks_url) as (client, _):
        for _ in range(2):
            response = await client.get("/v1/pensions/me", headers=auth)
            assert (response.status_code, response.text) == (200, "ok")
            assert "link" not in response.headers
        assert service.connections == 1


async def test_garbage_or_a_closed_connection_instead_of_an_answer_is_a_502(
    jwks_url: str, ring: KeyRing
) -> None:
    async def answer(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        if seen.head.split(b" ")[1].endswith(b"/garbage"):
            writer.write(b"SMTP ready\r\n\r\n")
        return False

    auth = {"Authorization": f"Bearer {ring.token()}"}
    async with (
        RawService(answer) as service,
        gateway_to(service.url, jwks_url, breaker_threshold=100) as (client, _),
    ):
        for path in ("/v1/pensions/me/garbage", "/v1/pensions/me/closed"):
            response = await client.post(path, headers=auth, content=b"{}")
            assert response.status_code == 502, path
            assert response.json()["type"].endswith("/bad-gateway")


async def test_a_service_not_accepting_connections_is_a_502_after_the_connect_timeout(
    jwks_url: str, ring: KeyRing
) -> None:
    # A listener whose backlog is full: the kernel drops further SYNs, connecting hangs.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    auth = {"Authorization": f"Bearer {ring.token()}"}
    retries = REGISTRY.get_sample_value(
        "marfiq_gateway_upstream_retries_total", {"upstream": "pensions"}
    )
    try:
        options = {"connect_timeout_s": 0.3, "breaker_threshold": 100}
        async with gateway_to(f"http://127.0.0.1:{port}", jwks_url, **options) as (client, _):
            started = asyncio.get_running_loop().time()
            response = await client.get("/v1/pensions/me", headers=auth)
            assert response.status_code == 502
            assert response.json()["type"].endswith("/bad-gateway")
            # Connect timeout, then the one retry of a read: two times 0.3 s, not the read timeout.
            assert 0.55 < asyncio.get_running_loop().time() - started < 0.95
            after = REGISTRY.get_sample_value(
                "marfiq_gateway_upstream_retries_total", {"upstream": "pensions"}
            )
            assert (after or 0.0) == (retries or 0.0) + 1
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


async def test_a_request_cut_short_frees_its_connection_for_the_next_one(
    jwks_url: str, ring: KeyRing
) -> None:
    token = ring.token()
    auth = {"Authorization": f"Bearer {token}"}
    async with (
        RawService() as service,
        gateway_to(service.url, jwks_url, upstream_connections=1) as (client, port),
    ):
        # The client leaves after a tenth of the body it announced.
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            b"PUT /v1/files/big HTTP/1.1\r\nHost: gw\r\nContent-Length: 1000000\r\n"
            + f"Authorization: Bearer {token}\r\n\r\n".encode()
            + b"x" * 100_000
        )
        await writer.drain()
        await asyncio.sleep(0.2)
        writer.close()
        # Then one sends more than the gateway accepts.
        too_much = await client.post("/v1/files", content=_pieces(17 * 1024 * 1024), headers=auth)
        assert too_much.status_code == 413
        # Neither half-sent request holds the only connection slot, nor left its connection
        # in the pool: the next request is answered on a fresh one.
        async with asyncio.timeout(2):
            answer = await client.get("/v1/pensions/me", headers=auth)
        assert answer.text == "ok"
        assert service.seen[-1].connection == service.connections == 3


async def _pieces(size: int) -> AsyncIterator[bytes]:
    for _ in range(0, size, 1024 * 1024):
        yield b"x" * (1024 * 1024)
