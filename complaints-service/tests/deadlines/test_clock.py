"""Day arithmetic with a frozen clock; every expected instant is worked out by hand.

Casablanca is UTC+1, except during Ramadan when the tz database puts it at UTC+0
(2024-03-10 to 2024-04-14, 2025-02-23 to 2025-04-06). End of day is 23:59:59 local.
"""

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from marfiq_complaints.deadlines import (
    HolidayCalendar,
    add_calendar_days,
    add_working_days,
    end_of_day,
    is_working_day,
    load_calendar,
    local_day,
)

CALENDAR = load_calendar()
PLUS_ONE = timezone(timedelta(hours=1))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def working(start: str, days: int) -> datetime:
    return add_working_days(start=at(start), days=days, calendar=CALENDAR)


def calendar_days(start: str, days: int, *, roll_forward: bool = True) -> datetime:
    return add_calendar_days(
        start=at(start), days=days, calendar=CALENDAR, roll_forward=roll_forward
    )


def test_end_of_day_is_utc_plus_one_outside_ramadan() -> None:
    assert end_of_day(date(2025, 4, 15)) == at("2025-04-15T22:59:59+00:00")


def test_end_of_day_is_utc_during_ramadan() -> None:
    # 15 March 2025 is in Ramadan 1446: the tz database puts Casablanca at UTC+0.
    assert end_of_day(date(2025, 3, 15)) == at("2025-03-15T23:59:59+00:00")


def test_deadlines_come_back_in_utc() -> None:
    assert working("2025-05-12T10:00:00+01:00", 1).tzinfo is UTC


def test_the_receipt_day_is_the_casablanca_day() -> None:
    # 23:30 UTC on 12 May 2025 is already 00:30 on 13 May in Casablanca (UTC+1).
    assert local_day(at("2025-05-12T23:30:00+00:00")) == date(2025, 5, 13)
    # In Ramadan the two days coincide.
    assert local_day(at("2025-03-12T23:30:00+00:00")) == date(2025, 3, 12)


def test_working_days_skip_the_weekend() -> None:
    # Wednesday 14 May 2025 + 5: Thu 15, Fri 16, Mon 19, Tue 20, Wed 21.
    assert working("2025-05-14T09:00:00+01:00", 5) == at("2025-05-21T22:59:59+00:00")


def test_working_days_skip_a_fixed_holiday() -> None:
    # Wednesday 5 Nov 2025 + 1: Thursday 6 Nov is the Green March, so Friday 7 Nov.
    assert working("2025-11-05T11:00:00+01:00", 1) == at("2025-11-07T22:59:59+00:00")


def test_working_days_across_eid_al_fitr_in_ramadan_time() -> None:
    # Thursday 27 Mar 2025 + 3: Fri 28 (1), Mon 31 and Tue 1 Apr are Eid al-Fitr,
    # Wed 2 Apr (2), Thu 3 Apr (3). Still UTC+0 until 6 April.
    assert working("2025-03-27T10:00:00+00:00", 3) == at("2025-04-03T23:59:59+00:00")


def test_working_days_across_eid_al_adha_and_its_exceptional_monday() -> None:
    # Friday 6 Jun 2025 + 1: Sat 7 and Sun 8 (Eid), Mon 9 (exceptional day off): Tue 10.
    assert working("2025-06-06T15:00:00+01:00", 1) == at("2025-06-10T22:59:59+00:00")


def test_working_days_across_eid_al_fitr_2024_and_the_offset_change() -> None:
    # Tuesday 9 Apr 2024 (UTC+0) + 1: Wed 10 and Thu 11 Eid, Fri 12 exceptional,
    # weekend, Monday 15 Apr, by then back at UTC+1 (changed 14 April).
    assert working("2024-04-09T14:00:00+00:00", 1) == at("2024-04-15T22:59:59+00:00")


def test_working_days_across_the_year_end() -> None:
    # Tuesday 31 Dec 2024 + 3: 1 Jan is New Year, Thu 2 (1), Fri 3 (2), Mon 6 (3).
    assert working("2024-12-31T16:00:00+01:00", 3) == at("2025-01-06T22:59:59+00:00")


def test_twenty_working_days_across_the_year_end() -> None:
    # Friday 20 Dec 2024 + 20: Dec 23 24 25 26 27 30 31 (7; Christmas is a working day),
    # 1 Jan off, Jan 2 3 6 7 8 9 10 13 (15), 14 Jan off (Yennayer), Jan 15 16 17 20 21 (20).
    assert working("2024-12-20T10:00:00+01:00", 20) == at("2025-01-21T22:59:59+00:00")


