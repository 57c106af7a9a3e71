"""Requests and answers of the complaints API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from marfiq_complaints.complaints.models import (
    ANSWER_MAX,
    COMMENT_MAX,
    DESCRIPTION_MAX,
    REASON_MAX,
    SUBJECT_MAX,
)
from marfiq_complaints.deadlines import Kind
from marfiq_complaints.lifecycle import Action, State
from marfiq_shared.pagination import Page


def _text(max_length: int, *, min_length: int = 1) -> Any:
    # Surrounding blanks dropped; nothing but blanks is empty; no control characters other
    # than tab and line breaks (pasted letters keep their paragraphs).
    return StringConstraints(
        strip_whitespace=True,
        min_length=min_length,
        max_length=max_length,
        pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$",
    )


Subject = Annotated[str, _text(SUBJECT_MAX)]
Description = Annotated[str, _text(DESCRIPTION_MAX)]
Reason = Annotated[str, _text(REASON_MAX)]
AnswerText = Annotated[str, _text(ANSWER_MAX)]
Comment = Annotated[str, _text(COMMENT_MAX)]
AgentId = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=128, pattern=r"^[\w.:@-]+$"),
]


class ComplaintCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    administration_id: uuid.UUID
    kind: Kind
    subject: Subject = Field(examples=["Retard de délivrance d'un acte de naissance"])
    description: Description
    urgent: bool = Field(
        default=False,
        description="Information requests only: the information is needed urgently to "
        "protect someone's life, safety or freedom (law 31.13 art. 17).",
    )


class ComplaintCreated(BaseModel):
    id: uuid.UUID
    tracking_number: str
    status: State
    due_at: datetime = Field(description="When the answer is due (UTC)")
    due_ack_at: datetime | None = Field(description="When the acknowledgement is due (UTC)")
    created_at: datetime


class ComplaintSummary(BaseModel):
    """A complaint in a list."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    tracking_number: str
    kind: Kind
    status: State
    administration_id: uuid.UUID
    subject: str
    urgent: bool
    created_at: datetime
    received_at: datetime
    due_ack_at: datetime | None
    due_answer_at: datetime
    assignee_id: str | None
    overdue: bool
    overdue_since: datetime | None
    version: int


class ComplaintRead(ComplaintSummary):
    """A complaint as it stands, with what the caller may do next."""

    description: str
    updated_at: datetime
    acknowledged_at: datetime | None
    answer: str | None
    answered_at: datetime | None
    answer_count: int
    reopen_until: datetime | None
    closed_at: datetime | None
    extended: bool
    reopen_count: int
    redirect_count: int
    rating: int | None
    rating_comment: str | None
    allowed_actions: list[Action]


class TimelineEntryRead(BaseModel):
    at: datetime
    action: str
    actor_role: str
    actor_id: str | None = Field(description="Shown to agents only")
    from_state: State | None
    to_state: State | None
    reason: str | None
    message: str | None
    details: dict[str, Any]


class AttachmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    filename: str
    content_type: str
    size: int
    sha256: str
    uploader_role: str
    created_at: datetime


class RedirectionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    complaint_id: uuid.UUID
    tracking_number: str
    from_administration_id: uuid.UUID
    to_administration_id: uuid.UUID
    at: datetime
    reason: str


class ComplaintDetail(ComplaintRead):
    timeline: list[TimelineEntryRead]
    attachments: list[AttachmentRead]
    redirections: list[RedirectionRead]


class ComplaintPage(Page[ComplaintSummary]):
    pass


class RedirectionPage(Page[RedirectionRead]):
    pass


# --- steps ------------------------------------------------------------------------------


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NoteStep(_Step):
    """Acknowledge or close: an optional note for the timeline."""

    note: Reason | None = None


class AssignStep(_Step):
    assignee_id: AgentId = Field(description="The `sub` of the agent put in charge")


class AnswerStep(_Step):
    answer: AnswerText


class RedirectStep(_Step):
    target_administration_id: uuid.UUID
    reason: Reason


class ReasonStep(_Step):
    """Reject, extend or reopen: the reason is required and told to the other side."""

    reason: Reason


class RatingStep(_Step):
    rating: int = Field(ge=1, le=5)
    comment: Comment | None = None
