"""The values the lifecycle works on: the complaint snapshot, actors, payloads, results."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from marfiq_complaints.deadlines import DeadlineRules, Deadlines, HolidayCalendar, Kind
from marfiq_complaints.lifecycle.states import Action, ActorRole, State
from marfiq_complaints.lifecycle.table import TransitionTable

RATINGS = range(1, 6)


@dataclass(frozen=True, slots=True)
class Actor:
    role: ActorRole
    id: str
    # The administration an agent (or partner client) acts for.
    administration_id: str | None = None

    @classmethod
    def citizen(cls, actor_id: str) -> Actor:
        return cls(ActorRole.CITIZEN, actor_id)

    @classmethod
    def agent(cls, actor_id: str, *, administration_id: str) -> Actor:
        return cls(ActorRole.AGENT, actor_id, administration_id)

    @classmethod
    def system(cls, actor_id: str = "scheduler") -> Actor:
        return cls(ActorRole.SYSTEM, actor_id)


@dataclass(frozen=True, slots=True)
class ComplaintSnapshot:
    """What the rules need to know about a complaint; times are aware (UTC)."""

    kind: Kind
    state: State
    owner_id: str
    # The administration holding it now (the competent one after a redirect).
    administration_id: str
    due_answer_at: datetime
    due_ack_at: datetime | None = None
    urgent: bool = False
    assignee_id: str | None = None
    # The latest answer.
    answered_at: datetime | None = None
    extended: bool = False
    reopen_count: int = 0
    rating: int | None = None


@dataclass(frozen=True, slots=True)
class Payload:
    reason: str | None = None
    assignee_id: str | None = None
    target_administration_id: str | None = None
    rating: int | None = None
    comment: str | None = None


NO_PAYLOAD = Payload()


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One line of the complaint's timeline: who did what, when and why."""

    action: Action
    actor_role: ActorRole
    actor_id: str
    at: datetime
    from_state: State | None
    to_state: State
    reason: str | None = None
    details: Mapping[str, str | int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TransitionResult:
    snapshot: ComplaintSnapshot
    entry: TimelineEntry
    # Set when the step changed a due date: both due dates as they now stand.
    deadlines: Deadlines | None = None

    @property
    def state(self) -> State:
        return self.snapshot.state


@dataclass(frozen=True, slots=True)
class Policy:
    """Everything the lifecycle reads besides the complaint: rules, holidays, the table."""

    rules: DeadlineRules
    calendar: HolidayCalendar
    table: TransitionTable = field(default_factory=TransitionTable)
