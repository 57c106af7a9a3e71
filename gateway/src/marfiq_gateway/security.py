"""Security headers on every gateway response, and CORS for the origins an operator allows."""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi.openapi.docs import get_swagger_ui_html
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Send

Headers = list[tuple[bytes, bytes]]

# JSON APIs load nothing and are framed by nobody.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
SWAGGER_CDN = "https://cdn.jsdelivr.net"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)

# Headers the gateway owns on the way out: a service's own values are replaced, not doubled.
OWNED = frozenset(
    {
        b"strict-transport-security",
        b"x-content-type-options",
        b"referrer-policy",
        b"x-frame-options",
        b"content-security-policy",
    }
)


def docs_page() -> tuple[bytes, str]:
    """The Swagger UI page and a CSP that allows exactly it: its CDN and its one inline script
    (by hash, so no 'unsafe-inline')."""
    html = bytes(get_swagger_ui_html(openapi_url="/openapi.json", title="Marfiq API").body)
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in _INLINE_SCRIPT.findall(html.decode())
    )
    csp = (
        f"default-src 'none'; script-src {SWAGGER_CDN} {hashes}; style-src {SWAGGER_CDN}; "
        "img-src 'self' data: https://fastapi.tiangolo.com; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )
    return html, csp


class SecurityHeaders:
    """The headers added to every response; `/docs` gets the CSP of its page."""

    def __init__(self, *, hsts_max_age_s: int, docs_csp: str) -> None:
        common: Headers = [
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"x-frame-options", b"DENY"),
        ]
        if hsts_max_age_s > 0:
            common.append(
                (
                    b"strict-transport-security",
                    f"max-age={hsts_max_age_s}; includeSubDomains".encode(),
                )
            )
        self.api = [*common, (b"content-security-policy", API_CSP.encode())]
        self.docs = [*common, (b"content-security-policy", docs_csp.encode())]

    def wrap(self, send: Send, path: str) -> Send:
        extra = self.docs if path == "/docs" else self.api

        async def secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [item for item in message.get("headers", ()) if item[0] not in OWNED]
                message = {**message, "headers": kept + extra}
            await send(message)

        return secured


def with_cors(app: ASGIApp, origins: list[str]) -> ASGIApp:
    """Starlette's CORS handling for the allowed origins (none: no CORS header at all)."""
    if not origins:
        return app
    return CORSMiddleware(
        app,
        allow_origins=origins,
        allow_methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        allow_headers=[
            "Authorization",
            "Content-Type",
            "Accept-Language",
            "Idempotency-Key",
            "X-Request-ID",
        ],
        expose_headers=["X-Request-ID", "Retry-After", "Content-Language", "Location"],
        # Bearer tokens, never cookies: credentials mode stays off.
        allow_credentials=False,
        max_age=600,
    )
