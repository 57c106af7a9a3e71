"""RFC 9457 problem details: typed errors raised by business code, rendered in one place."""

from __future__ import annotations

import logging
import os
import traceback
from typing import Any, ClassVar

import asyncpg
import orjson
import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from marfiq_shared.i18n import translate

PROBLEM_BASE = "https://marfiq.ma/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"

log = logging.getLogger("marfiq.problems")


class Problem(Exception):
    """A failure the client can act on. Subclasses fix `status` and `code`.

    `code` is the stable last segment of the problem `type` URI and the key of its
    localised title.
    """

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad-request"

    def __init__(
        self,
        detail: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail or self.code)
        self.detail = detail
        self.headers = headers
        self.extensions = extensions


class BadRequest(Problem):
    status, code = 400, "bad-request"


class Unauthorized(Problem):
    status, code = 401, "unauthorized"

    def __init__(self, detail: str | None = None, **extensions: Any) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"}, **extensions)


class InvalidToken(Unauthorized):
    code = "invalid-token"


class Forbidden(Problem):
    status, code = 403, "forbidden"


class StepUpRequired(Problem):
    status, code = 403, "step-up-required"

    def __init__(self, required_acr: str, detail: str | None = None) -> None:
        super().__init__(detail, required_acr=required_acr)


class NotFound(Problem):
    status, code = 404, "not-found"


class Conflict(Problem):
    status, code = 409, "conflict"


class PayloadTooLarge(Problem):
    status, code = 413, "payload-too-large"


class UnsupportedMediaType(Problem):
    status, code = 415, "unsupported-media-type"


class ValidationFailed(Problem):
    status, code = 422, "validation-error"


class RateLimited(Problem):
    status, code = 429, "rate-limited"


_STATUS_CODES = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "validation-error",
    429: "rate-limited",
    502: "bad-gateway",
    504: "gateway-timeout",
}


def problem_response(
    status: int,
    code: str,
    /,
    *,
    detail: str | None = None,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> Response:
    """Render one problem document; the single place the wire format is written."""
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + code,
        "title": translate(code),
        "status": status,
    }
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    body.update(extensions)
    return Response(
        orjson.dumps(body, default=str),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def _field_errors(exc: RequestValidationError) -> tuple[bool, list[dict[str, Any]]]:
    malformed = False
    errors = []
    for error in exc.errors():
        if error.get("type") == "json_invalid":
            malformed = True
        location = [str(part) for part in error.get("loc", ())]
        errors.append(
            {
                "field": ".".join(location[1:]) or location[0] if location else "",
                "in": location[0] if location else "body",
                "message": error.get("msg", ""),
                "code": error.get("type", ""),
            }
        )
    return malformed, errors


# asyncpg's answers while the server shuts down, starts up or has gone away.
_UNREACHABLE = frozenset(
    {
        "CannotConnectNowError",
        "AdminShutdownError",
        "ConnectionDoesNotExistError",
        "ConnectionFailureError",
        "CrashShutdownError",
    }
)


# What a database outage can surface as (`on_unexpected` still tells an outage from a bug).
_DRIVER_ERRORS: tuple[type[Exception], ...] = (
    OSError,
    sqlalchemy.exc.DBAPIError,
    asyncpg.PostgresConnectionError,
    asyncpg.OperatorInterventionError,
    asyncpg.InterfaceError,
)


def _from_driver(exc: BaseException) -> bool:
    # SQLAlchemy re-raises a failed connect as the driver's own OSError: look at the frames.
    if type(exc).__module__.startswith(("sqlalchemy", "asyncpg")):
        return True
    frames = traceback.extract_tb(exc.__traceback__)
    return any(
        f"{os.sep}{name}{os.sep}" in frame.filename
        for frame in frames
        for name in ("sqlalchemy", "asyncpg")
    )


def _database_unreachable(exc: BaseException) -> bool:
    """Whether an unexpected error is the database being out of reach, not a bug."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    # Only errors raised by the database driver count: an OSError of anything else
    # (a file, an HTTP call) stays the 500 it is.
    if not any(_from_driver(e) for e in chain):
        return False
    return any(
        getattr(e, "connection_invalidated", False)  # SQLAlchemy's DBAPIError
        or isinstance(e, OSError)
        or type(e).__name__ in _UNREACHABLE
        for e in chain
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Every error leaves the service as RFC 9457 JSON; nothing else is ever rendered."""

    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Problem)
        return problem_response(
            exc.status,
            exc.code,
            detail=exc.detail,
            instance=request.url.path,
            headers=exc.headers,
            **exc.extensions,
        )

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        malformed, errors = _field_errors(exc)
        if malformed:
            return problem_response(400, "malformed-json", instance=request.url.path)
        return problem_response(422, "validation-error", instance=request.url.path, errors=errors)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if isinstance(exc.__cause__, Problem):
            # FastAPI wraps errors raised while reading the body (our streamed size limit)
            # into a generic 400; the original problem is the honest answer.
            return await on_problem(request, exc.__cause__)
        code = _STATUS_CODES.get(exc.status_code, "bad-request" if exc.status_code < 500 else "")
        detail = exc.detail if isinstance(exc.detail, str) and exc.status_code < 500 else None
        return problem_response(
            exc.status_code,
            code or "internal-error",
            detail=detail if detail not in ("Not Found", "Method Not Allowed") else None,
            instance=request.url.path,
            headers=exc.headers,
        )

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        if _database_unreachable(exc):
            # Not a bug of this service: the database restarts or is out of reach. The
            # client may retry (with its Idempotency-Key) once it is back.
            log.warning("database unreachable", extra={"path": request.url.path})
            return problem_response(
                503,
                "service-unavailable",
                instance=request.url.path,
                headers={"Retry-After": "1"},
            )
        log.exception("unhandled error", extra={"path": request.url.path})
        return problem_response(500, "internal-error", instance=request.url.path)

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    # The errors a database outage raises are answered by the exception middleware, not
    # only by the catch-all below: Starlette's ServerErrorMiddleware re-raises after its
    # answer, and uvicorn then closes the connection under the gateway, whose next request
    # on that pooled connection failed as a 502 (seen while Postgres restarted).
    for kind in _DRIVER_ERRORS:
        app.add_exception_handler(kind, on_unexpected)
    app.add_exception_handler(Exception, on_unexpected)
