"""The catalogue: every event type on the platform and the schema of its `data`.

This is the one place a type name is spelled. A service publishes an instance of one of
these classes with `add_event(session, data)` and subscribes to `Class.type`. Add an event
by appending a subclass of `EventData` with a `type` and a docstring, then regenerate the
page: `python -m marfiq_shared.events > docs/events.md` (a test keeps them in step).

Evolve a schema only compatibly (add optional fields); a breaking change is a new type.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

# <service>.<aggregate>.<past-tense verb>, lower case.
TYPE_NAME = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")

EVENT_TYPES: dict[str, type[EventData]] = {}
"""Event type name -> model of its `data`; filled by subclassing `EventData`."""


class UnknownEventType(LookupError):
    """The type is not in the catalogue."""


class EventData(BaseModel):
    """Base of every event's `data`. A subclass that sets `type` is registered."""

    # Ignore unknown fields: a producer that added an optional field must not break
    # consumers still running the previous release.
    model_config = ConfigDict(frozen=True, extra="ignore")

    type: ClassVar[str]

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        event_type = cls.__dict__.get("type")
        if event_type is None:
            return  # a shared base of several events, not an event itself
        if not TYPE_NAME.match(event_type):
            raise ValueError(f"{event_type!r}: event types are <service>.<aggregate>.<verb>")
        known = EVENT_TYPES.get(event_type)
        # The same class defined again (a module reloaded) may replace itself, nothing else.
        if known is not None and _path(known) != _path(cls):
            raise ValueError(f"{event_type!r} is already {_path(known)}")
        EVENT_TYPES[event_type] = cls


