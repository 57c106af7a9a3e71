"""Due dates of a request: on submission, after an extension, a redirect or a reopening."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from marfiq_complaints.deadlines.calendar import HolidayCalendar
from marfiq_complaints.deadlines.rules import DeadlineRules, Kind


@dataclass(frozen=True, slots=True)
class Deadlines:
    """Both due dates, UTC; no acknowledgement due date where the kind has none."""

    due_ack_at: datetime | None
    due_answer_at: datetime


def initial_deadlines(
    *,
    kind: Kind,
    received_at: datetime,
    rules: DeadlineRules,
    calendar: HolidayCalendar,
    urgent: bool = False,
) -> Deadlines:
    """Acknowledgement and answer due dates for a request received at `received_at`."""
    schedule = rules.for_kind(kind).schedule(urgent=urgent)
    ack = schedule.acknowledge
    return Deadlines(
        due_ack_at=None if ack is None else ack.due(start=received_at, calendar=calendar),
        due_answer_at=schedule.answer.due(start=received_at, calendar=calendar),
    )


def deadlines_after_redirect(
    *,
    kind: Kind,
    redirected_at: datetime,
    rules: DeadlineRules,
    calendar: HolidayCalendar,
    urgent: bool = False,
) -> Deadlines:
    """Fresh due dates for the administration a request was redirected to.

    The competent administration receives the request when it is redirected, so its periods
    start then, exactly as for a new request.
    """
    return initial_deadlines(
        kind=kind, received_at=redirected_at, rules=rules, calendar=calendar, urgent=urgent
    )


def extended_answer_due(
    *,
    kind: Kind,
    due_answer_at: datetime,
    rules: DeadlineRules,
    calendar: HolidayCalendar,
    urgent: bool = False,
) -> datetime:
    """The answer due date once extended: the extension runs on from the current due date."""
    extension = rules.for_kind(kind).schedule(urgent=urgent).extension
    if extension is None:
        raise ValueError(f"requests of kind {kind} cannot be extended")
    return extension.due(start=due_answer_at, calendar=calendar)


def answer_due_after_reopen(
    *,
    kind: Kind,
    reopened_at: datetime,
    rules: DeadlineRules,
    calendar: HolidayCalendar,
    urgent: bool = False,
) -> datetime:
    """A reopened request gets the kind's full answer period again, from the reopening."""
    schedule = rules.for_kind(kind).schedule(urgent=urgent)
    return schedule.answer.due(start=reopened_at, calendar=calendar)


def reopen_window_end(
    *, kind: Kind, answered_at: datetime, rules: DeadlineRules, calendar: HolidayCalendar
) -> datetime:
    """The last instant (UTC) at which the citizen may reopen an answer given at `answered_at`."""
    return rules.for_kind(kind).reopen_window.due(start=answered_at, calendar=calendar)
