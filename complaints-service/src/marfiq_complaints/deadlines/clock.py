"""Day arithmetic in Africa/Casablanca: calendar days, working days, end of day in UTC.

The rules, everywhere the service computes a due date:

- Days are Casablanca days. An instant belongs to the day shown on a clock in Casablanca,
  with the offset the tz database gives (UTC+1, and UTC+0 during Ramadan).
- The day of receipt is never counted: "N days" means N days after it.
- A deadline falls due at the end of its last day, 23:59:59 Casablanca time, and is returned
  in UTC. It is overdue once the current instant is later than that.
- Working days are Monday to Friday, less public holidays.
- Working-day periods count only working days after the day of receipt, so a request that
  arrives on Friday evening, Saturday or Sunday has its first counted day on Monday.
- Calendar-day periods count every day; when the last day is not a working day the deadline
  moves to the end of the next working day (code de procédure civile, art. 512, applied to
  administrative deadlines by analogy), unless the period says otherwise.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from marfiq_complaints.deadlines.calendar import HolidayCalendar

CASABLANCA = ZoneInfo("Africa/Casablanca")
END_OF_DAY = time(23, 59, 59)
ONE_DAY = timedelta(days=1)


def local_day(moment: datetime) -> date:
    """The Casablanca calendar day that an aware instant falls on."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("deadline arithmetic needs timezone-aware datetimes")
    return moment.astimezone(CASABLANCA).date()


def end_of_day(day: date) -> datetime:
    """23:59:59 of a Casablanca day, as a UTC instant."""
    # Morocco changes offset at 02:00/03:00, so 23:59:59 is never skipped nor repeated.
    return datetime.combine(day, END_OF_DAY, tzinfo=CASABLANCA).astimezone(UTC)


def is_working_day(*, day: date, calendar: HolidayCalendar) -> bool:
    """Monday to Friday and not a public holiday."""
    return day.weekday() < 5 and not calendar.is_holiday(day)


def next_working_day(*, day: date, calendar: HolidayCalendar) -> date:
    """`day` itself when it is a working day, else the first working day after it."""
    while not is_working_day(day=day, calendar=calendar):
        day += ONE_DAY
    return day


def add_working_days(*, start: datetime, days: int, calendar: HolidayCalendar) -> datetime:
    """End (UTC) of the `days`-th working day after the Casablanca day of `start`.

    With `days` = 0 it is the end of the day of `start` if that is a working day, else of the
    next working day.
    """
    if days < 0:
        raise ValueError("a deadline counts forward: days must be >= 0")
    day = local_day(start)
    if days == 0:
        return end_of_day(next_working_day(day=day, calendar=calendar))
    remaining = days
    while remaining:
        day += ONE_DAY
        if is_working_day(day=day, calendar=calendar):
            remaining -= 1
    return end_of_day(day)


def add_calendar_days(
    *, start: datetime, days: int, calendar: HolidayCalendar, roll_forward: bool = True
) -> datetime:
    """End (UTC) of the day `days` days after the Casablanca day of `start`.

    When that day is a weekend or holiday and `roll_forward` is set, the end of the next
    working day instead.
    """
    if days < 0:
        raise ValueError("a deadline counts forward: days must be >= 0")
    day = local_day(start) + timedelta(days=days)
    if roll_forward:
        day = next_working_day(day=day, calendar=calendar)
    return end_of_day(day)
