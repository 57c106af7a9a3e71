"""A submission's three requests, served without FastAPI's request machinery.

A submission is `POST /v1/files`, `POST /v1/correspondence` and `GET …/{id}/receipt`; py-spy
under `bench/bench_correspondence.py` put FastAPI's routing, dependency solving, exception
middleware and response rendering at about a fifth of the process's CPU. This middleware,
placed inside `RequestContextMiddleware` (request id, language, body-size cap and metrics
still apply), serves them directly: the same token check and viewer, the same validation
model, the very functions the FastAPI routes call, the same answers.

It serves only what it can serve identically. A missing or refused token, a caller who is
not a party, a filing with an `Idempotency-Key`, a body that is not JSON or does not
validate, an id that is not a canonical UUID: FastAPI gets the request unchanged (a body
already read is replayed), so every refusal of those is FastAPI's own. A refusal raised
once the work started is rendered by the app's own exception handlers; what has none
propagates as it would from the route. The routes stay declared in FastAPI, for the
OpenAPI document and as that fallback.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from fastapi import FastAPI
from pydantic import ValidationError
from starlette.requests import Request
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from marfiq_correspondence.correspondence.access import Viewer, viewer_for
from marfiq_correspondence.correspondence.api import receipt_response, register
from marfiq_correspondence.correspondence.schemas import CorrespondenceCreate
from marfiq_correspondence.files import service as files
from marfiq_correspondence.files.upload import file_upload
from marfiq_shared.auth import TokenVerifier, bearer_token
from marfiq_shared.hot_routes import refuse, replaying, send_json

FILES = "/v1/files"
FILING = "/v1/correspondence"
RECEIPT = "/v1/correspondence/{correspondence_id}/receipt"
_RECEIPT_TAIL = "/receipt"


class HotRoutes:
    """ASGI middleware serving a submission's requests for `owner`, the FastAPI app."""

    def __init__(self, app: ASGIApp, *, owner: FastAPI) -> None:
        self.app = app
        self.owner = owner
        self._routes: dict[tuple[str, str], Route] | None = None

    def _route(self, method: str, path: str) -> Route | None:
        # The FastAPI route, for the metrics label RequestContextMiddleware reads.
        if self._routes is None:
            self._routes = {
                (verb, route.path): route
                for route in self.owner.routes
                if isinstance(route, Route) and route.path in (FILES, FILING, RECEIPT)
                for verb in route.methods or ()
            }
        return self._routes.get((method, path))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        serve = self._server(scope) if scope["type"] == "http" else None
        if serve is None or not await serve(scope, receive, send):
            await self.app(scope, receive, send)

    def _server(self, scope: Scope) -> Callable[[Scope, Receive, Send], Awaitable[bool]] | None:
        """What serves this request here (it answers False to hand it to FastAPI), or None."""
        method, path = scope["method"], scope["path"]
        if method == "POST" and path == FILES:
            return self._upload
        if method == "POST" and path == FILING:
            return self._filing
        if method == "GET" and path.startswith(FILING + "/") and path.endswith(_RECEIPT_TAIL):
            return self._receipt
        return None

    async def _viewer(self, request: Request, *, write: bool) -> Viewer | None:
        """The caller as the routes' `Reader`/`Writer` see them, or None to let FastAPI refuse."""
        token = bearer_token(request.headers.get("authorization"))
        if token is None:
            return None
        verifier: TokenVerifier = request.app.state.token_verifier
        try:
            principal = await verifier.verify(token)
            viewer = viewer_for(principal, write=write)
        except Exception:
            return None  # FastAPI verifies again and answers with its own refusal
        request.state.principal = principal
        return viewer

    async def _upload(self, scope: Scope, receive: Receive, send: Send) -> bool:
        request = Request(scope, receive)
        viewer = await self._viewer(request, write=True)
        if viewer is None:
            return False
        scope["route"] = self._route("POST", FILES)
        state = request.app.state
        try:
            upload = file_upload(request)
            answer = await files.upload(
                database=state.db,
                storage=state.storage,
                viewer=viewer,
                chunks=upload.chunks(),
                filename=lambda: upload.filename,
                max_bytes=state.settings.file_max_bytes,
                now=state.clock(),
            )
        except Exception as error:
            await self._refuse(request, error, send)
            return True
        await send_json(send, 201, answer)
        return True

    async def _filing(self, scope: Scope, receive: Receive, send: Send) -> bool:
        headers = dict(scope["headers"])
        content_type = headers.get(b"content-type", b"").split(b";", 1)[0].strip().lower()
        if b"idempotency-key" in headers or content_type != b"application/json":
            return False
        request = Request(scope, receive)
        viewer = await self._viewer(request, write=True)
        if viewer is None:
            return False
        try:
            raw = await request.body()
        except Exception as error:  # the body-size cap, a client gone
            await self._refuse(request, error, send)
            return True
        try:
            body = CorrespondenceCreate.model_validate_json(raw)
        except ValidationError:
            await self.app(scope, replaying(raw, receive), send)
            return True
        scope["route"] = self._route("POST", FILING)
        state = request.app.state
        try:
            created, _ = await register(
                body,
                viewer=viewer,
                database=state.db,
                path=request.url.path,
                settings=state.settings,
                now=state.clock(),
                idempotency_key=None,
            )
        except Exception as error:
            await self._refuse(request, error, send)
            return True
        location = f"{request.url.path}/{created.id}".encode("latin-1")
        await send_json(send, 201, created, ((b"location", location),))
        return True

    async def _receipt(self, scope: Scope, receive: Receive, send: Send) -> bool:
        raw_id = scope["path"][len(FILING) + 1 : -len(_RECEIPT_TAIL)]
        try:
            correspondence_id = uuid.UUID(raw_id)
        except ValueError:
            return False
        if str(correspondence_id) != raw_id:
            return False  # another spelling FastAPI may accept or refuse: its call
        request = Request(scope, receive)
        viewer = await self._viewer(request, write=False)
        if viewer is None:
            return False
        scope["route"] = self._route("GET", RECEIPT)
        scope["path_params"] = {"correspondence_id": correspondence_id}
        state = request.app.state
        try:
            response = await receipt_response(
                correspondence_id,
                viewer=viewer,
                database=state.db,
                storage=state.storage,
                pki=state.pki,
                settings=state.settings,
                now=state.clock(),
            )
        except Exception as error:
            await self._refuse(request, error, send)
            return True
        await response(scope, receive, send)
        return True

    async def _refuse(self, request: Request, error: Exception, send: Send) -> None:
        await refuse(self.owner, request, error, send)
