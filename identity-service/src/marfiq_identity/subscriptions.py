"""The only place that says which events the identity service consumes.

None yet: identity is the source of the directory and of accounts. Notification requests
from other services will be handled here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from marfiq_shared.events.consumer import Handler

SUBSCRIPTIONS: dict[str, Handler] = {}
