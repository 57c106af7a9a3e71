"""The events about affiliates this service publishes."""

from __future__ import annotations

from marfiq_shared.events.catalogue import AffiliateContactRegistered


def contact_registered(*, cin: str, phone: str) -> AffiliateContactRegistered:
    """The fund now holds `phone` for `cin`: identity treats it as an authoritative contact."""
    return AffiliateContactRegistered(cin=cin, phone=phone)
