"""Every environment variable of the platform, read from the settings classes themselves.

`marfiq config-table` prints the README's configuration table; a test keeps the two equal,
so the table can never fall behind the code.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterator
from dataclasses import dataclass

from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from marfiq_shared.settings import SHARED_NAMES, MarfiqSettings


@dataclass(frozen=True)
class Variable:
    name: str
    default: str
    meaning: str


def _settings_classes() -> list[type[MarfiqSettings]]:
    from marfiq_complaints.settings import ComplaintsSettings
    from marfiq_correspondence.settings import CorrespondenceSettings
    from marfiq_gateway.settings import GatewaySettings
    from marfiq_identity.settings import IdentitySettings
    from marfiq_pensions.settings import PensionsSettings

    return [
        GatewaySettings,
        IdentitySettings,
        CorrespondenceSettings,
        ComplaintsSettings,
        PensionsSettings,
    ]


def _comments_above(cls: type[BaseSettings]) -> dict[str, str]:
    """The comment lines right above each field's line in its class body, by field name."""
    comments: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not (isinstance(klass, type) and issubclass(klass, BaseSettings)):
            continue
        try:
            lines = inspect.getsource(klass).splitlines()
        except (OSError, TypeError):
            continue
        pending: list[str] = []
        for line in lines:
            stripped = line.strip()
            if stripped.startswith("#"):
                text = stripped.lstrip("# ").strip()
                # Section rulers ("--- one-time codes ---") title a group, not a field.
                if not text.startswith("---"):
                    pending.append(text)
                continue
            name = stripped.split(":", 1)[0].strip()
            if pending and name.isidentifier() and name in cls.model_fields:
                comments[name] = " ".join(pending)
            pending = []
    return comments


def _default(value: object) -> str:
    if value is None:
        return "unset"
    if hasattr(value, "get_secret_value"):
        return "unset"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value) if value != "" else "empty"


def _env_names(cls: type[MarfiqSettings], field: str) -> list[str]:
    info = cls.model_fields[field]
    alias = info.validation_alias
    if isinstance(alias, AliasChoices):
        return [str(choice) for choice in alias.choices if str(choice).isupper()]
    if isinstance(alias, str):
        return [alias.upper()]
    prefix = str(cls.model_config.get("env_prefix", ""))
    return [f"{prefix}{field}".upper()]


def variables() -> Iterator[Variable]:
    """Shared variables once, then each service's own, in a stable order."""
    base_comments = _comments_above(MarfiqSettings)
    for field in SHARED_NAMES:
        info = MarfiqSettings.model_fields[field]
        yield Variable(
            field.upper(),
            _default(info.get_default(call_default_factory=True)),
            info.description or base_comments.get(field, ""),
        )
    for cls in _settings_classes():
        comments = _comments_above(cls)
        for field, info in cls.model_fields.items():
            if field in SHARED_NAMES:
                continue
            if field in MarfiqSettings.model_fields and cls.model_fields[field] == info:
                inherited = MarfiqSettings.model_fields[field]
                if inherited.get_default(call_default_factory=True) == info.get_default(
                    call_default_factory=True
                ):
                    continue  # the per-service row below covers it
            names = _env_names(cls, field)
            yield Variable(
                " / ".join(names),
                _default(info.get_default(call_default_factory=True)),
                info.description or comments.get(field, ""),
            )


def per_service_variables() -> Iterator[Variable]:
    """Tuning every service accepts under its own prefix, with the shared default."""
    comments = _comments_above(MarfiqSettings)
    for field, info in MarfiqSettings.model_fields.items():
        if field in SHARED_NAMES:
            continue
        yield Variable(
            f"<PREFIX>_{field.upper()}",
            _default(info.get_default(call_default_factory=True)),
            info.description or comments.get(field, ""),
        )


def markdown_table() -> str:
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for variable in [*variables(), *per_service_variables()]:
        meaning = variable.meaning.replace("|", "\\|")
        default = variable.default.replace("|", "\\|")
        rows.append(f"| `{variable.name}` | `{default}` | {meaning} |")
    return "\n".join(rows)
