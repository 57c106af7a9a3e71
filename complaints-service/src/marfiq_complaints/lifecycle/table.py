"""The table of transitions: (state, action) -> state, who may act, what each step requires.

This table is the whole lifecycle; `machine.apply` only reads it. A pair that is not in
the table for a kind is an illegal transition (409).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from marfiq_complaints.deadlines import Kind
from marfiq_complaints.lifecycle.states import Action, Party, State


class Requirement(StrEnum):
    # Payload the step needs (422 when missing or invalid).
    REASON = "reason"
    ASSIGNEE = "assignee"
    TARGET_ADMINISTRATION = "target_administration"
    RATING = "rating"
    # Conditions on the complaint and the clock (409 when not met).
    NOT_EXTENDED = "not_extended"
    ANSWER_NOT_DUE = "answer_not_due"
    # A reopening past the limit says so even when the window has also passed.
    REOPENS_LEFT = "reopens_left"
    WITHIN_REOPEN_WINDOW = "within_reopen_window"
    AFTER_REOPEN_WINDOW = "after_reopen_window"
    NOT_RATED = "not_rated"


class DeadlineEffect(StrEnum):
    KEEP = "keep"
    # Both periods start again from now (the new administration receives it).
    RESTART = "restart"
    # The answer period runs on by the kind's extension.
    EXTEND_ANSWER = "extend_answer"
    # The answer period starts again from now.
    RESTART_ANSWER = "restart_answer"


ALL_KINDS = frozenset(Kind)
INFORMATION_REQUESTS = frozenset({Kind.INFORMATION_REQUEST})


@dataclass(frozen=True, slots=True)
class Transition:
    action: Action
    sources: frozenset[State]
    # None: the complaint stays in the state it was in.
    target: State | None
    # Each party allowed, with what it must satisfy on top of the shared requirements.
    parties: Mapping[Party, frozenset[Requirement]]
    requires: frozenset[Requirement] = frozenset()
    kinds: frozenset[Kind] = ALL_KINDS
    deadlines: DeadlineEffect = DeadlineEffect.KEEP


def _t(
    action: Action,
    sources: Iterable[State],
    target: State | None,
    parties: Mapping[Party, Iterable[Requirement]],
    *,
    requires: Iterable[Requirement] = (),
    kinds: frozenset[Kind] = ALL_KINDS,
    deadlines: DeadlineEffect = DeadlineEffect.KEEP,
) -> Transition:
    return Transition(
        action=action,
        sources=frozenset(sources),
        target=target,
        parties={party: frozenset(extra) for party, extra in parties.items()},
        requires=frozenset(requires),
        kinds=kinds,
        deadlines=deadlines,
    )


S, A, P, R = State, Action, Party, Requirement
HOLDER: Mapping[Party, Iterable[Requirement]] = {P.HOLDER: ()}
OWNER: Mapping[Party, Iterable[Requirement]] = {P.OWNER: ()}

TRANSITIONS: tuple[Transition, ...] = (
    # The holding administration takes the request in (the system may, for automatic receipts).
    _t(A.ACKNOWLEDGE, {S.SUBMITTED, S.REDIRECTED}, S.ACKNOWLEDGED, {P.HOLDER: (), P.SYSTEM: ()}),
    # Assigning again hands the file to another agent.
    _t(
        A.ASSIGN,
        {S.ACKNOWLEDGED, S.ASSIGNED, S.REOPENED},
        S.ASSIGNED,
        HOLDER,
        requires={R.ASSIGNEE},
    ),
    # An extended request keeps showing it was extended when it changes hands.
    _t(A.ASSIGN, {S.EXTENDED}, None, HOLDER, requires={R.ASSIGNEE}, kinds=INFORMATION_REQUESTS),
    _t(A.ANSWER, {S.ACKNOWLEDGED, S.ASSIGNED, S.REOPENED}, S.ANSWERED, HOLDER),
    _t(A.ANSWER, {S.EXTENDED}, S.ANSWERED, HOLDER, kinds=INFORMATION_REQUESTS),
    # To the competent administration, which gets its own deadlines; not once answered.
    _t(
        A.REDIRECT,
        {S.SUBMITTED, S.ACKNOWLEDGED, S.ASSIGNED, S.REDIRECTED},
        S.REDIRECTED,
        HOLDER,
        requires={R.REASON, R.TARGET_ADMINISTRATION},
        deadlines=DeadlineEffect.RESTART,
    ),
    # Inadmissible: decided before any answer, with the reason given to the citizen.
    _t(
        A.REJECT,
        {S.SUBMITTED, S.ACKNOWLEDGED, S.ASSIGNED, S.REDIRECTED},
        S.REJECTED,
        HOLDER,
        requires={R.REASON},
    ),
    # Law 31.13 art. 16: once, with the reason, before the first period ends. Listing
    # EXTENDED as a source makes a second try say "already extended", not "illegal".
    _t(
        A.EXTEND,
        {S.ACKNOWLEDGED, S.ASSIGNED, S.REOPENED, S.EXTENDED},
        S.EXTENDED,
        HOLDER,
        requires={R.REASON, R.NOT_EXTENDED, R.ANSWER_NOT_DUE},
        kinds=INFORMATION_REQUESTS,
        deadlines=DeadlineEffect.EXTEND_ANSWER,
    ),
    # The citizen, not satisfied, within the window after the answer.
    _t(
        A.REOPEN,
        {S.ANSWERED},
        S.REOPENED,
        OWNER,
        requires={R.REASON, R.WITHIN_REOPEN_WINDOW, R.REOPENS_LEFT},
        deadlines=DeadlineEffect.RESTART_ANSWER,
    ),
    # The citizen closes when satisfied; the scheduler once the reopen window has passed.
    _t(A.CLOSE, {S.ANSWERED}, S.CLOSED, {P.OWNER: (), P.SYSTEM: (R.AFTER_REOPEN_WINDOW,)}),
    # Rating an answer is the citizen's last word on it: it closes the complaint.
    _t(A.RATE, {S.ANSWERED}, S.CLOSED, OWNER, requires={R.RATING, R.NOT_RATED}),
    # A complaint closed without a rating (by the scheduler) can still be rated, once.
    _t(A.RATE, {S.CLOSED}, None, OWNER, requires={R.RATING, R.NOT_RATED}),
)


class TransitionTable:
    """The transitions indexed by (kind, state, action); a pair appears at most once."""

    def __init__(self, transitions: Iterable[Transition] = TRANSITIONS) -> None:
        self.transitions = tuple(transitions)
        index: dict[tuple[Kind, State, Action], Transition] = {}
        for transition in self.transitions:
            for kind in transition.kinds:
                for source in transition.sources:
                    key = (kind, source, transition.action)
                    if key in index:
                        raise ValueError(f"two transitions for {key}")
                    index[key] = transition
        self._index = index

    def find(self, *, kind: Kind, state: State, action: Action) -> Transition | None:
        """The transition for this step, or None when it is illegal."""
        return self._index.get((kind, state, action))

    def actions(self, *, kind: Kind, state: State) -> tuple[Action, ...]:
        """Every action the table has from `state` for `kind`, in declaration order."""
        return tuple(action for action in Action if (kind, state, action) in self._index)
