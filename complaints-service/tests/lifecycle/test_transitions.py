"""Every legal transition reaches its state; every other (state, action) is IllegalTransition.

The expected table is written out here by hand, independently of the one in the code, and
the two are compared, so a row added to or dropped from the code shows up as a failure.
"""

from dataclasses import replace
from datetime import datetime

import pytest

from marfiq_complaints.lifecycle import (
    Action,
    Actor,
    AlreadyExtended,
    ComplaintSnapshot,
    IllegalTransition,
    Kind,
    Payload,
    State,
    TransitionTable,
    apply,
    load_policy,
)

POLICY = load_policy()
OWNER, ADMINISTRATION, OTHER_ADMINISTRATION = "citizen-1", "adm-1", "adm-2"
# A Wednesday in May 2025; answers were given the day before, deadlines are weeks away.
NOW = datetime.fromisoformat("2025-05-14T10:00:00+01:00")
ANSWERED_AT = datetime.fromisoformat("2025-05-13T10:00:00+01:00")
# Past the 30-day reopen window of that answer (it ended on 12 June).
AFTER_WINDOW = datetime.fromisoformat("2025-06-13T10:00:00+01:00")

ACTORS = {
    "owner": Actor.citizen(OWNER),
    "agent": Actor.agent("agent-1", administration_id=ADMINISTRATION),
    "system": Actor.system(),
}
FULL_PAYLOAD = Payload(
    reason="the reason",
    assignee_id="agent-2",
    target_administration_id=OTHER_ADMINISTRATION,
    rating=4,
    comment="thanks",
)

EVERY_KIND = tuple(Kind)
INFORMATION = (Kind.INFORMATION_REQUEST,)
BEFORE_ANSWER = ("submitted", "acknowledged", "assigned", "redirected")

# (kinds, from, action, actor, to)
LEGAL: list[tuple[tuple[Kind, ...], str, str, str, str]] = [
    (EVERY_KIND, "submitted", "acknowledge", "agent", "acknowledged"),
    (EVERY_KIND, "submitted", "acknowledge", "system", "acknowledged"),
    (EVERY_KIND, "redirected", "acknowledge", "agent", "acknowledged"),
    (EVERY_KIND, "redirected", "acknowledge", "system", "acknowledged"),
    (EVERY_KIND, "acknowledged", "assign", "agent", "assigned"),
    (EVERY_KIND, "assigned", "assign", "agent", "assigned"),
    (EVERY_KIND, "reopened", "assign", "agent", "assigned"),
    (INFORMATION, "extended", "assign", "agent", "extended"),
    (EVERY_KIND, "acknowledged", "answer", "agent", "answered"),
    (EVERY_KIND, "assigned", "answer", "agent", "answered"),
    (EVERY_KIND, "reopened", "answer", "agent", "answered"),
    (INFORMATION, "extended", "answer", "agent", "answered"),
    *[(EVERY_KIND, source, "redirect", "agent", "redirected") for source in BEFORE_ANSWER],
    *[(EVERY_KIND, source, "reject", "agent", "rejected") for source in BEFORE_ANSWER],
    (INFORMATION, "acknowledged", "extend", "agent", "extended"),
    (INFORMATION, "assigned", "extend", "agent", "extended"),
    (INFORMATION, "reopened", "extend", "agent", "extended"),
    (EVERY_KIND, "answered", "reopen", "owner", "reopened"),
    (EVERY_KIND, "answered", "close", "owner", "closed"),
    (EVERY_KIND, "answered", "close", "system", "closed"),
    (EVERY_KIND, "answered", "rate", "owner", "closed"),
    (EVERY_KIND, "closed", "rate", "owner", "closed"),
]
# In the table only to give a better answer than "illegal": an extended request is refused
# a second extension with AlreadyExtended.
GUARDED = {(Kind.INFORMATION_REQUEST, State.EXTENDED, Action.EXTEND)}

LEGAL_CASES = [
    (kind, State(source), Action(action), actor, State(target))
    for kinds, source, action, actor, target in LEGAL
    for kind in kinds
]
LEGAL_KEYS = {(kind, source, action) for kind, source, action, _, _ in LEGAL_CASES}


