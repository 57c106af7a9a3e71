"""The steps of a correspondence as data: which action is legal in which state, and where
it leads. Pure; the service consults it before touching anything."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class State(StrEnum):
    REGISTERED = "registered"
    ASSIGNED = "assigned"
    DOCUMENTS_REQUESTED = "documents_requested"
    FORWARDED = "forwarded"
    ANSWERED = "answered"
    REJECTED = "rejected"
    CLOSED = "closed"


class Action(StrEnum):
    REGISTER = "register"
    ASSIGN = "assign"
    REQUEST_DOCUMENTS = "request_documents"
    ADD_DOCUMENTS = "add_documents"
    FORWARD = "forward"
    ANSWER = "answer"
    REJECT = "reject"
    CLOSE = "close"
    NOTE = "note"


class Party(StrEnum):
    """Who may take a step: the holding administration, or the sender."""

    HOLDER = "holder"
    SENDER = "sender"


OPEN = frozenset({State.REGISTERED, State.ASSIGNED, State.DOCUMENTS_REQUESTED})

# action -> (who, states it may start from, the state it leads to; None: computed)
TRANSITIONS: Mapping[Action, tuple[Party, frozenset[State], State | None]] = {
    Action.ASSIGN: (Party.HOLDER, frozenset({State.REGISTERED, State.ASSIGNED}), State.ASSIGNED),
    Action.REQUEST_DOCUMENTS: (
        Party.HOLDER,
        frozenset({State.REGISTERED, State.ASSIGNED}),
        State.DOCUMENTS_REQUESTED,
    ),
    # Back to where it was: assigned if someone has it, registered otherwise.
    Action.ADD_DOCUMENTS: (Party.SENDER, frozenset({State.DOCUMENTS_REQUESTED}), None),
    Action.FORWARD: (Party.HOLDER, OPEN, State.FORWARDED),
    Action.ANSWER: (Party.HOLDER, OPEN, State.ANSWERED),
    Action.REJECT: (Party.HOLDER, OPEN, State.REJECTED),
    Action.CLOSE: (Party.HOLDER, frozenset({State.ANSWERED, State.REJECTED}), State.CLOSED),
    # Internal notes change nothing and may be written at any time, even once closed.
    Action.NOTE: (Party.HOLDER, frozenset(State), None),
}


class IllegalStep(Exception):
    """The action is not allowed in the current state (HTTP 409)."""

    def __init__(self, action: Action, state: State) -> None:
        super().__init__(f"{action} is not possible in state {state}")
        self.action = action
        self.state = state


def next_state(action: Action, state: State, *, assigned: bool) -> State:
    """Where `action` leads from `state`, or IllegalStep."""
    _, sources, target = TRANSITIONS[action]
    if state not in sources:
        raise IllegalStep(action, state)
    if target is not None:
        return target
    if action is Action.ADD_DOCUMENTS:
        return State.ASSIGNED if assigned else State.REGISTERED
    return state


def allowed_actions(state: State, party: Party | None) -> list[Action]:
    """What `party` may do now, in a stable order (for clients to show the right buttons)."""
    return [
        action
        for action, (who, sources, _) in TRANSITIONS.items()
        if who is party and state in sources
    ]