def test_friday_evening_and_saturday_both_start_counting_on_monday() -> None:
    monday_end = at("2025-05-12T22:59:59+00:00")
    assert working("2025-05-09T21:30:00+01:00", 1) == monday_end
    assert working("2025-05-10T10:00:00+01:00", 1) == monday_end
    assert working("2025-05-11T23:59:00+01:00", 1) == monday_end


def test_late_evening_utc_belongs_to_the_next_casablanca_day() -> None:
    # 23:30 UTC Friday 9 May 2025 is 00:30 Saturday in Casablanca: still Monday's count.
    assert working("2025-05-09T23:30:00+00:00", 1) == at("2025-05-12T22:59:59+00:00")
    # 22:30 UTC Thursday 8 May is 23:30 Thursday: Friday is the first day.
    assert working("2025-05-08T22:30:00+00:00", 1) == at("2025-05-09T22:59:59+00:00")


def test_zero_working_days_is_the_end_of_the_day_or_the_next_working_day() -> None:
    assert working("2025-05-14T09:00:00+01:00", 0) == at("2025-05-14T22:59:59+00:00")
    assert working("2025-05-10T09:00:00+01:00", 0) == at("2025-05-12T22:59:59+00:00")


def test_calendar_days_count_every_day() -> None:
    # Monday 10 Mar 2025 + 15 = Tuesday 25 Mar, in Ramadan time (UTC+0).
    assert calendar_days("2025-03-10T11:00:00+00:00", 15) == at("2025-03-25T23:59:59+00:00")
    # + 60 = Friday 9 May (21 days left in March, 30 in April, 9 in May), at UTC+1.
    assert calendar_days("2025-03-10T11:00:00+00:00", 60) == at("2025-05-09T22:59:59+00:00")


def test_calendar_days_ending_on_a_weekend_move_to_monday() -> None:
    # Saturday 18 Oct 2025 + 15 = Sunday 2 Nov: due Monday 3 Nov.
    assert calendar_days("2025-10-18T10:00:00+01:00", 15) == at("2025-11-03T22:59:59+00:00")


def test_calendar_days_ending_on_a_holiday_move_to_the_next_working_day() -> None:
    # Wednesday 22 Oct 2025 + 15 = Thursday 6 Nov, Green March: due Friday 7 Nov.
    assert calendar_days("2025-10-22T10:00:00+01:00", 15) == at("2025-11-07T22:59:59+00:00")


def test_calendar_days_without_roll_forward_may_end_on_a_sunday() -> None:
    assert calendar_days("2025-10-18T10:00:00+01:00", 15, roll_forward=False) == at(
        "2025-11-02T22:59:59+00:00"
    )


def test_calendar_days_across_the_year_end() -> None:
    # Tuesday 17 Dec 2024 + 15 = Wednesday 1 Jan 2025, New Year: due Thursday 2 Jan.
    assert calendar_days("2024-12-17T10:00:00+01:00", 15) == at("2025-01-02T22:59:59+00:00")


def test_a_year_without_movable_data_still_skips_weekends_and_fixed_holidays() -> None:
    assert not CALENDAR.covers(2030)
    # Wednesday 30 Oct 2030 + 1: Thursday 31 Oct is Unity Day, so Friday 1 Nov.
    assert working("2030-10-30T10:00:00+01:00", 1) == at("2030-11-01T22:59:59+00:00")


def test_saturday_and_sunday_are_never_working_days() -> None:
    empty = HolidayCalendar(fixed=())
    week = [date(2025, 5, day) for day in range(5, 12)]  # Monday 5 to Sunday 11 May 2025
    assert [d.day for d in week if is_working_day(day=d, calendar=empty)] == [5, 6, 7, 8, 9]


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        add_working_days(start=datetime(2025, 5, 14, 9), days=1, calendar=CALENDAR)


def test_negative_periods_are_refused() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        working("2025-05-14T09:00:00+01:00", -1)
    with pytest.raises(ValueError, match=">= 0"):
        calendar_days("2025-05-14T09:00:00+01:00", -1)


def test_an_offset_given_in_the_input_does_not_matter() -> None:
    same_instant = [at("2025-05-14T08:00:00+00:00"), datetime(2025, 5, 14, 9, tzinfo=PLUS_ONE)]
    assert {add_working_days(start=s, days=2, calendar=CALENDAR) for s in same_instant} == {
        at("2025-05-16T22:59:59+00:00")
    }
