"""What each step requires and what it changes, with a frozen clock and hand-worked dates."""

from dataclasses import replace
from datetime import datetime

import pytest

from marfiq_complaints.lifecycle import (
    Action,
    Actor,
    ActorNotAllowed,
    AlreadyExtended,
    AlreadyRated,
    AssigneeRequired,
    Clock,
    ComplaintSnapshot,
    ExtensionTooLate,
    IllegalTransition,
    InvalidRating,
    InvalidRedirectTarget,
    Kind,
    Payload,
    ReasonRequired,
    ReopenLimitReached,
    ReopenWindowClosed,
    ReopenWindowOpen,
    State,
    TransitionResult,
    UrgencyNotApplicable,
    allowed_actions,
    apply,
    load_policy,
    overdue_clocks,
    start,
)

POLICY = load_policy()
CITIZEN = Actor.citizen("citizen-1")
AGENT = Actor.agent("agent-1", administration_id="adm-1")
OTHER_AGENT = Actor.agent("agent-9", administration_id="adm-2")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def complaint(state: State, **changes: object) -> ComplaintSnapshot:
    base = ComplaintSnapshot(
        kind=Kind.COMPLAINT,
        state=state,
        owner_id="citizen-1",
        administration_id="adm-1",
        due_ack_at=at("2025-09-16T22:59:59+00:00"),
        due_answer_at=at("2025-10-31T22:59:59+00:00"),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def information_request(state: State, **changes: object) -> ComplaintSnapshot:
    fields: dict[str, object] = {
        "kind": Kind.INFORMATION_REQUEST,
        "due_ack_at": None,
        "due_answer_at": at("2025-09-30T22:59:59+00:00"),
    }
    return complaint(state, **(fields | changes))


def step(
    snapshot: ComplaintSnapshot,
    action: Action,
    *,
    actor: Actor = AGENT,
    now: str = "2025-09-10T10:00:00+01:00",
    **payload: object,
) -> TransitionResult:
    return apply(
        snapshot=snapshot,
        action=action,
        actor=actor,
        now=at(now),
        policy=POLICY,
        payload=Payload(**payload),  # type: ignore[arg-type]
    )


# --- reasons and payload -------------------------------------------------------------


@pytest.mark.parametrize(
    ("snapshot", "action", "actor"),
    [
        (complaint(State.ACKNOWLEDGED), Action.REJECT, AGENT),
        (complaint(State.ACKNOWLEDGED), Action.REDIRECT, AGENT),
        (information_request(State.ASSIGNED), Action.EXTEND, AGENT),
        (
            complaint(State.ANSWERED, answered_at=at("2025-09-09T10:00:00+01:00")),
            Action.REOPEN,
            CITIZEN,
        ),
    ],
)
@pytest.mark.parametrize("reason", [None, "", "   "])
def test_steps_that_need_a_reason_refuse_none_or_blank(
    snapshot: ComplaintSnapshot, action: Action, actor: Actor, reason: str | None
) -> None:
    with pytest.raises(ReasonRequired) as caught:
        step(snapshot, action, actor=actor, reason=reason, target_administration_id="adm-2")
    assert caught.value.status == 422
    assert caught.value.extensions["errors"][0]["field"] == "reason"


def test_the_reason_is_kept_trimmed_in_the_timeline() -> None:
    result = step(complaint(State.SUBMITTED), Action.REJECT, reason="  not our remit  ")
    assert result.state is State.REJECTED
    assert result.entry.reason == "not our remit"


def test_assigning_needs_an_assignee() -> None:
    with pytest.raises(AssigneeRequired):
        step(complaint(State.ACKNOWLEDGED), Action.ASSIGN, assignee_id=" ")
    result = step(complaint(State.ACKNOWLEDGED), Action.ASSIGN, assignee_id="agent-7")
    assert result.snapshot.assignee_id == "agent-7"
    assert result.entry.details == {"assignee_id": "agent-7"}


@pytest.mark.parametrize("target", [None, "adm-1"])
def test_a_redirect_needs_another_administration(target: str | None) -> None:
    with pytest.raises(InvalidRedirectTarget):
        step(
            complaint(State.ACKNOWLEDGED),
            Action.REDIRECT,
            reason="x",
            target_administration_id=target,
        )


# --- redirect --------------------------------------------------------------------------


def test_a_redirect_moves_the_complaint_with_fresh_deadlines() -> None:
    before = complaint(State.ASSIGNED, assignee_id="agent-1")
    result = step(
        before,
        Action.REDIRECT,
        now="2025-12-12T16:00:00+01:00",
        reason="the municipality is competent",
        target_administration_id="adm-2",
    )
    # Friday 12 Dec 2025: + 15 = Sat 27 Dec, due Mon 29 Dec; + 60 = Tue 10 Feb 2026.
    assert result.deadlines is not None
    assert result.snapshot.due_ack_at == at("2025-12-29T22:59:59+00:00")
    assert result.snapshot.due_answer_at == at("2026-02-10T22:59:59+00:00")
    assert result.snapshot.administration_id == "adm-2"
    assert result.snapshot.assignee_id is None
    assert result.state is State.REDIRECTED
    assert result.entry.details == {
        "from_administration_id": "adm-1",
        "to_administration_id": "adm-2",
        "due_ack_at": "2025-12-29T22:59:59+00:00",
        "due_answer_at": "2026-02-10T22:59:59+00:00",
    }
    # The first administration has let go; the competent one takes it in.
    with pytest.raises(ActorNotAllowed):
        step(result.snapshot, Action.ACKNOWLEDGE, actor=AGENT)
    assert step(result.snapshot, Action.ACKNOWLEDGE, actor=OTHER_AGENT).state is State.ACKNOWLEDGED


def test_a_redirected_information_request_may_be_extended_again_by_the_new_holder() -> None:
    before = information_request(State.ASSIGNED, extended=True, reopen_count=1)
    result = step(before, Action.REDIRECT, reason="x", target_administration_id="adm-2")
    assert result.snapshot.extended is False
    assert result.snapshot.reopen_count == 1


# --- extension -------------------------------------------------------------------------


def test_an_extension_adds_twenty_working_days_to_the_answer_due_date() -> None:
    # Due Tue 30 Sep 2025; + 20 working days = Tue 28 Oct.
    result = step(
        information_request(State.ASSIGNED),
        Action.EXTEND,
        now="2025-09-25T10:00:00+01:00",
        reason="the archives are being searched",
    )
    assert result.state is State.EXTENDED
    assert result.snapshot.extended
    assert result.snapshot.due_answer_at == at("2025-10-28T22:59:59+00:00")
    assert result.snapshot.due_ack_at is None
    assert result.entry.details == {"due_answer_at": "2025-10-28T22:59:59+00:00"}


def test_an_urgent_extension_adds_three_working_days() -> None:
    # Due Tue 5 Aug 2025; + 3 = Fri 8 Aug.
    before = information_request(
        State.ACKNOWLEDGED, urgent=True, due_answer_at=at("2025-08-05T22:59:59+00:00")
    )
    result = step(before, Action.EXTEND, now="2025-08-04T10:00:00+01:00", reason="x")
    assert result.snapshot.due_answer_at == at("2025-08-08T22:59:59+00:00")


def test_a_second_extension_is_refused() -> None:
    first = step(information_request(State.ASSIGNED), Action.EXTEND, reason="x")
    with pytest.raises(AlreadyExtended):
        step(first.snapshot, Action.EXTEND, reason="again")
    # Handing the request to another agent does not open a second extension.
    reassigned = step(first.snapshot, Action.ASSIGN, assignee_id="agent-2")
    assert reassigned.state is State.EXTENDED
    with pytest.raises(AlreadyExtended):
        step(reassigned.snapshot, Action.EXTEND, reason="again")


def test_an_extension_is_refused_after_a_reopening_of_an_extended_request() -> None:
    with pytest.raises(AlreadyExtended):
        step(information_request(State.REOPENED, extended=True), Action.EXTEND, reason="x")


def test_an_extension_must_come_before_the_answer_is_due() -> None:
    # Due 30 Sep 2025 23:59:59 Casablanca = 22:59:59 UTC.
    on_time = step(
        information_request(State.ASSIGNED),
        Action.EXTEND,
        now="2025-09-30T22:59:59+00:00",
        reason="x",
    )
    assert on_time.state is State.EXTENDED
    with pytest.raises(ExtensionTooLate) as caught:
        step(
            information_request(State.ASSIGNED),
            Action.EXTEND,
            now="2025-09-30T23:00:00+00:00",
            reason="x",
        )
    assert caught.value.extensions == {"due_answer_at": "2025-09-30T22:59:59+00:00"}


@pytest.mark.parametrize("kind", [Kind.COMPLAINT, Kind.OBSERVATION, Kind.SUGGESTION])
def test_only_information_requests_can_be_extended(kind: Kind) -> None:
    with pytest.raises(IllegalTransition):
        step(complaint(State.ASSIGNED, kind=kind), Action.EXTEND, reason="x")


# --- reopening and closing ---------------------------------------------------------------

# Answered Friday 9 May 2025; the 30-day window ends Sunday 8 June 23:59:59 Casablanca.
ANSWERED = complaint(State.ANSWERED, answered_at=at("2025-05-09T10:00:00+01:00"))
LAST_INSTANT = "2025-06-08T22:59:59+00:00"
TOO_LATE = "2025-06-08T23:00:00+00:00"


def test_the_citizen_reopens_within_the_window_with_a_fresh_answer_period() -> None:
    result = step(ANSWERED, Action.REOPEN, actor=CITIZEN, now=LAST_INSTANT, reason="incomplete")
    assert result.state is State.REOPENED
    assert result.snapshot.reopen_count == 1
    # Sunday 8 Jun 2025 (local) + 60 = Thursday 7 Aug; the acknowledgement date stays.
    assert result.snapshot.due_answer_at == at("2025-08-07T22:59:59+00:00")
    assert result.snapshot.due_ack_at == ANSWERED.due_ack_at


def test_reopening_after_the_window_is_refused() -> None:
    with pytest.raises(ReopenWindowClosed) as caught:
        step(ANSWERED, Action.REOPEN, actor=CITIZEN, now=TOO_LATE, reason="incomplete")
    assert caught.value.extensions == {"reopen_until": LAST_INSTANT}


def test_reopening_twice_is_refused() -> None:
    with pytest.raises(ReopenLimitReached):
        step(
            replace(ANSWERED, reopen_count=1),
            Action.REOPEN,
            actor=CITIZEN,
            now="2025-05-20T10:00:00+01:00",
            reason="still wrong",
        )


def test_only_the_owner_reopens() -> None:
    for actor in (Actor.citizen("citizen-2"), AGENT, Actor.system()):
        with pytest.raises(ActorNotAllowed) as caught:
            step(ANSWERED, Action.REOPEN, actor=actor, reason="x")
        assert caught.value.status == 403


def test_the_scheduler_closes_only_once_the_window_has_passed() -> None:
    with pytest.raises(ReopenWindowOpen):
        step(ANSWERED, Action.CLOSE, actor=Actor.system(), now=LAST_INSTANT)
    assert step(ANSWERED, Action.CLOSE, actor=Actor.system(), now=TOO_LATE).state is State.CLOSED


def test_the_owner_may_close_at_once() -> None:
    assert step(ANSWERED, Action.CLOSE, actor=CITIZEN).state is State.CLOSED


# --- rating --------------------------------------------------------------------------------


def test_rating_an_answer_closes_the_complaint() -> None:
    result = step(ANSWERED, Action.RATE, actor=CITIZEN, rating=5, comment=" quick and clear ")
    assert result.state is State.CLOSED
    assert result.snapshot.rating == 5
    assert result.entry.details == {"rating": 5, "comment": "quick and clear"}


@pytest.mark.parametrize("rating", [None, 0, 6, -1, True])
def test_a_rating_is_a_whole_number_from_one_to_five(rating: object) -> None:
    with pytest.raises(InvalidRating) as caught:
        step(ANSWERED, Action.RATE, actor=CITIZEN, rating=rating)
    assert caught.value.status == 422


@pytest.mark.parametrize(
    "state", [State.SUBMITTED, State.ACKNOWLEDGED, State.ASSIGNED, State.REOPENED, State.REJECTED]
)
def test_rating_comes_only_after_an_answer(state: State) -> None:
    with pytest.raises(IllegalTransition):
        step(complaint(state), Action.RATE, actor=CITIZEN, rating=4)


def test_a_complaint_closed_by_the_scheduler_can_be_rated_once() -> None:
    closed = step(ANSWERED, Action.CLOSE, actor=Actor.system(), now=TOO_LATE).snapshot
    rated = step(closed, Action.RATE, actor=CITIZEN, rating=3)
    assert (rated.state, rated.snapshot.rating) == (State.CLOSED, 3)
    with pytest.raises(AlreadyRated):
        step(rated.snapshot, Action.RATE, actor=CITIZEN, rating=4)


# --- who acts -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "actor", [CITIZEN, OTHER_AGENT, Actor.system(), Actor(AGENT.role, "agent-1")]
)
def test_only_agents_of_the_holding_administration_answer(actor: Actor) -> None:
    with pytest.raises(ActorNotAllowed):
        step(complaint(State.ASSIGNED), Action.ANSWER, actor=actor)


