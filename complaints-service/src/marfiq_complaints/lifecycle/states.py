"""The vocabulary of the lifecycle: states, actions, who acts, which clocks run."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class State(StrEnum):
    SUBMITTED = "submitted"
    ACKNOWLEDGED = "acknowledged"
    ASSIGNED = "assigned"
    ANSWERED = "answered"
    CLOSED = "closed"
    # Received by the competent administration after a redirect, not yet acknowledged there.
    REDIRECTED = "redirected"
    REJECTED = "rejected"
    EXTENDED = "extended"
    REOPENED = "reopened"


class Action(StrEnum):
    # Only starts a lifecycle (see machine.start); no state accepts it.
    SUBMIT = "submit"
    ACKNOWLEDGE = "acknowledge"
    ASSIGN = "assign"
    ANSWER = "answer"
    REDIRECT = "redirect"
    REJECT = "reject"
    EXTEND = "extend"
    REOPEN = "reopen"
    CLOSE = "close"
    RATE = "rate"


class ActorRole(StrEnum):
    """What an actor is; partner clients acting for their administration count as agents."""

    CITIZEN = "citizen"
    AGENT = "agent"
    SYSTEM = "system"


class Party(StrEnum):
    """Who a transition allows, relative to the complaint."""

    # The citizen who filed it.
    OWNER = "owner"
    # An agent (or partner client) of the administration that holds it now.
    HOLDER = "holder"
    # The service itself (scheduler).
    SYSTEM = "system"


class Clock(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    ANSWER = "answer"


# Which due dates a complaint must still meet in each state: the scheduler marks a complaint
# overdue only on these, and no clock runs once it is answered, closed or rejected.
RUNNING_CLOCKS: Mapping[State, frozenset[Clock]] = {
    State.SUBMITTED: frozenset({Clock.ACKNOWLEDGE, Clock.ANSWER}),
    State.REDIRECTED: frozenset({Clock.ACKNOWLEDGE, Clock.ANSWER}),
    State.ACKNOWLEDGED: frozenset({Clock.ANSWER}),
    State.ASSIGNED: frozenset({Clock.ANSWER}),
    State.EXTENDED: frozenset({Clock.ANSWER}),
    State.REOPENED: frozenset({Clock.ANSWER}),
    State.ANSWERED: frozenset(),
    State.CLOSED: frozenset(),
    State.REJECTED: frozenset(),
}

OPEN_STATES = frozenset(state for state, clocks in RUNNING_CLOCKS.items() if clocks)
