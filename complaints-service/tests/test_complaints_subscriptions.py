"""The directory replica follows identity's events: new administrations can be chosen."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from complaints_support import Service

from marfiq_shared.events.catalogue import AdministrationCreated, AdministrationUpdated
from marfiq_shared.events.envelope import CloudEvent
from marfiq_shared.events.transport import OutgoingEvent


async def publish(service: Service, data: AdministrationCreated | AdministrationUpdated) -> None:
    envelope = CloudEvent(
        source="identity-service", type=data.type, data=data.model_dump(mode="json")
    )
    await service.app.state.transport.publish(
        [OutgoingEvent(id=envelope.id, type=envelope.type, body=envelope.to_json())]
    )


async def test_an_administration_created_by_identity_can_receive_complaints(
    service: Service,
) -> None:
    administration_id = uuid.uuid4()
    snapshot = {
        "id": administration_id,
        "code": "CNSS",
        "name_ar": "الصندوق الوطني للضمان الاجتماعي",
        "name_fr": "Caisse nationale de sécurité sociale",
        "kind": "public_establishment",
        "parent_id": None,
        "active": True,
        "version": 1,
        "occurred_at": datetime.now(UTC),
    }
    await publish(service, AdministrationCreated(**snapshot))
    body = {
        "administration_id": str(administration_id),
        "kind": "complaint",
        "subject": "Remboursement",
        "description": "Dossier de remboursement en attente.",
    }
    citizen = service.citizen()
    for _ in range(100):
        response = await service.client.post("/v1/complaints", json=body, headers=citizen.headers)
        if response.status_code == 201:
            break
        await asyncio.sleep(0.02)
    assert response.status_code == 201, response.text

    await publish(service, AdministrationUpdated(**snapshot | {"active": False, "version": 2}))
    for _ in range(100):
        refused = await service.client.post("/v1/complaints", json=body, headers=citizen.headers)
        if refused.status_code == 422:
            break
        await asyncio.sleep(0.02)
    assert refused.status_code == 422