def test_the_actions_offered_depend_on_who_asks() -> None:
    assigned = information_request(State.ASSIGNED)
    assert allowed_actions(snapshot=assigned, actor=AGENT, policy=POLICY) == (
        Action.ASSIGN,
        Action.ANSWER,
        Action.REDIRECT,
        Action.REJECT,
        Action.EXTEND,
    )
    assert allowed_actions(snapshot=assigned, actor=OTHER_AGENT, policy=POLICY) == ()
    assert allowed_actions(snapshot=ANSWERED, actor=CITIZEN, policy=POLICY) == (
        Action.REOPEN,
        Action.CLOSE,
        Action.RATE,
    )
    assert allowed_actions(snapshot=ANSWERED, actor=Actor.system(), policy=POLICY) == (
        Action.CLOSE,
    )


# --- submission, clocks, inputs ----------------------------------------------------------


def test_a_submission_starts_both_clocks() -> None:
    # Monday 1 Sep 2025: + 15 = Tue 16 Sep; + 60 = Fri 31 Oct (not yet Unity Day in 2025).
    result = start(
        kind=Kind.COMPLAINT,
        owner_id="citizen-1",
        administration_id="adm-1",
        now=at("2025-09-01T09:00:00+01:00"),
        policy=POLICY,
    )
    assert result.state is State.SUBMITTED
    assert result.snapshot.due_ack_at == at("2025-09-16T22:59:59+00:00")
    assert result.snapshot.due_answer_at == at("2025-10-31T22:59:59+00:00")
    assert result.entry.action is Action.SUBMIT
    assert result.entry.from_state is None
    assert result.entry.details["administration_id"] == "adm-1"


