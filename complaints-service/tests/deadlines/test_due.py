"""Due dates per kind, with hand-computed expectations."""

from datetime import datetime
from pathlib import Path

import pytest

from marfiq_complaints.deadlines import (
    DayCount,
    Deadlines,
    Kind,
    Period,
    RulesDataError,
    answer_due_after_reopen,
    deadlines_after_redirect,
    extended_answer_due,
    initial_deadlines,
    load_calendar,
    load_rules,
    reopen_window_end,
)

CALENDAR = load_calendar()
RULES = load_rules()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_packaged_rules_follow_the_decree_and_law_31_13() -> None:
    for kind in (Kind.COMPLAINT, Kind.OBSERVATION, Kind.SUGGESTION):
        normal = RULES.for_kind(kind).normal
        assert normal.acknowledge == Period(15, DayCount.CALENDAR)
        assert normal.answer == Period(60, DayCount.CALENDAR)
        assert normal.extension is None
        assert RULES.for_kind(kind).urgent is None
    information = RULES.for_kind(Kind.INFORMATION_REQUEST)
    assert information.normal.acknowledge is None
    assert information.normal.answer == Period(20, DayCount.WORKING)
    assert information.normal.extension == Period(20, DayCount.WORKING)
    assert information.urgent is not None
    assert information.urgent.answer == Period(3, DayCount.WORKING)
    assert information.urgent.extension == Period(3, DayCount.WORKING)
    assert information.reopen_window == Period(30, DayCount.CALENDAR, roll_forward=False)
    assert information.max_reopens == 1


def test_complaint_deadlines_in_calendar_days() -> None:
    # Monday 10 Mar 2025 (Ramadan, UTC+0): + 15 = Tue 25 Mar; + 60 = Fri 9 May (UTC+1).
    assert initial_deadlines(
        kind=Kind.COMPLAINT,
        received_at=at("2025-03-10T11:00:00+00:00"),
        rules=RULES,
        calendar=CALENDAR,
    ) == Deadlines(
        due_ack_at=at("2025-03-25T23:59:59+00:00"),
        due_answer_at=at("2025-05-09T22:59:59+00:00"),
    )


def test_suggestion_acknowledgement_landing_on_eid_moves_to_the_next_working_day() -> None:
    # Sunday 16 Mar 2025 + 15 = Mon 31 Mar, Eid al-Fitr (and Tue 1 Apr): due Wed 2 Apr.
    # + 60 = Thu 15 May.
    assert initial_deadlines(
        kind=Kind.SUGGESTION,
        received_at=at("2025-03-16T12:00:00+00:00"),
        rules=RULES,
        calendar=CALENDAR,
    ) == Deadlines(
        due_ack_at=at("2025-04-02T23:59:59+00:00"),
        due_answer_at=at("2025-05-15T22:59:59+00:00"),
    )


def test_information_request_has_twenty_working_days_and_no_acknowledgement() -> None:
    # Monday 1 Sep 2025 + 20 working days: Sep 2 3 4 (3), Fri 5 Mawlid, Sep 8-12 (8),
    # 15-19 (13), 22-26 (18), 29 30 (20).
    assert initial_deadlines(
        kind=Kind.INFORMATION_REQUEST,
        received_at=at("2025-09-01T09:00:00+01:00"),
        rules=RULES,
        calendar=CALENDAR,
    ) == Deadlines(due_ack_at=None, due_answer_at=at("2025-09-30T22:59:59+00:00"))


def test_urgent_information_request_has_three_working_days() -> None:
    # Thursday 31 Jul 2025, the day after Throne Day: Fri 1 Aug, Mon 4, Tue 5.
    deadlines = initial_deadlines(
        kind=Kind.INFORMATION_REQUEST,
        received_at=at("2025-07-31T15:00:00+01:00"),
        rules=RULES,
        calendar=CALENDAR,
        urgent=True,
    )
    assert deadlines.due_answer_at == at("2025-08-05T22:59:59+00:00")


def test_urgency_is_refused_for_complaints() -> None:
    with pytest.raises(ValueError, match="urgent"):
        initial_deadlines(
            kind=Kind.COMPLAINT,
            received_at=at("2025-07-31T15:00:00+01:00"),
            rules=RULES,
            calendar=CALENDAR,
            urgent=True,
        )


