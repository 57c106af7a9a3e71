"""One OpenAPI 3.1 document for the whole platform, merged from what each service serves."""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from marfiq_gateway.upstreams import Upstream

log = logging.getLogger("marfiq.gateway.openapi")

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
SECURITY_SCHEME = "accessToken"
# A document missing a service is retried soon; a complete one is kept for the TTL.
INCOMPLETE_TTL_S = 10.0

Document = dict[str, Any]


def merge_openapi(
    documents: Mapping[str, Document],
    *,
    owner_of: Callable[[str], str | None],
    is_public: Callable[[str, str], bool],
    title: str = "Marfiq API",
    version: str = "1",
    unavailable: tuple[str, ...] = (),
) -> Document:
    """Merge per-service documents; same-named but different components get a prefix.

    Each service keeps only the paths the gateway routes to it. Components identical in
    every service that defines them are kept once under their name; differing ones become
    `<service>.<Name>` and every `$ref` (and security requirement) is rewritten to match.
    """
    renames = _collisions(documents)
    merged: Document = {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": _description(unavailable)},
        "paths": {},
        "components": {
            "securitySchemes": {
                SECURITY_SCHEME: {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "ES256 access token issued by the identity service.",
                }
            }
        },
        "tags": [],
    }
    if unavailable:
        merged["x-unavailable-services"] = list(unavailable)
    seen_tags: set[str] = set()
    for owner, document in documents.items():
        document = _rewrite(document, renames.get(owner, {}))
        for path, item in (document.get("paths") or {}).items():
            if owner_of(path) != owner:
                continue
            merged["paths"][path] = _secure(path, item, is_public)
        for section, entries in (document.get("components") or {}).items():
            target = merged["components"].setdefault(section, {})
            for name, definition in entries.items():
                target.setdefault(name, definition)
        for tag in document.get("tags") or []:
            if tag.get("name") not in seen_tags:
                seen_tags.add(tag["name"])
                merged["tags"].append(tag)
    merged["paths"] = dict(sorted(merged["paths"].items()))
    return merged


def _description(unavailable: tuple[str, ...]) -> str:
    text = "Every route of the Marfiq platform, as served through the gateway."
    if unavailable:
        text += " Not answering when this document was built: " + ", ".join(unavailable) + "."
    return text


def _collisions(documents: Mapping[str, Document]) -> dict[str, dict[tuple[str, str], str]]:
    """Per service, the components to rename: `(section, name) -> new name`."""
    owners_of: dict[tuple[str, str], list[str]] = {}
    for owner, document in documents.items():
        for section, entries in (document.get("components") or {}).items():
            for name in entries:
                owners_of.setdefault((section, name), []).append(owner)
    shared = {key: owners for key, owners in owners_of.items() if len(owners) > 1}
    renames: dict[str, dict[tuple[str, str], str]] = {owner: {} for owner in documents}
    # Two equal definitions may still mean different things once something they refer to
    # has been renamed on one side only: repeat until nothing new collides.
    changed = True
    while changed:
        changed = False
        for (section, name), owners in shared.items():
            if (section, name) in renames[owners[0]]:
                continue
            variants = {
                orjson.dumps(
                    _rewrite(documents[owner]["components"][section][name], renames[owner]),
                    option=orjson.OPT_SORT_KEYS,
                )
                for owner in owners
            }
            if len(variants) > 1:
                for owner in owners:
                    renames[owner][(section, name)] = f"{owner}.{name}"
                changed = True
    return renames


def _rewrite(node: Any, renames: Mapping[tuple[str, str], str]) -> Any:
    """A copy of `node` with component names, `$ref`s and security names renamed."""
    if not renames:
        return node
    refs = {
        f"#/components/{section}/{name}": f"#/components/{section}/{new}"
        for (section, name), new in renames.items()
    }
    schemes = {
        name: new for (section, name), new in renames.items() if section == "securitySchemes"
    }

    def walk(value: Any, key: str | None = None) -> Any:
        if isinstance(value, dict):
            out: dict[str, Any] = {}
            for k, v in value.items():
                if k == "$ref" and isinstance(v, str):
                    out[k] = refs.get(v, v)
                elif key == "security_requirement":
                    name = str(k)
                    out[schemes.get(name, name)] = v
                elif k == "security" and isinstance(v, list):
                    out[k] = [walk(item, "security_requirement") for item in v]
                else:
                    out[k] = walk(v)
            return out
        if isinstance(value, list):
            return [walk(item) for item in value]
        return value

    rewritten = walk(node)
    if isinstance(node, dict) and isinstance(node.get("components"), dict):
        rewritten["components"] = {
            section: {
                renames.get((section, name), name): definition
                for name, definition in entries.items()
            }
            for section, entries in rewritten["components"].items()
        }
    return rewritten


def _secure(path: str, item: Document, is_public: Callable[[str, str], bool]) -> Document:
    """State on each operation what the gateway enforces: no token, or an access token."""
    item = copy.copy(item)
    for method in HTTP_METHODS:
        operation = item.get(method)
        if isinstance(operation, dict) and "security" not in operation:
            public = is_public(method.upper(), path)
            item[method] = {**operation, "security": [] if public else [{SECURITY_SCHEME: []}]}
    return item


class OpenApiCache:
    """Builds the merged document on demand, keeps it, and tolerates services that are down."""

    def __init__(
        self,
        upstreams: Mapping[str, Upstream],
        *,
        owner_of: Callable[[str], str | None],
        is_public: Callable[[str, str], bool],
        ttl_s: float,
        timeout_s: float,
        version: str = "1",
    ) -> None:
        self._upstreams = upstreams
        self._owner_of = owner_of
        self._is_public = is_public
        self._ttl = ttl_s
        self._timeout = timeout_s
        self._version = version
        self._body: bytes | None = None
        self._expires = 0.0
        self._lock = asyncio.Lock()

    async def document(self) -> bytes:
        """The merged document as JSON bytes."""
        if self._body is not None and time.monotonic() < self._expires:
            return self._body
        async with self._lock:
            if self._body is None or time.monotonic() >= self._expires:
                self._body, ttl = await self._build()
                self._expires = time.monotonic() + ttl
        return self._body

    async def _build(self) -> tuple[bytes, float]:
        async def fetch(owner: str, upstream: Upstream) -> Document | None:
            try:
                status, body = await upstream.get("/openapi.json", within=self._timeout)
                if status != 200:
                    raise ValueError(f"status {status}")
                document = orjson.loads(body)
                if not isinstance(document, dict):
                    raise ValueError("not an object")
                return document
            except Exception as exc:  # a service that is down leaves its paths out
                log.warning("no OpenAPI document from %s: %r", owner, exc)
                return None

        owners = list(self._upstreams)
        results = await asyncio.gather(*(fetch(o, self._upstreams[o]) for o in owners))
        documents = {o: d for o, d in zip(owners, results, strict=True) if d is not None}
        unavailable = tuple(o for o, d in zip(owners, results, strict=True) if d is None)
        merged = merge_openapi(
            documents,
            owner_of=self._owner_of,
            is_public=self._is_public,
            version=self._version,
            unavailable=unavailable,
        )
        return orjson.dumps(merged), INCOMPLETE_TTL_S if unavailable else self._ttl