def test_an_urgent_information_request_is_due_in_three_working_days() -> None:
    result = start(
        kind=Kind.INFORMATION_REQUEST,
        owner_id="citizen-1",
        administration_id="adm-1",
        now=at("2025-07-31T15:00:00+01:00"),
        policy=POLICY,
        urgent=True,
    )
    assert result.snapshot.urgent
    assert result.snapshot.due_ack_at is None
    assert result.snapshot.due_answer_at == at("2025-08-05T22:59:59+00:00")


def test_a_complaint_cannot_be_urgent() -> None:
    with pytest.raises(UrgencyNotApplicable) as caught:
        start(
            kind=Kind.COMPLAINT,
            owner_id="citizen-1",
            administration_id="adm-1",
            now=at("2025-07-31T15:00:00+01:00"),
            policy=POLICY,
            urgent=True,
        )
    assert caught.value.extensions["errors"][0]["field"] == "urgent"


def test_overdue_clocks_are_those_still_running() -> None:
    after_ack_due = at("2025-09-17T08:00:00+00:00")
    assert overdue_clocks(snapshot=complaint(State.SUBMITTED), now=after_ack_due) == {
        Clock.ACKNOWLEDGE
    }
    assert overdue_clocks(snapshot=complaint(State.ACKNOWLEDGED), now=after_ack_due) == set()
    after_answer_due = at("2025-11-01T08:00:00+00:00")
    assert overdue_clocks(snapshot=complaint(State.ASSIGNED), now=after_answer_due) == {
        Clock.ANSWER
    }
    assert overdue_clocks(snapshot=complaint(State.SUBMITTED), now=after_answer_due) == {
        Clock.ACKNOWLEDGE,
        Clock.ANSWER,
    }
    assert overdue_clocks(snapshot=ANSWERED, now=after_answer_due) == set()


def test_a_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        apply(
            snapshot=complaint(State.SUBMITTED),
            action=Action.ACKNOWLEDGE,
            actor=AGENT,
            now=datetime(2025, 9, 2, 10),
            policy=POLICY,
        )
