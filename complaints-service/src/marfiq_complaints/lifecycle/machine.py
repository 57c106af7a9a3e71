"""The lifecycle as a pure function: a snapshot and a step in, the next snapshot out.

No database and no clock: the caller loads the complaint, passes `now`, stores what comes
back (state, due dates, timeline entry) and publishes the event, in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from marfiq_complaints.deadlines import (
    Deadlines,
    Kind,
    answer_due_after_reopen,
    deadlines_after_redirect,
    extended_answer_due,
    initial_deadlines,
    load_calendar,
    load_rules,
    local_day,
)
from marfiq_complaints.lifecycle.checks import CHECKS, text
from marfiq_complaints.lifecycle.errors import (
    ActorNotAllowed,
    IllegalTransition,
    UrgencyNotApplicable,
)
from marfiq_complaints.lifecycle.model import (
    NO_PAYLOAD,
    Actor,
    ComplaintSnapshot,
    Payload,
    Policy,
    TimelineEntry,
    TransitionResult,
)
from marfiq_complaints.lifecycle.states import (
    RUNNING_CLOCKS,
    Action,
    ActorRole,
    Clock,
    Party,
    State,
)
from marfiq_complaints.lifecycle.table import DeadlineEffect, Requirement, Transition


def load_policy(
    *, holiday_files: Sequence[Path | str] = (), rule_files: Sequence[Path | str] = ()
) -> Policy:
    """The packaged rules and holidays, extended by the operator's files."""
    return Policy(
        rules=load_rules(extra_files=rule_files),
        calendar=load_calendar(extra_files=holiday_files),
    )


def start(
    *,
    kind: Kind,
    owner_id: str,
    administration_id: str,
    now: datetime,
    policy: Policy,
    urgent: bool = False,
) -> TransitionResult:
    """A new request as the citizen files it: submitted, with its first due dates."""
    local_day(now)  # refuses a naive `now`
    if urgent and policy.rules.for_kind(kind).urgent is None:
        raise UrgencyNotApplicable("urgent", f"a {kind} cannot be urgent")
    deadlines = initial_deadlines(
        kind=kind, received_at=now, rules=policy.rules, calendar=policy.calendar, urgent=urgent
    )
    snapshot = ComplaintSnapshot(
        kind=kind,
        state=State.SUBMITTED,
        owner_id=owner_id,
        administration_id=administration_id,
        due_answer_at=deadlines.due_answer_at,
        due_ack_at=deadlines.due_ack_at,
        urgent=urgent,
    )
    entry = TimelineEntry(
        action=Action.SUBMIT,
        actor_role=ActorRole.CITIZEN,
        actor_id=owner_id,
        at=now,
        from_state=None,
        to_state=State.SUBMITTED,
        details={"administration_id": administration_id, **_due_details(deadlines)},
    )
    return TransitionResult(snapshot=snapshot, entry=entry, deadlines=deadlines)


def apply(
    *,
    snapshot: ComplaintSnapshot,
    action: Action,
    actor: Actor,
    now: datetime,
    policy: Policy,
    payload: Payload = NO_PAYLOAD,
) -> TransitionResult:
    """Take one step: check it against the table, then return the complaint after it.

    Raises IllegalTransition (409) for a step the table does not have from this state for
    this kind, ActorNotAllowed (403) for an actor the step does not allow, a ValidationFailed
    (422) for missing or invalid payload, a Conflict (409) for an unmet condition.
    """
    local_day(now)  # refuses a naive `now`
    transition = policy.table.find(kind=snapshot.kind, state=snapshot.state, action=action)
    if transition is None:
        raise IllegalTransition(
            f"cannot {action} a {snapshot.kind} that is {snapshot.state}",
            state=snapshot.state.value,
            action=action.value,
        )
    party = _party(transition, actor=actor, snapshot=snapshot)
    required = transition.requires | transition.parties[party]
    for requirement in Requirement:  # declaration order: payload first, then conditions
        if requirement in required:
            CHECKS[requirement](snapshot, payload, now, policy)
    deadlines = _new_deadlines(transition.deadlines, snapshot=snapshot, now=now, policy=policy)
    changes = _changes(action, snapshot=snapshot, payload=payload, now=now)
    if deadlines is not None:
        changes.update(due_ack_at=deadlines.due_ack_at, due_answer_at=deadlines.due_answer_at)
    after = replace(snapshot, state=transition.target or snapshot.state, **changes)
    entry = TimelineEntry(
        action=action,
        actor_role=actor.role,
        actor_id=actor.id,
        at=now,
        from_state=snapshot.state,
        to_state=after.state,
        reason=text(payload.reason),
        details=_details(action, before=snapshot, after=after, payload=payload)
        | _due_details(deadlines),
    )
    return TransitionResult(snapshot=after, entry=entry, deadlines=deadlines)


