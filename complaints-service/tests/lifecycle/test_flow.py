"""A complaint's whole life, step by step, as the acceptance scenario runs it."""

from datetime import datetime

import pytest

from marfiq_complaints.lifecycle import (
    Action,
    Actor,
    IllegalTransition,
    Kind,
    Payload,
    State,
    TimelineEntry,
    apply,
    load_policy,
    start,
)

POLICY = load_policy()
CITIZEN = Actor.citizen("citizen-1")
AGENT = Actor.agent("agent-1", administration_id="adm-1")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_submit_acknowledge_assign_answer_reopen_answer_rate() -> None:
    timeline: list[TimelineEntry] = []
    # Monday 1 Sep 2025: acknowledgement due Tue 16 Sep, answer due Fri 31 Oct.
    result = start(
        kind=Kind.COMPLAINT,
        owner_id="citizen-1",
        administration_id="adm-1",
        now=at("2025-09-01T09:00:00+01:00"),
        policy=POLICY,
    )
    timeline.append(result.entry)
    steps = [
        (Action.ACKNOWLEDGE, AGENT, "2025-09-02T10:00:00+01:00", Payload()),
        (Action.ASSIGN, AGENT, "2025-09-03T10:00:00+01:00", Payload(assignee_id="agent-7")),
        (Action.ANSWER, AGENT, "2025-09-10T15:00:00+01:00", Payload()),
        (Action.REOPEN, CITIZEN, "2025-09-15T09:00:00+01:00", Payload(reason="partial answer")),
        (Action.ANSWER, AGENT, "2025-09-22T11:00:00+01:00", Payload()),
        (Action.RATE, CITIZEN, "2025-09-23T20:00:00+01:00", Payload(rating=5, comment="merci")),
    ]
    states = []
    for action, actor, now, payload in steps:
        result = apply(
            snapshot=result.snapshot,
            action=action,
            actor=actor,
            now=at(now),
            policy=POLICY,
            payload=payload,
        )
        timeline.append(result.entry)
        states.append(result.state)
        if action is Action.REOPEN:
            # Monday 15 Sep + 60 calendar days = Friday 14 Nov.
            assert result.snapshot.due_answer_at == at("2025-11-14T22:59:59+00:00")

    assert states == [
        State.ACKNOWLEDGED,
        State.ASSIGNED,
        State.ANSWERED,
        State.REOPENED,
        State.ANSWERED,
        State.CLOSED,
    ]
    final = result.snapshot
    assert final.rating == 5
    assert final.reopen_count == 1
    assert final.answered_at == at("2025-09-22T11:00:00+01:00")
    assert final.due_ack_at == at("2025-09-16T22:59:59+00:00")
    assert [entry.action for entry in timeline] == [
        Action.SUBMIT,
        Action.ACKNOWLEDGE,
        Action.ASSIGN,
        Action.ANSWER,
        Action.REOPEN,
        Action.ANSWER,
        Action.RATE,
    ]
    assert [entry.actor_id for entry in timeline] == [
        "citizen-1",
        "agent-1",
        "agent-1",
        "agent-1",
        "citizen-1",
        "agent-1",
        "citizen-1",
    ]
    assert timeline[0].details == {
        "administration_id": "adm-1",
        "due_ack_at": "2025-09-16T22:59:59+00:00",
        "due_answer_at": "2025-10-31T22:59:59+00:00",
    }
    assert timeline[4].reason == "partial answer"
    # Once rated and closed, nothing reopens it.
    with pytest.raises(IllegalTransition):
        apply(
            snapshot=final,
            action=Action.REOPEN,
            actor=CITIZEN,
            now=at("2025-09-24T09:00:00+01:00"),
            policy=POLICY,
            payload=Payload(reason="x"),
        )
