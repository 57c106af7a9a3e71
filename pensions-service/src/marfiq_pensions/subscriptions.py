"""The only place that says which events the pensions service consumes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from marfiq_pensions.db import administrations
from marfiq_shared.directory import replica_subscriptions

if TYPE_CHECKING:
    from marfiq_shared.events.consumer import Handler

SUBSCRIPTIONS: dict[str, Handler] = {
    **replica_subscriptions(administrations),
}
