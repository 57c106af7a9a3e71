"""One JSON object a line, with the request and correlation ids; personal data masked."""

from __future__ import annotations

import logging
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson

from marfiq_shared.events.envelope import current_correlation_id

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
correlation_id_var: ContextVar[str | None] = ContextVar("correlation_id", default=None)

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message"}
_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+)")
# Nine digits or more (spaces allowed), or an international number (leading +) written
# with dashes, dots or brackets too. Dates, times and addresses stay readable.
_PHONE = re.compile(r"\+\d[\d\-. ()]{6,}(\d{2})|\+?\d[\d ]{6,}(\d{2})")
# Extras under these names never reach a log line, whatever their value: one-time codes,
# secrets and credentials are not to be masked but absent.
_SECRET_KEYS = frozenset(
    {"code", "otp", "password", "secret", "token", "authorization", "refresh_token", "pin"}
)
REDACTED = "[redacted]"


def mask(text: str) -> str:
    """Hide e-mail addresses and phone numbers, keeping enough to tell them apart."""
    text = _EMAIL.sub(r"\1***@\2", text)
    return _PHONE.sub(lambda match: "***" + (match[1] or match[2]), text)


def _scrub(key: str, value: Any) -> Any:
    """A log extra as it may be written: secrets dropped, personal data masked at any depth."""
    if key.lower() in _SECRET_KEYS:
        return REDACTED
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {k: _scrub(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_scrub("", item) for item in value]
    if isinstance(value, int | float | bool) or value is None:
        return value
    return mask(str(value))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": mask(record.getMessage()),
        }
        if (request_id := request_id_var.get()) is not None:
            entry["request_id"] = request_id
        if (correlation_id := correlation_id_var.get() or current_correlation_id.get()) is not None:
            entry["correlation_id"] = correlation_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = _scrub(key, value)
        if record.exc_info:
            # Driver errors quote the offending values ("Key (email)=(…) already exists").
            entry["exception"] = mask(self.formatException(record.exc_info))
        return orjson.dumps(entry, default=str).decode()


def configure_logging(level: str = "INFO", *, json: bool = True) -> None:
    """Install the platform's log format on the root logger (idempotent)."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        JsonFormatter() if json else logging.Formatter("%(asctime)s %(levelname)s %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Uvicorn's access log repeats what our request log says, without ids.
    logging.getLogger("uvicorn.access").disabled = True
