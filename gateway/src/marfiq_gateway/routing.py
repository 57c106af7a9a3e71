"""Which service owns a path, and which routes need no token: the gateway's two tables."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

OWNERS = ("identity", "correspondence", "complaints", "pensions")

# Path prefix -> owning service. Paths are forwarded unchanged (API.md).
PREFIX_OWNERS: Mapping[str, str] = {
    "/v1/auth": "identity",
    "/v1/me": "identity",
    "/v1/administrations": "identity",
    "/.well-known": "identity",
    "/v1/complaints": "complaints",
    "/v1/correspondence": "correspondence",
    "/v1/files": "correspondence",
    "/v1/documents": "correspondence",
    "/v1/pensions": "pensions",
}

# Every route that is served without an access token, and nothing else. `{name}` stands for
# one path segment. HEAD follows GET.
PUBLIC_ROUTES: tuple[tuple[str, str], ...] = (
    ("POST", "/v1/auth/otp"),
    ("POST", "/v1/auth/otp/verify"),
    ("POST", "/v1/auth/eid/challenge"),
    ("POST", "/v1/auth/eid/verify"),
    ("POST", "/v1/auth/token"),
    ("GET", "/.well-known/jwks.json"),
    ("GET", "/.well-known/openid-configuration"),
    ("GET", "/v1/administrations"),
    ("GET", "/v1/administrations/{id}"),
    ("GET", "/v1/complaints/stats"),
    ("GET", "/v1/documents/{code}"),
    # Whoever holds a copy of a document may check it against the registry, signed in or not.
    ("POST", "/v1/documents/{code}/verification"),
    # The gateway's own endpoints.
    ("GET", "/livez"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
)

_PARAMETER = re.compile(r"\{[^/{}]+\}")


class Router:
    """Constant-time owner lookup by the first one or two path segments."""

    def __init__(
        self,
        prefixes: Mapping[str, str] = PREFIX_OWNERS,
        public: Iterable[tuple[str, str]] = PUBLIC_ROUTES,
    ) -> None:
        for prefix in prefixes:
            if not prefix.startswith("/") or prefix.count("/") > 2 or prefix.endswith("/"):
                raise ValueError(f"prefix {prefix!r} must be one or two path segments")
        self._prefixes = dict(prefixes)
        self._exact: set[tuple[str, str]] = set()
        templates: dict[str, list[str]] = {}
        for method, path in public:
            if "{" in path:
                templates.setdefault(method, []).append(
                    "/".join(
                        "[^/]+" if _PARAMETER.fullmatch(part) else re.escape(part)
                        for part in path.split("/")
                    )
                )
            else:
                self._exact.add((method, path))
        # One alternation per method: a single regex call on the hot path.
        self._templates = {
            method: re.compile("|".join(f"(?:{pattern})" for pattern in patterns))
            for method, patterns in templates.items()
        }

    def owner_of(self, path: str) -> tuple[str, str] | None:
        """`(prefix, owner)` of a request path, or None when no service owns it."""
        first_end = path.find("/", 1)
        first = path if first_end < 0 else path[:first_end]
        owner = self._prefixes.get(first)
        if owner is not None:
            return first, owner
        if first_end < 0:
            return None
        second_end = path.find("/", first_end + 1)
        second = path if second_end < 0 else path[:second_end]
        owner = self._prefixes.get(second)
        return None if owner is None else (second, owner)

    def is_public(self, method: str, path: str) -> bool:
        """True when the route is listed in the public table."""
        if method == "HEAD":
            method = "GET"
        if (method, path) in self._exact:
            return True
        templates = self._templates.get(method)
        return templates is not None and templates.fullmatch(path) is not None


def has_dot_segment(path: str) -> bool:
    """`.` or `..` as a path segment: never forwarded, whatever a service would make of it."""
    if "/." not in path:
        return False
    return any(segment in (".", "..") for segment in path.split("/"))