def test_extension_runs_on_from_the_current_due_date() -> None:
    # Due Tue 30 Sep 2025; + 20 working days: Oct 1-3 (3), 6-10 (8), 13-17 (13),
    # 20-24 (18), 27 28 (20). 31 Oct is a holiday only from 2026.
    assert extended_answer_due(
        kind=Kind.INFORMATION_REQUEST,
        due_answer_at=at("2025-09-30T22:59:59+00:00"),
        rules=RULES,
        calendar=CALENDAR,
    ) == at("2025-10-28T22:59:59+00:00")


def test_urgent_extension_is_three_more_working_days() -> None:
    # Due Tue 5 Aug 2025; + 3: Wed 6, Thu 7, Fri 8.
    assert extended_answer_due(
        kind=Kind.INFORMATION_REQUEST,
        due_answer_at=at("2025-08-05T22:59:59+00:00"),
        rules=RULES,
        calendar=CALENDAR,
        urgent=True,
    ) == at("2025-08-08T22:59:59+00:00")


def test_complaints_have_no_extension() -> None:
    with pytest.raises(ValueError, match="cannot be extended"):
        extended_answer_due(
            kind=Kind.COMPLAINT,
            due_answer_at=at("2025-09-30T22:59:59+00:00"),
            rules=RULES,
            calendar=CALENDAR,
        )


def test_a_redirect_gives_fresh_deadlines_from_the_redirect() -> None:
    # Redirected Friday 12 Dec 2025: + 15 = Sat 27 Dec, due Mon 29 Dec;
    # + 60 = Tue 10 Feb 2026 (19 days left in December, 31 in January, 10 in February).
    assert deadlines_after_redirect(
        kind=Kind.COMPLAINT,
        redirected_at=at("2025-12-12T16:00:00+01:00"),
        rules=RULES,
        calendar=CALENDAR,
    ) == Deadlines(
        due_ack_at=at("2025-12-29T22:59:59+00:00"),
        due_answer_at=at("2026-02-10T22:59:59+00:00"),
    )


def test_a_reopened_information_request_gets_twenty_working_days_again() -> None:
    # Reopened Monday 16 Mar 2026 (UTC+0 until 22 Mar): Tue 17, Wed 18, Thu 19 (3),
    # Fri 20 Eid, Mon 23-27 (8), Mar 30-Apr 3 (13), Apr 6-10 (18), Apr 13 14 (20).
    assert answer_due_after_reopen(
        kind=Kind.INFORMATION_REQUEST,
        reopened_at=at("2026-03-16T10:00:00+00:00"),
        rules=RULES,
        calendar=CALENDAR,
    ) == at("2026-04-14T22:59:59+00:00")


def test_the_reopen_window_ends_thirty_calendar_days_after_the_answer() -> None:
    # Answered Friday 9 May 2025: + 30 = Sunday 8 Jun, not moved (the desk is online).
    assert reopen_window_end(
        kind=Kind.COMPLAINT,
        answered_at=at("2025-05-09T10:00:00+01:00"),
        rules=RULES,
        calendar=CALENDAR,
    ) == at("2025-06-08T22:59:59+00:00")


def test_operator_rules_replace_a_kind(tmp_path: Path) -> None:
    extra = tmp_path / "rules.toml"
    extra.write_text(
        """
[complaint]
acknowledge = { days = 5, unit = "working" }
answer = { days = 30, unit = "working" }
reopen = { days = 15, unit = "calendar", roll_forward = false }
max_reopens = 2
""",
        encoding="utf-8",
    )
    rules = load_rules(extra_files=[extra])
    assert rules.for_kind(Kind.COMPLAINT).normal.acknowledge == Period(5, DayCount.WORKING)
    assert rules.for_kind(Kind.COMPLAINT).max_reopens == 2
    assert rules.for_kind(Kind.SUGGESTION) == RULES.for_kind(Kind.SUGGESTION)


@pytest.mark.parametrize(
    ("document", "complaint"),
    [
        ("[grievance]\n", "unknown kind"),
        ('[complaint]\nanswer = { days = 5, unit = "hours" }', "'unit'"),
        ('[complaint]\nanswer = { days = -1, unit = "working" }', "'days'"),
        ('[complaint]\nanswer = { days = 5, unit = "working" }', "'reopen'"),
        ('[complaint]\nreopen = { days = 5, unit = "calendar" }\nmax_reopens = 1', "'answer'"),
        ("[complaint]\nsla = 3", "unknown fields"),
    ],
)
def test_malformed_rule_files_are_refused(tmp_path: Path, document: str, complaint: str) -> None:
    extra = tmp_path / "bad.toml"
    extra.write_text(document, encoding="utf-8")
    with pytest.raises(RulesDataError, match=complaint):
        load_rules(extra_files=[extra])
