"""Typed failures of agent management."""

from __future__ import annotations

from marfiq_shared.problems import Conflict, NotFound

MESSAGES = {
    "contact-taken": {
        "en": "This phone number or e-mail address already belongs to an account.",
        "fr": "Ce numéro ou cette adresse e-mail appartient déjà à un compte.",
        "ar": "رقم الهاتف أو البريد الإلكتروني هذا مرتبط بحساب آخر.",
    },
    "agent-not-found": {
        "en": "This administration has no such agent.",
        "fr": "Cette administration n'a pas d'agent de ce nom.",
        "ar": "لا يوجد موظف بهذا المعرف لدى هذه الإدارة.",
    },
}


class ContactTaken(Conflict):
    code = "contact-taken"


class AgentNotFound(NotFound):
    code = "agent-not-found"
