"""Typed failures of partner-client management."""

from __future__ import annotations

from marfiq_shared.problems import NotFound

MESSAGES = {
    "client-not-found": {
        "en": "This administration has no such client.",
        "fr": "Cette administration n'a pas de client de ce nom.",
        "ar": "لا يوجد عميل بهذا المعرف لدى هذه الإدارة.",
    },
}


class ClientNotFound(NotFound):
    code = "client-not-found"
