"""Morocco's public-holiday calendar: fixed national holidays in code, movable ones as data."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from marfiq_complaints.deadlines import data


class CalendarDataError(ValueError):
    """A holiday data file that cannot be trusted to compute legal deadlines."""


@dataclass(frozen=True, slots=True)
class Holiday:
    day: date
    key: str
    name: str
    movable: bool
    # Movable dates are announced by the ministry of Habous after the moon sighting;
    # until then the file carries an astronomical estimate.
    estimated: bool = False


@dataclass(frozen=True, slots=True)
class FixedHoliday:
    month: int
    day: int
    key: str
    name: str
    since: int | None = None

    def on(self, year: int) -> Holiday | None:
        """This holiday in `year`, or None before it was instituted."""
        if self.since is not None and year < self.since:
            return None
        return Holiday(date(year, self.month, self.day), self.key, self.name, movable=False)


# Public holidays of the administrations (décret n° 2-77-169 du 28 février 1977 fixing the
# paid public holidays, as completed since). A fixed holiday that falls on a weekend is not
# moved to a working day in Morocco.
FIXED_HOLIDAYS: tuple[FixedHoliday, ...] = (
    FixedHoliday(1, 1, "new_year", "Nouvel An"),
    FixedHoliday(1, 11, "independence_manifesto", "Présentation du Manifeste de l'Indépendance"),
    # Royal decision of 3 May 2023; first observed on 14 January 2024.
    FixedHoliday(1, 14, "amazigh_new_year", "Nouvel An amazigh (Id Yennayer)", since=2024),
    FixedHoliday(5, 1, "labour_day", "Fête du Travail"),
    FixedHoliday(7, 30, "throne_day", "Fête du Trône"),
    FixedHoliday(8, 14, "oued_eddahab", "Allégeance d'Oued Eddahab"),
    FixedHoliday(8, 20, "revolution_king_people", "Révolution du Roi et du Peuple"),
    FixedHoliday(8, 21, "youth_day", "Fête de la Jeunesse"),
    # Aïd Al Wahda, instituted by the Royal Cabinet on 4 November 2025 and made a public
    # holiday by décret n° 2.25.1140; its first occurrence is 31 October 2026.
    FixedHoliday(10, 31, "unity_day", "Fête de l'Unité (Aïd Al Wahda)", since=2026),
    FixedHoliday(11, 6, "green_march", "Marche Verte"),
    FixedHoliday(11, 18, "independence_day", "Fête de l'Indépendance"),
)

PACKAGED_HOLIDAYS = "holidays.toml"
MOVABLE_KEYS = frozenset(
    {"eid_al_fitr", "eid_al_adha", "islamic_new_year", "mawlid", "exceptional"}
)


@dataclass(frozen=True)
class HolidayCalendar:
    """Fixed holidays for every year plus the movable ones known per year."""

    movable: Mapping[int, tuple[Holiday, ...]] = field(default_factory=dict)
    fixed: tuple[FixedHoliday, ...] = FIXED_HOLIDAYS
    _movable_days: frozenset[date] = field(init=False, repr=False)
    _fixed_days: Mapping[tuple[int, int], FixedHoliday] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        days = frozenset(h.day for year in self.movable.values() for h in year)
        object.__setattr__(self, "_movable_days", days)
        object.__setattr__(self, "_fixed_days", {(f.month, f.day): f for f in self.fixed})

    def covers(self, year: int) -> bool:
        """Whether the movable holidays of `year` are known.

        A year without data still counts weekends and fixed holidays, so a deadline in it
        can only fall earlier than the true one, never later: the safe side for the citizen.
        """
        return year in self.movable

    def is_holiday(self, day: date) -> bool:
        """Whether `day` is a public holiday (weekends aside)."""
        if day in self._movable_days:
            return True
        fixed = self._fixed_days.get((day.month, day.day))
        return fixed is not None and fixed.on(day.year) is not None

    def holidays(self, year: int) -> tuple[Holiday, ...]:
        """Every holiday of `year`, fixed and movable, in date order."""
        fixed = [h for f in self.fixed if (h := f.on(year)) is not None]
        return tuple(sorted([*fixed, *self.movable.get(year, ())], key=lambda h: h.day))


def load_calendar(
    *, extra_files: Sequence[Path | str] = (), include_packaged: bool = True
) -> HolidayCalendar:
    """The calendar from the packaged movable holidays, then each operator file in order.

    A year present in a later file replaces that whole year from earlier ones, so an operator
    corrects an estimated Eid by restating the year, and adds a new year the same way.
    """
    years: dict[int, tuple[Holiday, ...]] = {}
    if include_packaged:
        years.update(parse_holidays(data.read(PACKAGED_HOLIDAYS), source=PACKAGED_HOLIDAYS))
    for path in extra_files:
        text = Path(path).read_text(encoding="utf-8")
        years.update(parse_holidays(text, source=str(path)))
    return HolidayCalendar(movable=years)


def parse_holidays(text: str, *, source: str) -> dict[int, tuple[Holiday, ...]]:
    """Movable holidays by year from one TOML document (see data/holidays.toml)."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CalendarDataError(f"{source}: {exc}") from exc
    years: dict[int, tuple[Holiday, ...]] = {}
    for name, table in document.items():
        if not name.isdigit() or not isinstance(table, dict):
            raise CalendarDataError(f"{source}: top-level tables must be years, got {name!r}")
        year = int(name)
        entries = table.get("holidays", [])
        if set(table) - {"holidays"} or not isinstance(entries, list):
            raise CalendarDataError(f"{source}: [{year}] holds only a 'holidays' list")
        years[year] = tuple(_holiday(entry, year=year, source=source) for entry in entries)
    return years


def _holiday(entry: Any, *, year: int, source: str) -> Holiday:
    where = f"{source}: [{year}]"
    if not isinstance(entry, dict):
        raise CalendarDataError(f"{where} entries are tables")
    unknown = set(entry) - {"date", "key", "name", "estimated"}
    if unknown:
        raise CalendarDataError(f"{where} unknown fields {sorted(unknown)}")
    day, key, name = entry.get("date"), entry.get("key"), entry.get("name")
    if not isinstance(day, date) or type(day) is not date:
        raise CalendarDataError(f"{where} 'date' must be a TOML local date, got {day!r}")
    if day.year != year:
        raise CalendarDataError(f"{where} {day} is not in {year}")
    if key not in MOVABLE_KEYS:
        raise CalendarDataError(f"{where} 'key' must be one of {sorted(MOVABLE_KEYS)}")
    if not isinstance(name, str) or not name.strip():
        raise CalendarDataError(f"{where} {day} needs a 'name'")
    estimated = entry.get("estimated", False)
    if not isinstance(estimated, bool):
        raise CalendarDataError(f"{where} 'estimated' must be true or false")
    return Holiday(day, key, name, movable=True, estimated=estimated)
