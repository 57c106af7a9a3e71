"""Deadline rules per kind of request, loaded from data (data/rules.toml and operator files)."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from marfiq_complaints.deadlines import data
from marfiq_complaints.deadlines.calendar import HolidayCalendar
from marfiq_complaints.deadlines.clock import add_calendar_days, add_working_days

PACKAGED_RULES = "rules.toml"


class Kind(StrEnum):
    COMPLAINT = "complaint"
    OBSERVATION = "observation"
    SUGGESTION = "suggestion"
    INFORMATION_REQUEST = "information_request"


class DayCount(StrEnum):
    CALENDAR = "calendar"
    WORKING = "working"


_KIND_NAMES = frozenset(kind.value for kind in Kind)
_UNIT_NAMES = frozenset(unit.value for unit in DayCount)


class RulesDataError(ValueError):
    """A deadline rules file that is incomplete or malformed."""


@dataclass(frozen=True, slots=True)
class Period:
    days: int
    unit: DayCount
    # Only for calendar days: move a due date that lands on a non-working day to the next
    # working day. Off for windows the citizen uses online, where no office has to be open.
    roll_forward: bool = True

    def due(self, *, start: datetime, calendar: HolidayCalendar) -> datetime:
        """The end of this period started at `start`, in UTC (rules in clock.py)."""
        if self.unit is DayCount.WORKING:
            return add_working_days(start=start, days=self.days, calendar=calendar)
        return add_calendar_days(
            start=start, days=self.days, calendar=calendar, roll_forward=self.roll_forward
        )


@dataclass(frozen=True, slots=True)
class Schedule:
    """The periods that run for one request: acknowledgement, answer, one extension."""

    answer: Period
    acknowledge: Period | None = None
    extension: Period | None = None


@dataclass(frozen=True, slots=True)
class KindRules:
    normal: Schedule
    # Law 31.13 art. 17: shorter periods when the information is urgently needed.
    urgent: Schedule | None
    # How long after an answer the citizen may reopen, and how many times.
    reopen_window: Period
    max_reopens: int

    def schedule(self, *, urgent: bool) -> Schedule:
        """The schedule that applies; urgency only where the kind has an urgent schedule."""
        if not urgent:
            return self.normal
        if self.urgent is None:
            raise ValueError("this kind of request has no urgent schedule")
        return self.urgent


@dataclass(frozen=True, slots=True)
class DeadlineRules:
    kinds: Mapping[Kind, KindRules]

    def for_kind(self, kind: Kind) -> KindRules:
        """The rules of one kind (every kind has rules once loaded)."""
        return self.kinds[kind]


def load_rules(*, extra_files: Sequence[Path | str] = ()) -> DeadlineRules:
    """The packaged rules, then each operator file in order; a kind stated later replaces it."""
    kinds = parse_rules(data.read(PACKAGED_RULES), source=PACKAGED_RULES)
    for path in extra_files:
        kinds.update(parse_rules(Path(path).read_text(encoding="utf-8"), source=str(path)))
    missing = set(Kind) - kinds.keys()
    if missing:
        raise RulesDataError(f"no deadline rules for {sorted(missing)}")
    return DeadlineRules(kinds=kinds)


def parse_rules(text: str, *, source: str) -> dict[Kind, KindRules]:
    """Rules by kind from one TOML document (see data/rules.toml)."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesDataError(f"{source}: {exc}") from exc
    kinds: dict[Kind, KindRules] = {}
    for name, table in document.items():
        if name not in _KIND_NAMES or not isinstance(table, dict):
            raise RulesDataError(f"{source}: unknown kind {name!r}")
        kinds[Kind(name)] = _kind_rules(table, where=f"{source}: [{name}]")
    return kinds


def _kind_rules(table: dict[str, Any], *, where: str) -> KindRules:
    _only(table, {"acknowledge", "answer", "extension", "urgent", "reopen", "max_reopens"}, where)
    urgent = table.get("urgent")
    if urgent is not None and not isinstance(urgent, dict):
        raise RulesDataError(f"{where} 'urgent' must be a table")
    normal = _schedule(table, where=where)
    reopen = _period(table.get("reopen"), where=f"{where} reopen")
    max_reopens = table.get("max_reopens")
    if reopen is None or not isinstance(max_reopens, int) or max_reopens < 0:
        raise RulesDataError(f"{where} needs 'reopen' and 'max_reopens' >= 0")
    return KindRules(
        normal=normal,
        urgent=None if urgent is None else _schedule(urgent, where=f"{where}.urgent"),
        reopen_window=reopen,
        max_reopens=max_reopens,
    )


def _schedule(table: dict[str, Any], *, where: str) -> Schedule:
    answer = _period(table.get("answer"), where=f"{where} answer")
    if answer is None:
        raise RulesDataError(f"{where} needs an 'answer' period")
    return Schedule(
        answer=answer,
        acknowledge=_period(table.get("acknowledge"), where=f"{where} acknowledge"),
        extension=_period(table.get("extension"), where=f"{where} extension"),
    )


def _period(value: Any, *, where: str) -> Period | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise RulesDataError(f"{where} must be a table")
    _only(value, {"days", "unit", "roll_forward"}, where)
    days, unit = value.get("days"), value.get("unit")
    if not isinstance(days, int) or isinstance(days, bool) or days < 0:
        raise RulesDataError(f"{where} 'days' must be an integer >= 0")
    if unit not in _UNIT_NAMES:
        raise RulesDataError(f"{where} 'unit' must be 'calendar' or 'working'")
    roll_forward = value.get("roll_forward", True)
    if not isinstance(roll_forward, bool):
        raise RulesDataError(f"{where} 'roll_forward' must be true or false")
    return Period(days=days, unit=DayCount(unit), roll_forward=roll_forward)


def _only(table: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = set(table) - allowed
    if unknown:
        raise RulesDataError(f"{where} unknown fields {sorted(unknown)}")