def allowed_actions(
    *, snapshot: ComplaintSnapshot, actor: Actor, policy: Policy
) -> tuple[Action, ...]:
    """The steps this actor may try now (their payload and conditions still apply)."""
    found = (
        policy.table.find(kind=snapshot.kind, state=snapshot.state, action=action)
        for action in policy.table.actions(kind=snapshot.kind, state=snapshot.state)
    )
    return tuple(t.action for t in found if t is not None and _matching_party(t, actor, snapshot))


def overdue_clocks(*, snapshot: ComplaintSnapshot, now: datetime) -> frozenset[Clock]:
    """The due dates the complaint has missed among those still running in its state."""
    local_day(now)  # refuses a naive `now`
    due = {Clock.ACKNOWLEDGE: snapshot.due_ack_at, Clock.ANSWER: snapshot.due_answer_at}
    return frozenset(
        clock
        for clock in RUNNING_CLOCKS[snapshot.state]
        if (at := due[clock]) is not None and now > at
    )


def _matching_party(
    transition: Transition, actor: Actor, snapshot: ComplaintSnapshot
) -> Party | None:
    for party in transition.parties:
        if party is Party.OWNER and actor.role is ActorRole.CITIZEN:
            if actor.id == snapshot.owner_id:
                return party
        elif party is Party.HOLDER and actor.role is ActorRole.AGENT:
            if actor.administration_id == snapshot.administration_id:
                return party
        elif party is Party.SYSTEM and actor.role is ActorRole.SYSTEM:
            return party
    return None


def _party(transition: Transition, *, actor: Actor, snapshot: ComplaintSnapshot) -> Party:
    party = _matching_party(transition, actor, snapshot)
    if party is None:
        raise ActorNotAllowed(f"a {actor.role} cannot {transition.action} this complaint")
    return party


def _new_deadlines(
    effect: DeadlineEffect, *, snapshot: ComplaintSnapshot, now: datetime, policy: Policy
) -> Deadlines | None:
    kind, urgent, rules, calendar = snapshot.kind, snapshot.urgent, policy.rules, policy.calendar
    match effect:
        case DeadlineEffect.KEEP:
            return None
        case DeadlineEffect.RESTART:
            return deadlines_after_redirect(
                kind=kind, redirected_at=now, rules=rules, calendar=calendar, urgent=urgent
            )
        case DeadlineEffect.EXTEND_ANSWER:
            due = extended_answer_due(
                kind=kind,
                due_answer_at=snapshot.due_answer_at,
                rules=rules,
                calendar=calendar,
                urgent=urgent,
            )
        case DeadlineEffect.RESTART_ANSWER:
            due = answer_due_after_reopen(
                kind=kind, reopened_at=now, rules=rules, calendar=calendar, urgent=urgent
            )
    return Deadlines(due_ack_at=snapshot.due_ack_at, due_answer_at=due)


def _changes(
    action: Action, *, snapshot: ComplaintSnapshot, payload: Payload, now: datetime
) -> dict[str, Any]:
    match action:
        case Action.ASSIGN:
            return {"assignee_id": text(payload.assignee_id)}
        case Action.ANSWER:
            return {"answered_at": now}
        case Action.REDIRECT:
            # The competent administration starts afresh: its own agent, its own extension.
            return {
                "administration_id": text(payload.target_administration_id),
                "assignee_id": None,
                "extended": False,
            }
        case Action.EXTEND:
            return {"extended": True}
        case Action.REOPEN:
            return {"reopen_count": snapshot.reopen_count + 1}
        case Action.RATE:
            return {"rating": payload.rating}
        case _:
            return {}


def _details(
    action: Action, *, before: ComplaintSnapshot, after: ComplaintSnapshot, payload: Payload
) -> dict[str, str | int]:
    match action:
        case Action.ASSIGN if after.assignee_id is not None:
            return {"assignee_id": after.assignee_id}
        case Action.REDIRECT:
            # Both administrations keep the link through these two fields.
            return {
                "from_administration_id": before.administration_id,
                "to_administration_id": after.administration_id,
            }
        case Action.RATE if after.rating is not None:
            comment = text(payload.comment)
            return {"rating": after.rating} | ({"comment": comment} if comment else {})
        case _:
            return {}


def _due_details(deadlines: Deadlines | None) -> dict[str, str]:
    if deadlines is None:
        return {}
    due = {"due_answer_at": deadlines.due_answer_at.isoformat()}
    if deadlines.due_ack_at is not None:
        due["due_ack_at"] = deadlines.due_ack_at.isoformat()
    return due
