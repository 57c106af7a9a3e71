"""One check per requirement of the transition table; each passes or raises a typed error."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from marfiq_complaints.deadlines import reopen_window_end
from marfiq_complaints.lifecycle.errors import (
    AlreadyExtended,
    AlreadyRated,
    AssigneeRequired,
    ExtensionTooLate,
    InvalidRating,
    InvalidRedirectTarget,
    ReasonRequired,
    ReopenLimitReached,
    ReopenWindowClosed,
    ReopenWindowOpen,
)
from marfiq_complaints.lifecycle.model import RATINGS, ComplaintSnapshot, Payload, Policy
from marfiq_complaints.lifecycle.table import Requirement


def text(value: str | None) -> str | None:
    """The trimmed text, or None when there is none."""
    if value is None:
        return None
    return value.strip() or None


Check = Callable[[ComplaintSnapshot, Payload, datetime, Policy], None]


def _reason(snapshot: ComplaintSnapshot, payload: Payload, now: datetime, policy: Policy) -> None:
    if text(payload.reason) is None:
        raise ReasonRequired("reason", "a reason is required for this step")


def _assignee(snapshot: ComplaintSnapshot, payload: Payload, now: datetime, policy: Policy) -> None:
    if text(payload.assignee_id) is None:
        raise AssigneeRequired("assignee_id", "name the agent to assign")


def _target(snapshot: ComplaintSnapshot, payload: Payload, now: datetime, policy: Policy) -> None:
    target = text(payload.target_administration_id)
    if target is None or target == snapshot.administration_id:
        raise InvalidRedirectTarget(
            "target_administration_id", "name an administration other than the current one"
        )


def _rating(snapshot: ComplaintSnapshot, payload: Payload, now: datetime, policy: Policy) -> None:
    rating = payload.rating
    if isinstance(rating, bool) or not isinstance(rating, int) or rating not in RATINGS:
        raise InvalidRating("rating", "a whole number from 1 to 5")


def _not_extended(
    snapshot: ComplaintSnapshot, payload: Payload, now: datetime, policy: Policy
) -> None:
    if snapshot.extended:
        raise AlreadyExtended()


def _answer_not_due(
    snapshot: ComplaintSnapshot, payload: Payload, now: datetime, policy: Policy
) -> None:
    if now > snapshot.due_answer_at:
        raise ExtensionTooLate(due_answer_at=snapshot.due_answer_at.isoformat())


def _window_end(snapshot: ComplaintSnapshot, policy: Policy) -> datetime:
    if snapshot.answered_at is None:
        raise ValueError("an answered complaint needs answered_at")
    return reopen_window_end(
        kind=snapshot.kind,
        answered_at=snapshot.answered_at,
        rules=policy.rules,
        calendar=policy.calendar,
    )


def _within_window(
    snapshot: ComplaintSnapshot, payload: Payload, now: datetime, policy: Policy
) -> None:
    end = _window_end(snapshot, policy)
    if now > end:
        raise ReopenWindowClosed(reopen_until=end.isoformat())


def _reopens_left(
    snapshot: ComplaintSnapshot, payload: Payload, now: datetime, policy: Policy
) -> None:
    if snapshot.reopen_count >= policy.rules.for_kind(snapshot.kind).max_reopens:
        raise ReopenLimitReached()


def _after_window(
    snapshot: ComplaintSnapshot, payload: Payload, now: datetime, policy: Policy
) -> None:
    end = _window_end(snapshot, policy)
    if now <= end:
        raise ReopenWindowOpen(reopen_until=end.isoformat())


def _not_rated(
    snapshot: ComplaintSnapshot, payload: Payload, now: datetime, policy: Policy
) -> None:
    if snapshot.rating is not None:
        raise AlreadyRated()


CHECKS: Mapping[Requirement, Check] = {
    Requirement.REASON: _reason,
    Requirement.ASSIGNEE: _assignee,
    Requirement.TARGET_ADMINISTRATION: _target,
    Requirement.RATING: _rating,
    Requirement.NOT_EXTENDED: _not_extended,
    Requirement.ANSWER_NOT_DUE: _answer_not_due,
    Requirement.WITHIN_REOPEN_WINDOW: _within_window,
    Requirement.REOPENS_LEFT: _reopens_left,
    Requirement.AFTER_REOPEN_WINDOW: _after_window,
    Requirement.NOT_RATED: _not_rated,
}
