"""Notifications other services ask for: the person's channels, their language, once."""

from __future__ import annotations

import asyncio

from identity_support import Identity, eventually, publish

from marfiq_identity.accounts.models import AccountKind
from marfiq_shared.events.catalogue import NotificationRequested


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
