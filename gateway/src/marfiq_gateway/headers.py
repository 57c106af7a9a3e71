"""What crosses the gateway in each direction: hop-by-hop and identity headers stop here."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass

from starlette.types import Scope

Headers = list[tuple[bytes, bytes]]

# RFC 9110 §7.6.1: meaningful for one connection only.
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)

# Identity is asserted by the access token only; a client-supplied header claiming a user
# must never reach a service that might believe it.
IDENTITY_PREFIXES = (
    b"x-marfiq-",
    b"x-user",
    b"x-forwarded-user",
    b"x-remote-user",
    b"x-auth-",
    b"x-principal",
)

# Set by the gateway itself; whatever the client sent under these names is dropped.
STAMPED = frozenset(
    {
        b"host",
        b"expect",
        b"x-request-id",
        b"x-forwarded-for",
        b"x-forwarded-proto",
        b"x-forwarded-host",
        b"x-forwarded-port",
        b"x-forwarded-prefix",
        b"forwarded",
        b"x-real-ip",
    }
)
_DROPPED_REQUEST = HOP_BY_HOP | STAMPED
# The server in front of the client adds its own Date; transfer framing is its business too.
_DROPPED_RESPONSE = HOP_BY_HOP | {b"date", b"x-request-id"}
_CONNECTION_KEEP = frozenset({b"close", b"keep-alive"})

_VALID_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._-]{8,128}$")


@dataclass(slots=True)
class IncomingRequest:
    """The headers to forward and the few values the gateway itself acts on."""

    headers: Headers
    request_id: bytes
    authorization: bytes | None
    content_length: int | None
    chunked: bool
    accept_language: bytes
    # The address rate limits count against: the peer, or behind a trusted load balancer
    # the last address it appended (earlier entries are whatever the client claimed).
    client_address: str = ""


def prepare_request(scope: Scope, *, trust_forwarded: bool) -> IncomingRequest:
    """Filter the client's headers and stamp request id and forwarding headers."""
    forwarded: Headers = []
    request_id = b""
    authorization = None
    content_length: bytes | None = None
    chunked = False
    host = b""
    accept_language = b""
    connection_tokens: list[bytes] = []
    incoming_for = b""
    incoming_proto = b""
    for name, value in scope["headers"]:
        if name in _DROPPED_REQUEST or (name[:2] == b"x-" and name.startswith(IDENTITY_PREFIXES)):
            if name == b"x-request-id":
                request_id = value
            elif name == b"host":
                host = value
            elif name == b"connection":
                connection_tokens.extend(
                    token.strip().lower() for token in value.split(b",") if token.strip()
                )
            elif name == b"transfer-encoding":
                chunked = True
            elif name == b"x-forwarded-for":
                incoming_for = value
            elif name == b"x-forwarded-proto":
                incoming_proto = value
            continue
        if name == b"authorization":
            authorization = value
        elif name == b"content-length":
            content_length = value
        elif name == b"accept-language":
            accept_language = value
        forwarded.append((name, value))
    extra = [token for token in connection_tokens if token not in _CONNECTION_KEEP]
    if extra:
        # Headers named by Connection are hop-by-hop too (RFC 9110 §7.6.1).
        forwarded = [(name, value) for name, value in forwarded if name not in extra]
    if chunked and content_length is not None:
        # Both framings at once is a smuggling attempt; the chunked one is what we read.
        forwarded = [(name, value) for name, value in forwarded if name != b"content-length"]
        content_length = None
    if not _VALID_REQUEST_ID.match(request_id):
        request_id = os.urandom(16).hex().encode()  # 32 hex digits, like a uuid4 hex
    client = scope.get("client")
    client_host = client[0].encode() if client else b""
    client_address = client_host
    if trust_forwarded and incoming_for:
        client_address = incoming_for.rpartition(b",")[2].strip() or client_host
        client_host = incoming_for + b", " + client_host if client_host else incoming_for
    proto = incoming_proto if trust_forwarded and incoming_proto else scope["scheme"].encode()
    forwarded.append((b"x-request-id", request_id))
    if client_host:
        forwarded.append((b"x-forwarded-for", client_host))
    forwarded.append((b"x-forwarded-proto", proto))
    if host:
        forwarded.append((b"x-forwarded-host", host))
    length: int | None = None
    if content_length is not None:
        length = int(content_length) if content_length.isdigit() else -1
    return IncomingRequest(
        headers=forwarded,
        request_id=request_id,
        authorization=authorization,
        content_length=length,
        chunked=chunked,
        accept_language=accept_language,
        client_address=client_address.decode("latin-1"),
    )


def response_headers(upstream: Iterable[tuple[bytes, bytes]], request_id: bytes) -> Headers:
    """A service's response headers as the client may see them, with our request id."""
    kept = [
        (name, value)
        for name, value in ((name.lower(), value) for name, value in upstream)
        if name not in _DROPPED_RESPONSE
    ]
    kept.append((b"x-request-id", request_id))
    return kept
