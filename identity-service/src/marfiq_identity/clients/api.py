"""An administration's partner clients: creation, secret rotation, revocation."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response, status

from marfiq_identity.administrations.access import Manager
from marfiq_identity.clients import service
from marfiq_identity.clients.schemas import (
    ClientCreate,
    ClientCreated,
    ClientRead,
    ClientSecretRead,
)
from marfiq_identity.db import idempotency
from marfiq_identity.dependencies import Settings
from marfiq_identity.tokens.schemas import no_store
from marfiq_shared.db import Session
from marfiq_shared.idempotency import IdempotencyKey, fingerprint, run_once

router = APIRouter(prefix="/v1/administrations/{administration_id}/clients", tags=["clients"])

ClientId = Annotated[str, Path(max_length=40, pattern=r"^mcl_[A-Za-z0-9_-]+$")]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ClientCreated)
async def create_client(
    administration_id: uuid.UUID,
    body: ClientCreate,
    manager: Manager,
    session: Session,
    request: Request,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> ClientCreated:
    """Register a partner client. The secret is in this answer only: it is kept hashed."""
    secrets: list[str] = []

    async def create() -> ClientRead:
        created = await service.create_client(
            session, administration_id=administration_id, data=body, created_by=manager.sub
        )
        secrets.append(created.client_secret or "")
        # What an idempotent replay returns: everything but the secret, which is not kept.
        return ClientRead.model_validate(created.model_dump())

    client, replayed = await run_once(
        session,
        idempotency,
        owner=manager.sub,
        key=idempotency_key,
        request_fingerprint=fingerprint("POST", request.url.path, body.model_dump(mode="json")),
        create=create,
        model=ClientRead,
    )
    no_store(response)
    response.headers["Location"] = f"{request.url.path}/{client.client_id}"
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return ClientCreated(**client.model_dump(), client_secret=secrets[0] if secrets else None)


@router.get("", response_model=list[ClientRead])
async def list_clients(
    administration_id: uuid.UUID, manager: Manager, session: Session
) -> list[ClientRead]:
    """The administration's clients (never their secrets)."""
    return await service.list_clients(session, administration_id=administration_id)


@router.post("/{client_id}/secret", response_model=ClientSecretRead)
async def rotate_secret(
    administration_id: uuid.UUID,
    client_id: ClientId,
    manager: Manager,
    session: Session,
    settings: Settings,
    response: Response,
) -> ClientSecretRead:
    """A new secret, shown once; the previous one works for IDENTITY_CLIENT_SECRET_OVERLAP_S."""
    no_store(response)
    return await service.rotate_secret(
        session, administration_id=administration_id, client_id=client_id, settings=settings
    )


@router.delete("/{client_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_client(
    administration_id: uuid.UUID, client_id: ClientId, manager: Manager, session: Session
) -> None:
    """Revoke the client: none of its secrets is accepted any more."""
    await service.revoke_client(session, administration_id=administration_id, client_id=client_id)
