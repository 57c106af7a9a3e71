"""Typed failures of agent management."""

from __future__ import annotations

from marfiq_shared.problems import NotFound

MESSAGES = {
    "agent-not-found": {
        "en": "This administration has no such agent.",
        "fr": "Cette administration n'a pas d'agent de ce nom.",
        "ar": "لا يوجد موظف بهذا المعرف لدى هذه الإدارة.",
    },
}


class AgentNotFound(NotFound):
    code = "agent-not-found"