def _path(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def data_model(event_type: str) -> type[EventData]:
    """The `data` model of a type, or `UnknownEventType`."""
    try:
        return EVENT_TYPES[event_type]
    except KeyError:
        raise UnknownEventType(event_type) from None


def parse_data(event_type: str, data: Mapping[str, Any]) -> EventData:
    """Validate an event's `data` against the catalogue."""
    return data_model(event_type).model_validate(data)


def render_markdown() -> str:
    """The catalogue as a Markdown page: each type, what it means, its `data` schema."""
    lines = [
        "# Event catalogue",
        "",
        "Generated from `marfiq_shared/events/catalogue.py` by",
        "`python -m marfiq_shared.events > docs/events.md`; do not edit by hand.",
        "",
        "Every event is a CloudEvents 1.0 JSON envelope (`specversion`, `id`, `source`, `type`,",
        "`time`, `subject`, `datacontenttype`, `data`, plus the `correlationid` and",
        "`traceparent` extensions) published on the topic exchange with the type as routing",
        "key. Delivery is at least once: consumers deduplicate on `id` and tolerate",
        "out-of-order arrival.",
        "",
        "| type | data model |",
        "|---|---|",
    ]
    types = sorted(EVENT_TYPES)
    lines += [f"| `{name}` | `{EVENT_TYPES[name].__name__}` |" for name in types]
    for name in types:
        model = EVENT_TYPES[name]
        schema = json.dumps(model.model_json_schema(), indent=2, ensure_ascii=False)
        lines += ["", f"## `{name}`", "", inspect.cleandoc(model.__doc__ or "")]
        lines += ["", "```json", schema, "```"]
    return "\n".join(lines) + "\n"


# --- identity ---------------------------------------------------------------------------


class AdministrationSnapshot(EventData):
    """The full state of an administration after a change (shared by its events)."""

    id: UUID
    code: str
    name_ar: str
    name_fr: str
    kind: str
    parent_id: UUID | None
    active: bool
    version: int = Field(
        ge=1,
        description="Grows by one with every change of this administration; a consumer "
        "ignores an event whose version is not above the one it holds.",
    )
    occurred_at: datetime


class AdministrationCreated(AdministrationSnapshot):
    """An administration was added to the directory.

    Services that route work to administrations (correspondence, complaints) keep a local
    copy of the directory from this event and `identity.administration.updated`.
    """

    type = "identity.administration.created"


class AdministrationUpdated(AdministrationSnapshot):
    """An administration's names, kind, parent or active flag changed.

    Carries the whole new state, so applying the highest `version` seen is enough.
    """

    type = "identity.administration.updated"


class SessionRevoked(EventData):
    """A sign-in session ended before its natural end (logout, refresh-token reuse, an
    agent disabled).

    Access tokens of the session `sid` must be refused until `expires_at`, the instant
    after which every access token it issued has expired anyway.
    """

    type = "identity.session.revoked"

    sid: str
    expires_at: datetime | None = None
    reason: str | None = Field(
        default=None, description="logout, refresh_token_reuse, account_disabled …"
    )


class NotificationRequested(EventData):
    """A service asks identity to tell a person something, on that person's channels
    (SMS, e-mail) and in their language.

    Name the person by `recipient_sub` (the `sub` of their tokens) or by a proven
    `recipient_cin`. `kind` selects a message identity knows (`complaints.status_changed`,
    `correspondence.status_changed`, `pensions.bank_account_changed`,
    `identity.new_sign_in`); an unknown kind sends a generic notice. A `params` value is
    either one string or one text per language (`{"ar": …, "fr": …, "en": …}`).
    Identity delivers each event once per channel, however often it is redelivered.
    """

    type = "identity.notification.requested"

    recipient_sub: UUID | None = None
    recipient_cin: str | None = Field(default=None, max_length=16)
    kind: str = Field(max_length=64, pattern=r"^[a-z][a-z0-9_.]*$")
    params: dict[str, str | dict[str, str]] = Field(default_factory=dict)
    channels: list[str] | None = Field(
        default=None, description="sms and/or email; all the person has when absent"
    )


# --- pensions ---------------------------------------------------------------------------


class AffiliateContactRegistered(EventData):
    """The pension fund holds this phone number for the affiliate with this CIN.

    Identity keeps these as authoritative contacts: a code verified on such a phone proves
    the CIN at assurance level `substantial`. The latest registration of a phone wins.
    """

    type = "pensions.affiliate.contact_registered"

    cin: str = Field(min_length=1, max_length=16)
    phone: str = Field(min_length=3, max_length=32)


# --- complaints -------------------------------------------------------------------------


class ComplaintEvent(EventData):
    """What every `complaints.complaint.*` event carries: the complaint as the step left it.

    Enough for a partner's system to keep its own copy and for a notifier to address the
    citizen (`citizen_sub`) or the assigned agent (`assignee_id`) without calling back.
    """

    complaint_id: UUID
    tracking_number: str = Field(description="The number the citizen holds, e.g. PLT-2026-…")
    kind: str = Field(description="complaint, observation, suggestion or information_request")
    status: str = Field(description="The state after the step")
    administration_id: UUID = Field(description="The administration holding it after the step")
    citizen_sub: str
    assignee_id: str | None = None
    urgent: bool = False
    due_ack_at: datetime | None = None
    due_answer_at: datetime | None = None
    version: int = Field(
        ge=1,
        description="Grows with every step of this complaint; a consumer ignores an event "
        "whose version is not above the one it holds.",
    )
    occurred_at: datetime
    actor_role: str = Field(description="citizen, agent (or partner client) or system")


class ComplaintSubmitted(ComplaintEvent):
    """A citizen filed a complaint, observation, suggestion or information request."""

    type = "complaints.complaint.submitted"

    subject: str


class ComplaintAcknowledged(ComplaintEvent):
    """The holding administration acknowledged receipt."""

    type = "complaints.complaint.acknowledged"


class ComplaintAssigned(ComplaintEvent):
    """An agent of the holding administration was put in charge (`assignee_id`)."""

    type = "complaints.complaint.assigned"


class ComplaintAnswered(ComplaintEvent):
    """The holding administration answered; `answer_count` is 2 after a reopening."""

    type = "complaints.complaint.answered"

    answered_at: datetime
    on_time: bool = Field(description="Answered by the answer due date then in force")
    answer_count: int = Field(ge=1)


class ComplaintRedirected(ComplaintEvent):
    """Sent to the competent administration (`administration_id`), with fresh due dates.

    The first administration loses access; both keep the link (`from_administration_id`).
    """

    type = "complaints.complaint.redirected"

    from_administration_id: UUID
    reason: str


class ComplaintRejected(ComplaintEvent):
    """Found inadmissible, with the reason the citizen is given."""

    type = "complaints.complaint.rejected"

    reason: str


class ComplaintExtended(ComplaintEvent):
    """The answer period of an information request was extended once (law 31.13 art. 16)."""

    type = "complaints.complaint.extended"

    reason: str
    previous_due_answer_at: datetime


class ComplaintReopened(ComplaintEvent):
    """The citizen, not satisfied with the answer, reopened it; a new answer period runs."""

    type = "complaints.complaint.reopened"

    reason: str
    reopen_count: int = Field(ge=1)


class ComplaintRated(ComplaintEvent):
    """The citizen rated the answer from 1 to 5."""

    type = "complaints.complaint.rated"

    rating: int = Field(ge=1, le=5)
    comment: str | None = None


class ComplaintClosed(ComplaintEvent):
    """Closed: by the citizen, by rating, or by the service once the reopen window ended."""

    type = "complaints.complaint.closed"


class ComplaintDeadlineEvent(ComplaintEvent):
    """A due date the scheduler acted on."""

    clock: str = Field(description="acknowledge or answer")
    due_at: datetime


class ComplaintOverdue(ComplaintDeadlineEvent):
    """A due date passed without the step it calls for; published once per due date."""

    type = "complaints.complaint.overdue"


class ComplaintReminderDue(ComplaintDeadlineEvent):
    """The answer falls due soon: a reminder for the assigned agent (`assignee_id`)."""

    type = "complaints.complaint.reminder_due"


class ComplaintEscalated(ComplaintDeadlineEvent):
    """Still overdue after the grace period: for the supervisors of `administration_id`."""

    type = "complaints.complaint.escalated"

    overdue_since: datetime


# --- correspondence ---------------------------------------------------------------------


class CorrespondenceEvent(EventData):
    """What every `correspondence.correspondence.*` event carries: the letter as the step
    left it, in the register of the administration holding it.

    Enough for a partner's system to keep its own copy, and for a notifier to address the
    sender (`sender_sub`) without calling back. A letter forwarded to another
    administration is registered there again as a new correspondence of the same `case_id`.
    """

    correspondence_id: UUID
    case_id: UUID = Field(description="The electronic file: every registration of one letter")
    registration_number: str = Field(description="In the holder's register, e.g. MEF-2026-000123")
    status: str = Field(description="The state after the step")
    administration_id: UUID = Field(description="The administration whose register holds it")
    sender_kind: str = Field(description="citizen, company or administration")
    sender_sub: str | None = Field(default=None, description="The person who filed it")
    sender_administration_id: UUID | None = Field(
        default=None, description="For outgoing mail of an administration"
    )
    outgoing_number: str | None = Field(
        default=None, description="In the sending administration's outgoing register"
    )
    version: int = Field(
        ge=1,
        description="Grows with every step of this correspondence; a consumer ignores an "
        "event whose version is not above the one it holds.",
    )
    occurred_at: datetime
    actor_role: str = Field(description="sender, agent (or partner client) or system")


class CorrespondenceRegistered(CorrespondenceEvent):
    """Registered in the holder's register: filed by its sender, or forwarded there
    (`forwarded_from_id`)."""

    type = "correspondence.correspondence.registered"

    subject: str
    registered_at: datetime
    receipt_code: str | None = Field(
        default=None, description="Verification code of the sender's receipt"
    )
    forwarded_from_id: UUID | None = None
    forwarded_from_administration_id: UUID | None = None


class CorrespondenceAssigned(CorrespondenceEvent):
    """Routed to a department and, when named, an agent of the holding administration."""

    type = "correspondence.correspondence.assigned"

    department: str
    assignee_id: str | None = None


class CorrespondenceDocumentsRequested(CorrespondenceEvent):
    """The holder asked the sender for missing documents (`message` says which)."""

    type = "correspondence.correspondence.documents_requested"

    message: str


class CorrespondenceDocumentsAdded(CorrespondenceEvent):
    """The sender added the documents they were asked for."""

    type = "correspondence.correspondence.documents_added"

    count: int = Field(ge=1)


class CorrespondenceForwarded(CorrespondenceEvent):
    """Sent on to the competent administration, where it was registered again
    (`to_correspondence_id`, `to_registration_number`). The first administration keeps
    read access to what it held."""

    type = "correspondence.correspondence.forwarded"

    to_administration_id: UUID
    to_correspondence_id: UUID
    to_registration_number: str
    reason: str


class CorrespondenceAnswered(CorrespondenceEvent):
    """The holder answered with a document signed in its name (`answer_code` verifies it)."""

    type = "correspondence.correspondence.answered"

    answer_code: str
    answer_sha256: str


class CorrespondenceRejected(CorrespondenceEvent):
    """Refused, with the reason the sender is given."""

    type = "correspondence.correspondence.rejected"

    reason: str


class CorrespondenceClosed(CorrespondenceEvent):
    """Closed once answered or rejected; nothing more happens to it."""

    type = "correspondence.correspondence.closed"


class PensionCertificateIssued(EventData):
    """The pension fund issued a signed certificate (affiliation, pension …) to an
    affiliate. The platform's document registry records it so that anyone holding the PDF
    can check it at `/v1/documents/{code}`."""

    type = "pensions.certificate.issued"

    code: str = Field(description="Verification code printed on the certificate")
    certificate_type: str = Field(description="affiliation, pension …")
    affiliate_cin: str = Field(min_length=1, max_length=16)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="Of the signed PDF")
    issued_at: datetime
    issuer_administration_id: UUID | None = Field(
        default=None, description="The fund, as an administration of the directory"
    )
    issuer_name_fr: str | None = None
    issuer_name_ar: str | None = None


