"""Requests and answers of the correspondence API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from marfiq_correspondence.correspondence.lifecycle import Action, State
from marfiq_correspondence.correspondence.models import BODY_MAX, REASON_MAX, SUBJECT_MAX, TEXT_MAX

MAX_FILES = 100

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
FileIds = Annotated[list[uuid.UUID], Field(max_length=MAX_FILES)]


def _unique(ids: list[uuid.UUID]) -> list[uuid.UUID]:
    return list(dict.fromkeys(ids))


class Company(BaseModel):
    """The company a representative writes for, identified by its ICE number."""

    model_config = ConfigDict(extra="forbid")

    ice: Annotated[str, StringConstraints(pattern=r"^\d{15}$")] = Field(
        description="Identifiant Commun de l'Entreprise: 15 digits"
    )
    name: Annotated[Text, StringConstraints(max_length=200)]


class CorrespondenceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    recipient_administration_id: uuid.UUID
    subject: Annotated[Text, StringConstraints(max_length=SUBJECT_MAX)]
    body: Annotated[str, StringConstraints(strip_whitespace=True, max_length=BODY_MAX)] = ""
    file_ids: FileIds = Field(default_factory=list, description="From POST /v1/files")
    sender_name: Annotated[Text, StringConstraints(max_length=200)] | None = Field(
        default=None, description="The name to print on the receipt"
    )
    company: Company | None = Field(
        default=None, description="Set by a company's representative: the company is the sender"
    )

    _dedupe = field_validator("file_ids")(_unique)


class CorrespondenceCreated(BaseModel):
    id: uuid.UUID
    case_id: uuid.UUID
    registration_number: str
    outgoing_number: str | None = None
    status: State
    registered_at: datetime
    receipt_code: str
    receipt_url: str


class Sender(BaseModel):
    kind: Literal["citizen", "company", "administration"]
    name: str | None = None
    cin: str | None = None
    company_ice: str | None = None
    company_name: str | None = None
    administration_id: uuid.UUID | None = None


class CorrespondenceSummary(BaseModel):
    id: uuid.UUID
    case_id: uuid.UUID
    registration_number: str
    outgoing_number: str | None
    status: State
    administration_id: uuid.UUID = Field(description="Whose register holds it")
    sender_kind: str
    sender_administration_id: uuid.UUID | None
    subject: str
    registered_at: datetime
    updated_at: datetime
    direction: Literal["in", "out"] | None = Field(
        description="For agents: received by (in) or sent by (out) their administration"
    )
    department: str | None = None
    assignee_id: str | None = None
    version: int


class CorrespondencePage(BaseModel):
    items: list[CorrespondenceSummary]
    next_cursor: str | None = None


class TimelineEntryRead(BaseModel):
    at: datetime
    action: str
    actor_role: str
    actor_id: str | None = Field(description="Shown to agents only")
    from_state: State | None
    to_state: State | None
    internal: bool = Field(description="An internal note: never shown to the sender")
    message: str | None
    details: dict[str, Any]


class DocumentRead(BaseModel):
    id: uuid.UUID
    kind: str = Field(
        description="attachment, supplement (added on request), answer, answer_attachment, receipt"
    )
    filename: str
    content_type: str
    size: int | None
    sha256: str | None = Field(description="Null for a receipt not drawn yet")
    added_at: datetime
    verification_code: str | None = None
    download_url: str


class ChainLink(BaseModel):
    """One registration of the same letter (the case), in forwarding order."""

    id: uuid.UUID
    registration_number: str
    administration_id: uuid.UUID
    status: State
    registered_at: datetime
    accessible: bool = Field(description="Whether the caller may open it")


class Answer(BaseModel):
    text: str
    answered_at: datetime
    verification_code: str


class CorrespondenceDetail(CorrespondenceSummary):
    body: str
    sender: Sender
    forwarded_from_id: uuid.UUID | None
    forwarded_to_id: uuid.UUID | None
    answer: Answer | None
    rejection_reason: str | None
    receipt_code: str
    chain: list[ChainLink]
    timeline: list[TimelineEntryRead]
    documents: list[DocumentRead]
    allowed_actions: list[Action]


class AssignStep(BaseModel):
    model_config = ConfigDict(extra="forbid")

    department: Annotated[Text, StringConstraints(max_length=120)]
    assignee_id: Annotated[Text, StringConstraints(max_length=128)] | None = None


class RequestDocumentsStep(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: Annotated[Text, StringConstraints(max_length=REASON_MAX)] = Field(
        description="What is missing, as the sender will read it"
    )


class AddDocumentsStep(BaseModel):
    model_config = ConfigDict(extra="forbid")

    file_ids: Annotated[list[uuid.UUID], Field(min_length=1, max_length=MAX_FILES)]
    message: Annotated[str, StringConstraints(strip_whitespace=True, max_length=REASON_MAX)] = ""

    _dedupe = field_validator("file_ids")(_unique)


class ForwardStep(BaseModel):
    model_config = ConfigDict(extra="forbid")

    administration_id: uuid.UUID = Field(description="The competent administration")
    reason: Annotated[Text, StringConstraints(max_length=REASON_MAX)]


class AnswerStep(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Annotated[Text, StringConstraints(max_length=TEXT_MAX)]
    file_ids: FileIds = Field(default_factory=list)

    _dedupe = field_validator("file_ids")(_unique)


class ReasonStep(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[Text, StringConstraints(max_length=REASON_MAX)]


class NoteStep(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Annotated[Text, StringConstraints(max_length=TEXT_MAX)]


class CloseStep(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=REASON_MAX)] = ""
