"""An administration's agents, managed by its supervisors and the platform administrator."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response, status

from marfiq_identity.administrations.access import Manager
from marfiq_identity.agents import service
from marfiq_identity.agents.schemas import AgentCreate, AgentRead
from marfiq_identity.db import idempotency
from marfiq_identity.dependencies import Settings
from marfiq_shared.db import Session
from marfiq_shared.idempotency import IdempotencyKey, fingerprint, run_once

router = APIRouter(prefix="/v1/administrations/{administration_id}/agents", tags=["agents"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=AgentRead)
async def add_agent(
    administration_id: uuid.UUID,
    body: AgentCreate,
    manager: Manager,
    session: Session,
    request: Request,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> AgentRead:
    """Add an agent (or supervisor); they sign in by code sent to the contact given."""
    created, replayed = await run_once(
        session,
        idempotency,
        owner=manager.sub,
        key=idempotency_key,
        request_fingerprint=fingerprint("POST", request.url.path, body.model_dump(mode="json")),
        create=lambda: service.add_agent(session, administration_id=administration_id, data=body),
        model=AgentRead,
    )
    response.headers["Location"] = f"{request.url.path}/{created.id}"
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return created


@router.get("", response_model=list[AgentRead])
async def list_agents(
    administration_id: uuid.UUID, manager: Manager, session: Session
) -> list[AgentRead]:
    """The administration's agents."""
    return await service.list_agents(session, administration_id=administration_id)


@router.delete("/{agent_id}", status_code=status.HTTP_204_NO_CONTENT)
async def disable_agent(
    administration_id: uuid.UUID,
    agent_id: uuid.UUID,
    manager: Manager,
    session: Session,
    settings: Settings,
) -> None:
    """Disable an agent; their sessions end at once."""
    await service.disable_agent(
        session, administration_id=administration_id, agent_id=agent_id, settings=settings
    )
