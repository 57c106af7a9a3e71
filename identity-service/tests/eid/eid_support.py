"""What the mobile app sends, built from a simulated chip."""

from __future__ import annotations

import os
from datetime import datetime

from marfiq_identity.eid.service import EidIdentity, verify_eid
from marfiq_identity.eid.testing import Chip
from marfiq_identity.eid.trust import TrustList


def answer(chip: Chip, trust: TrustList, now: datetime, **changes: bytes) -> EidIdentity:
    """Verify what `chip` sends for a fresh nonce; `changes` replace files or the answer."""
    nonce = changes.pop("nonce", os.urandom(8))
    files = {
        "sod": chip.sod,
        "dg1": chip.dg1,
        "dg15": chip.dg15,
        "signature": chip.sign(nonce),
    } | changes
    return verify_eid(**files, nonce=nonce, trust=trust, now=now)