# --- pensions (declarations, bank accounts, payments) ---------------------------------------


class DeclarationProcessed(EventData):
    """An employer's monthly declaration was processed and is now the one in force for its
    month; it replaced `replaced_declaration_id` (a resubmission) when that is set."""

    type = "pensions.declaration.processed"

    declaration_id: UUID
    employer_id: UUID = Field(description="The declaring administration")
    period: date = Field(description="The month declared (its first day)")
    regime: str = Field(description="civil or general")
    rows: int
    accepted: int
    rejected: int
    replaced_declaration_id: UUID | None = None
    processed_at: datetime


class BankAccountChangeEvent(EventData):
    """What every `pensions.bank_account.*` event carries. The account itself is never
    published: only its bank and its last four digits, as the person saw them."""

    change_id: UUID
    affiliation_number: str
    cin: str = Field(max_length=16)
    bank_code: str = Field(description="The RIB's first 3 digits")
    account_last4: str
    effective_month: date = Field(description="The first payment month it applies to")
    occurred_at: datetime


class BankAccountChangeRequested(BankAccountChangeEvent):
    """The affiliate asked to be paid into a new account from the next payment run; it can
    still be cancelled. `session_id` is the sign-in session that asked (audit)."""

    type = "pensions.bank_account.change_requested"

    session_id: str | None = None
    acr: str


class BankAccountChanged(BankAccountChangeEvent):
    """The requested account is now the one pensions are paid into (a payment run took it)."""

    type = "pensions.bank_account.changed"


class BankAccountChangeCancelled(BankAccountChangeEvent):
    """A requested change was withdrawn by the person before it took effect."""

    type = "pensions.bank_account.cancelled"

    session_id: str | None = None


class PaymentRecorded(EventData):
    """The monthly payment run recorded a pension payment (`held` when no account is in
    force: it is paid once the person gives one)."""

    type = "pensions.payment.recorded"

    payment_id: UUID
    affiliation_number: str
    cin: str = Field(max_length=16)
    month: date = Field(description="The month paid (its first day)")
    amount: Decimal
    status: str = Field(description="paid or held")
    account_last4: str | None = None
    recorded_at: datetime
