from datetime import date
from pathlib import Path

import pytest

from marfiq_complaints.deadlines import CalendarDataError, HolidayCalendar, load_calendar

CALENDAR = load_calendar()


def days_of(calendar: HolidayCalendar, year: int, key: str) -> list[date]:
    return [h.day for h in calendar.holidays(year) if h.key == key]


def test_fixed_holidays_are_built_in_for_any_year() -> None:
    assert [(h.day, h.key) for h in HolidayCalendar().holidays(2030) if not h.movable] == [
        (date(2030, 1, 1), "new_year"),
        (date(2030, 1, 11), "independence_manifesto"),
        (date(2030, 1, 14), "amazigh_new_year"),
        (date(2030, 5, 1), "labour_day"),
        (date(2030, 7, 30), "throne_day"),
        (date(2030, 8, 14), "oued_eddahab"),
        (date(2030, 8, 20), "revolution_king_people"),
        (date(2030, 8, 21), "youth_day"),
        (date(2030, 10, 31), "unity_day"),
        (date(2030, 11, 6), "green_march"),
        (date(2030, 11, 18), "independence_day"),
    ]


def test_amazigh_new_year_is_a_holiday_from_2024_only() -> None:
    assert not CALENDAR.is_holiday(date(2023, 1, 14))
    assert CALENDAR.is_holiday(date(2024, 1, 14))


def test_unity_day_is_a_holiday_from_2026_only() -> None:
    # Instituted on 4 November 2025, after that year's 31 October.
    assert not CALENDAR.is_holiday(date(2025, 10, 31))
    assert CALENDAR.is_holiday(date(2026, 10, 31))


def test_packaged_movable_holidays_cover_2024_to_2027() -> None:
    assert [year for year in range(2023, 2029) if CALENDAR.covers(year)] == [
        2024,
        2025,
        2026,
        2027,
    ]


def test_announced_movable_holidays_of_2025() -> None:
    assert days_of(CALENDAR, 2025, "eid_al_fitr") == [date(2025, 3, 31), date(2025, 4, 1)]
    assert days_of(CALENDAR, 2025, "eid_al_adha") == [date(2025, 6, 7), date(2025, 6, 8)]
    assert days_of(CALENDAR, 2025, "islamic_new_year") == [date(2025, 6, 27)]
    assert days_of(CALENDAR, 2025, "mawlid") == [date(2025, 9, 5), date(2025, 9, 6)]
    assert days_of(CALENDAR, 2025, "exceptional") == [date(2025, 6, 9)]


def test_estimates_are_marked_and_announcements_are_not() -> None:
    fitr_2026 = [h for h in CALENDAR.holidays(2026) if h.key == "eid_al_fitr"]
    adha_2026 = [h for h in CALENDAR.holidays(2026) if h.key == "eid_al_adha"]
    assert [h.estimated for h in fitr_2026] == [False, False]
    assert [h.estimated for h in adha_2026] == [True, True]


def test_an_ordinary_tuesday_and_christmas_are_not_holidays() -> None:
    assert not CALENDAR.is_holiday(date(2025, 3, 11))
    assert not CALENDAR.is_holiday(date(2025, 12, 25))


def test_operator_file_replaces_a_year_and_adds_another(tmp_path: Path) -> None:
    extra = tmp_path / "holidays.toml"
    extra.write_text(
        """
[2026]
holidays = [
  { date = 2026-03-20, key = "eid_al_fitr", name = "Aïd Al-Fitr" },
  { date = 2026-03-21, key = "eid_al_fitr", name = "Aïd Al-Fitr" },
  { date = 2026-05-28, key = "eid_al_adha", name = "Aïd Al-Adha" },
  { date = 2026-05-29, key = "eid_al_adha", name = "Aïd Al-Adha" },
]

[2028]
holidays = [{ date = 2028-02-27, key = "eid_al_fitr", name = "Aïd Al-Fitr", estimated = true }]
""",
        encoding="utf-8",
    )
    calendar = load_calendar(extra_files=[extra])
    # The estimated 27 May gave way to the announced 28-29 May; the rest of 2026 was restated.
    assert days_of(calendar, 2026, "eid_al_adha") == [date(2026, 5, 28), date(2026, 5, 29)]
    assert days_of(calendar, 2026, "mawlid") == []
    assert calendar.covers(2028)
    assert calendar.is_holiday(date(2028, 2, 27))
    # Years the operator did not restate keep the packaged data.
    assert days_of(calendar, 2025, "mawlid") == [date(2025, 9, 5), date(2025, 9, 6)]


@pytest.mark.parametrize(
    ("document", "complaint"),
    [
        ('[2026]\nholidays = [{ date = 2027-01-02, key = "mawlid", name = "x" }]', "not in 2026"),
        ('[2026]\nholidays = [{ date = 2026-01-02, key = "carnival", name = "x" }]', "'key'"),
        ('[2026]\nholidays = [{ date = 2026-01-02, key = "mawlid" }]', "needs a 'name'"),
        ('[2026]\nholidays = [{ date = "2026-01-02", key = "mawlid", name = "x" }]', "local date"),
        (
            '[2026]\nholidays = [{ date = 2026-01-02, key = "mawlid", name = "x", y = 1 }]',
            "unknown",
        ),
        ("[next]\nholidays = []", "must be years"),
        ("[2026\n", "table declaration"),
    ],
)
def test_malformed_holiday_files_are_refused(tmp_path: Path, document: str, complaint: str) -> None:
    extra = tmp_path / "bad.toml"
    extra.write_text(document, encoding="utf-8")
    with pytest.raises(CalendarDataError, match=complaint):
        load_calendar(extra_files=[extra])