def snapshot(kind: Kind, state: State) -> ComplaintSnapshot:
    answered = state in (State.ANSWERED, State.CLOSED)
    return ComplaintSnapshot(
        kind=kind,
        state=state,
        owner_id=OWNER,
        administration_id=ADMINISTRATION,
        due_ack_at=datetime.fromisoformat("2025-05-29T22:59:59+00:00"),
        due_answer_at=datetime.fromisoformat("2025-07-11T22:59:59+00:00"),
        assignee_id="agent-1" if state is not State.SUBMITTED else None,
        answered_at=ANSWERED_AT if answered else None,
        extended=state is State.EXTENDED,
    )


def test_the_table_holds_exactly_the_expected_transitions() -> None:
    table = TransitionTable()
    found = {
        (kind, state, action)
        for kind in Kind
        for state in State
        for action in table.actions(kind=kind, state=state)
    }
    assert found == LEGAL_KEYS | GUARDED


@pytest.mark.parametrize(
    ("kind", "source", "action", "actor", "target"),
    LEGAL_CASES,
    ids=[f"{k}-{s}-{a}-{who}" for k, s, a, who, _ in LEGAL_CASES],
)
def test_every_legal_transition_reaches_its_state(
    kind: Kind, source: State, action: Action, actor: str, target: State
) -> None:
    now = AFTER_WINDOW if (action, actor) == (Action.CLOSE, "system") else NOW
    result = apply(
        snapshot=snapshot(kind, source),
        action=action,
        actor=ACTORS[actor],
        now=now,
        policy=POLICY,
        payload=FULL_PAYLOAD,
    )
    assert result.state is target
    assert result.entry.action is action
    assert (result.entry.from_state, result.entry.to_state) == (source, target)
    assert (result.entry.actor_role, result.entry.actor_id) == (
        ACTORS[actor].role,
        ACTORS[actor].id,
    )
    assert result.entry.at == now
    assert result.entry.reason == "the reason"


ILLEGAL_CASES = [
    (kind, state, action)
    for kind in Kind
    for state in State
    for action in Action
    if (kind, state, action) not in LEGAL_KEYS | GUARDED
]


@pytest.mark.parametrize(
    ("kind", "state", "action"), ILLEGAL_CASES, ids=[f"{k}-{s}-{a}" for k, s, a in ILLEGAL_CASES]
)
def test_every_other_step_is_an_illegal_transition(
    kind: Kind, state: State, action: Action
) -> None:
    # Whoever asks, and with a complete payload: the state alone forbids it.
    for actor in ACTORS.values():
        with pytest.raises(IllegalTransition) as caught:
            apply(
                snapshot=snapshot(kind, state),
                action=action,
                actor=actor,
                now=NOW,
                policy=POLICY,
                payload=FULL_PAYLOAD,
            )
        assert caught.value.status == 409
        assert caught.value.extensions == {"state": state.value, "action": action.value}


def test_a_second_extension_is_already_extended_not_illegal() -> None:
    with pytest.raises(AlreadyExtended):
        apply(
            snapshot=snapshot(Kind.INFORMATION_REQUEST, State.EXTENDED),
            action=Action.EXTEND,
            actor=ACTORS["agent"],
            now=NOW,
            policy=POLICY,
            payload=FULL_PAYLOAD,
        )


def test_the_illegal_cases_cover_the_other_kinds_extension() -> None:
    # Extension exists for information requests only.
    for kind in (Kind.COMPLAINT, Kind.OBSERVATION, Kind.SUGGESTION):
        for state in State:
            assert (kind, state, Action.EXTEND) in ILLEGAL_CASES


def test_no_state_accepts_submit_and_terminal_states_accept_almost_nothing() -> None:
    assert all((k, s, Action.SUBMIT) in ILLEGAL_CASES for k in Kind for s in State)
    table = TransitionTable()
    assert table.actions(kind=Kind.COMPLAINT, state=State.REJECTED) == ()
    assert table.actions(kind=Kind.COMPLAINT, state=State.CLOSED) == (Action.RATE,)


def test_a_table_with_two_rows_for_one_step_is_refused() -> None:
    rows = TransitionTable().transitions
    with pytest.raises(ValueError, match="two transitions"):
        TransitionTable([*rows, replace(rows[0], target=State.ASSIGNED)])
