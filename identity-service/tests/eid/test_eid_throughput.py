"""How many verify_eid calls a core runs per second, for each Active Authentication key type.

The platform target is 300 eID sign-ins/s through the gateway on 2 cores, so the pure check
must stay well under 2 ms. Run with -s to see the rates.
"""

from __future__ import annotations

import os
import time
from datetime import datetime

import pytest

from marfiq_identity.eid.service import verify_eid
from marfiq_identity.eid.testing import Chip
from marfiq_identity.eid.trust import TrustList

ROUNDS = 300
# The figure measured on the 2-core machine is about a third of this.
BUDGET_S = 0.002


@pytest.mark.parametrize("chip", ["ec-p256", "rsa-2048"], indirect=True)
def test_verification_stays_well_under_two_milliseconds(
    chip: Chip, trust: TrustList, now: datetime, request: pytest.FixtureRequest
) -> None:
    nonce = os.urandom(8)
    files = {"sod": chip.sod, "dg1": chip.dg1, "dg15": chip.dg15, "signature": chip.sign(nonce)}
    verify_eid(**files, nonce=nonce, trust=trust, now=now)  # warm: the DS is proven once

    # CPU time of this process: other work on a shared machine does not count against us.
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        for _ in range(ROUNDS):
            verify_eid(**files, nonce=nonce, trust=trust, now=now)
        best = min(best, (time.process_time() - started) / ROUNDS)

    key_type = request.node.callspec.id
    print(f"\nverify_eid [{key_type}]: {1 / best:,.0f}/s per core, {best * 1e6:.0f} µs")
    assert best < BUDGET_S
