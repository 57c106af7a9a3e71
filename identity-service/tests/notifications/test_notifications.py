"""Notifications other services ask for: the person's channels, their language, once."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from identity_support import Identity, create_administration, eventually, publish

from marfiq_identity.accounts.models import AccountKind
from marfiq_shared.events.catalogue import ComplaintEscalated, NotificationRequested


async def test_a_requested_notification_reaches_every_channel_in_the_persons_language(
    identity: Identity,
) -> None:
    person = await identity.account(
        kind=AccountKind.citizen, phone="+212661600001", email="nadia@example.ma", language="ar"
    )

    await publish(
        identity,
        NotificationRequested(
            recipient_sub=person.id,
            kind="complaints.status_changed",
            params={
                "tracking_number": "RC-2026-000123",
                "status": {"ar": "تمت الإجابة", "fr": "répondue"},
            },
        ),
    )

    sms = await identity.received_text("+212661600001")
    mail = await identity.received_text("nadia@example.ma")
    assert "RC-2026-000123" in sms
    assert "تمت الإجابة" in sms
    assert "RC-2026-000123" in mail
    assert identity.mail.to("nadia@example.ma")[0]["Subject"] == "تحديث شكايتك"  # type: ignore[union-attr]


async def test_a_redelivered_event_is_delivered_once(identity: Identity) -> None:
    person = await identity.account(kind=AccountKind.citizen, phone="+212661600002")
    request = NotificationRequested(recipient_sub=person.id, kind="pensions.bank_account_changed")

    event_id = await publish(identity, request)
    await publish(identity, request, event_id=event_id)
    await identity.received_text("+212661600002")
    await asyncio.sleep(0.3)

    assert len(identity.sms.to("+212661600002")) == 1  # type: ignore[union-attr]
    assert (
        await identity.scalar(
            "SELECT count(*) FROM identity.deliveries WHERE event_id = :id", id=event_id
        )
        == 1
    )


async def test_a_person_named_by_cin_on_one_channel(identity: Identity) -> None:
    await identity.account(
        kind=AccountKind.citizen, phone="+212661600003", email="omar@example.ma", cin="BK200001"
    )

    await publish(
        identity,
        NotificationRequested(recipient_cin="BK200001", kind="new.kind", channels=["email"]),
    )

    assert "nouvelle notification" in await identity.received_text("omar@example.ma")
    await asyncio.sleep(0.2)
    assert identity.sms.to("+212661600003") == []  # type: ignore[union-attr]


async def test_a_failing_provider_is_retried_later(identity: Identity) -> None:
    person = await identity.account(kind=AccountKind.citizen, phone="+212661600004")
    identity.sms.fail_next(503, 503, 503)  # type: ignore[union-attr]

    event_id = await publish(
        identity, NotificationRequested(recipient_sub=person.id, kind="identity.new_sign_in")
    )

    async def rescheduled() -> bool:
        # Tried three times, and put back a minute later (the lease would be 5 minutes).
        later = await identity.scalar(
            "SELECT next_attempt_at BETWEEN now() + interval '30 seconds' "
            "AND now() + interval '2 minutes' AND attempts = 1 "
            "FROM identity.deliveries WHERE event_id = :id",
            id=event_id,
        )
        return bool(later)

    await eventually(rescheduled)
    async with identity.database.sessionmaker() as session, session.begin():
        from sqlalchemy import text

        await session.execute(
            text("UPDATE identity.deliveries SET next_attempt_at = now() WHERE event_id = :id"),
            {"id": event_id},
        )
    assert "nouvel appareil" in await identity.received_text("+212661600004")


async def test_nobody_to_notify_is_not_an_error(identity: Identity) -> None:
    event_id = await publish(
        identity,
        NotificationRequested(recipient_cin="ZZ999999", kind="identity.new_sign_in"),
    )

    async def handled() -> bool:
        return bool(
            await identity.scalar("SELECT count(*) FROM identity.inbox WHERE id = :id", id=event_id)
        )

    await eventually(handled)
    assert identity.sms.received == []  # type: ignore[union-attr]


async def test_an_assigned_agent_is_told_the_complaint_and_its_due_date(
    identity: Identity,
) -> None:
    agent = await identity.account(
        kind=AccountKind.agent,
        email="agent.assign@cnss.ma",
        administration_id=await create_administration(identity, "ASG"),
        roles=["agent"],
    )

    await publish(
        identity,
        NotificationRequested(
            recipient_sub=agent.id,
            kind="complaints.assigned",
            params={"tracking_number": "PLT-2026-ABC123", "due_date": "2026-12-24"},
        ),
    )

    text = await identity.received_text("agent.assign@cnss.ma")
    assert "PLT-2026-ABC123 vous est confiée" in text
    assert "2026-12-24" in text


async def test_reminder_and_overdue_notices_name_the_complaint(identity: Identity) -> None:
    agent = await identity.account(
        kind=AccountKind.agent,
        phone="+212661600010",
        language="en",
        administration_id=await create_administration(identity, "RMD"),
        roles=["agent"],
    )
    params: dict[str, str | dict[str, str]] = {
        "tracking_number": "PLT-2026-XYZ789",
        "due_date": "2026-12-10",
    }

    for kind in ("complaints.reminder_due", "complaints.overdue"):
        await publish(
            identity, NotificationRequested(recipient_sub=agent.id, kind=kind, params=params)
        )

    reminder = await identity.received_text("+212661600010", count=1)
    overdue = await identity.received_text("+212661600010", count=2)
    assert {reminder, overdue} == {
        "Marfiq: the answer to complaint PLT-2026-XYZ789 is due on 2026-12-10.",
        "Marfiq: complaint PLT-2026-XYZ789 is past its due date (2026-12-10).",
    }


async def test_an_escalation_reaches_every_supervisor_of_the_administration_once(
    identity: Identity,
) -> None:
    administration = await create_administration(identity, "ESC")
    other = await create_administration(identity, "ESO")
    first = await identity.account(
        kind=AccountKind.agent,
        email="chef1@esc.ma",
        administration_id=administration,
        roles=["agent", "supervisor"],
    )
    await identity.account(
        kind=AccountKind.agent,
        phone="+212661600011",
        language="ar",
        administration_id=administration,
        roles=["agent", "supervisor"],
    )
    await identity.account(
        kind=AccountKind.agent,
        email="agent@esc.ma",
        administration_id=administration,
        roles=["agent"],
    )
    await identity.account(
        kind=AccountKind.agent,
        email="chef@eso.ma",
        administration_id=other,
        roles=["agent", "supervisor"],
    )
    now = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
    escalated = ComplaintEscalated(
        complaint_id=uuid.uuid4(),
        tracking_number="PLT-2026-ESC001",
        kind="complaint",
        status="assigned",
        administration_id=uuid.UUID(administration),
        citizen_sub=str(uuid.uuid4()),
        assignee_id=str(first.id),
        version=5,
        occurred_at=now,
        actor_role="system",
        clock="answer",
        # 23:30 UTC is already the next day in Casablanca (UTC+1).
        due_at=datetime(2026, 11, 27, 23, 30, tzinfo=UTC),
        overdue_since=datetime(2026, 11, 28, 0, 0, tzinfo=UTC),
    )

    event_id = await publish(identity, escalated)
    await publish(identity, escalated, event_id=event_id)  # redelivered

    mail = await identity.received_text("chef1@esc.ma")
    sms = await identity.received_text("+212661600011")
    assert "PLT-2026-ESC001" in mail
    assert "échéance : 2026-11-28" in mail
    assert "PLT-2026-ESC001 متأخرة منذ 2026-11-28" in sms  # in the supervisor's language
    await asyncio.sleep(0.3)
    assert len(identity.mail.to("chef1@esc.ma")) == 1  # type: ignore[union-attr]
    assert len(identity.sms.to("+212661600011")) == 1  # type: ignore[union-attr]
    assert identity.mail.to("agent@esc.ma") == []  # type: ignore[union-attr]
    assert identity.mail.to("chef@eso.ma") == []  # type: ignore[union-attr]
