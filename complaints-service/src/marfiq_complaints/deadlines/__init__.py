"""Legal deadlines: Morocco's holiday calendar, day arithmetic in Casablanca, rules per kind.

Pure functions only: no database, no clock of its own (the caller passes `now`).
"""

from marfiq_complaints.deadlines.calendar import (
    FIXED_HOLIDAYS,
    CalendarDataError,
    FixedHoliday,
    Holiday,
    HolidayCalendar,
    load_calendar,
    parse_holidays,
)
from marfiq_complaints.deadlines.clock import (
    CASABLANCA,
    add_calendar_days,
    add_working_days,
    end_of_day,
    is_working_day,
    local_day,
    next_working_day,
)
from marfiq_complaints.deadlines.due import (
    Deadlines,
    answer_due_after_reopen,
    deadlines_after_redirect,
    extended_answer_due,
    initial_deadlines,
    reopen_window_end,
)
from marfiq_complaints.deadlines.rules import (
    DayCount,
    DeadlineRules,
    Kind,
    KindRules,
    Period,
    RulesDataError,
    Schedule,
    load_rules,
    parse_rules,
)

__all__ = [
    "CASABLANCA",
    "FIXED_HOLIDAYS",
    "CalendarDataError",
    "DayCount",
    "DeadlineRules",
    "Deadlines",
    "FixedHoliday",
    "Holiday",
    "HolidayCalendar",
    "Kind",
    "KindRules",
    "Period",
    "RulesDataError",
    "Schedule",
    "add_calendar_days",
    "add_working_days",
    "answer_due_after_reopen",
    "deadlines_after_redirect",
    "end_of_day",
    "extended_answer_due",
    "initial_deadlines",
    "is_working_day",
    "load_calendar",
    "load_rules",
    "local_day",
    "next_working_day",
    "parse_holidays",
    "parse_rules",
    "reopen_window_end",
]
