"""One JSON object a line, with the request and correlation ids; personal data masked."""

from __future__ import annotations

import logging
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
correlation_id_var: ContextVar[str | None] = ContextVar("correlation_id", default=None)

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message"}
_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+)")
_PHONE = re.compile(r"\+?\d[\d ]{6,}(\d{2})")


def mask(text: str) -> str:
    """Hide e-mail addresses and phone numbers, keeping enough to tell them apart."""
    text = _EMAIL.sub(r"\1***@\2", text)
    return _PHONE.sub(r"***\1", text)


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
        if (correlation_id := correlation_id_var.get()) is not None:
            entry["correlation_id"] = correlation_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = mask(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
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
