"""eID verifications per second: `POST /v1/auth/eid/challenge` then `/v1/auth/eid/verify`.

Run: `.venv/bin/python bench/bench_eid.py [--duration 10] [--concurrency 64]
[--eid-key ec-p256|rsa-2048|mixed] [--direct]` for the eID figure alone;
`bench/bench_signin.py` prints it after the OTP figure, from the same run.

The cards: a CSCA (the operator's trust list, IDENTITY_EID_CSCA_PEM), a Document Signer it
issued, and `--eid-cards` simulated chips (`marfiq_identity.eid.testing`), each with its own
CIN, genuine DG1, DG15 and EF.SOD. Every verification is the whole real thing: a fresh
nonce from the service, signed by the chip's Active Authentication key (ECDSA, or RSA with
ISO/IEC 9796-2 scheme 1), sent with the chip's files; identity spends the nonce, runs
Passive Authentication (CMS signature, DS certificate against the CSCA, data-group hashes),
Active Authentication and the MRZ checks, then finds or creates the account of the CIN at
`high` and issues an access token and a refresh token. The first pass over the cards
creates their accounts; later passes sign their holders in again.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

EID_KEYS = ("ec-p256", "rsa-2048", "mixed")


@dataclass(frozen=True, slots=True)
class Card:
    """A simulated chip and the JSON of its files, encoded once as the phone app would."""

    chip: Any  # marfiq_identity.eid.testing.Chip
    files_json: bytes  # `"sod": ..., "dg1": ..., "dg15": ...` without braces


class Cards:
    """A country's CSCA and Document Signer, and chips with distinct CINs."""

    def __init__(self, *, count: int, key: str) -> None:
        from marfiq_identity.eid.testing import Csca, td1_mrz

        self.csca = Csca.create()
        signer = self.csca.document_signer()
        self.cards: list[Card] = []
        for n in range(count):
            aa_key = key if key != "mixed" else EID_KEYS[n % 2]
            chip = signer.issue(aa_key_type=aa_key, mrz=td1_mrz(cin=f"BE{n:07d}"))  # type: ignore[arg-type]
            files = {
                name: base64.b64encode(getattr(chip, name)).decode()
                for name in ("sod", "dg1", "dg15")
            }
            self.cards.append(Card(chip, json.dumps(files)[1:-1].encode()))

    @property
    def csca_pem(self) -> str:
        return self.csca.pem.decode()


class EidLoad:
    """Virtual users presenting the cards in turn until the deadline."""

    name = "eID verification (challenge + chip's answer + verify)"
    unit = "verifications"

    def __init__(self, cards: Cards) -> None:
        self.cards = cards.cards
        self.next_card = 0
        self.done = 0
        self.warm = 0
        self.latencies: list[float] = []
        self.refused: Counter[str] = Counter()
        self.phases: dict[str, list[float]] = {"challenge": [], "verify": []}

    async def sign_in(self, client: Any) -> None:
        """One verification on `client` (bench_signin.HttpConnection)."""
        card = self.cards[self.next_card % len(self.cards)]
        self.next_card += 1
        n = self.next_card
        # Each phone has its own address (the script plays the trusted load balancer), so
        # the gateway's per-address limit applies as it would to citizens.
        headers = b"x-forwarded-for: 10.%d.%d.%d\r\n" % (128 | n >> 16 & 127, n >> 8 & 255, n & 255)
        started = time.perf_counter()
        status, answer = await client.post("/v1/auth/eid/challenge", b"{}", headers)
        if status != 201:
            self.refused[f"challenge {status}"] += 1
            return
        challenge = json.loads(answer)
        challenged = time.perf_counter()
        signature = card.chip.sign(base64.b64decode(challenge["nonce"]))
        body = b"".join(
            (
                b'{"challenge_id":"',
                str(uuid.UUID(challenge["challenge_id"])).encode(),
                b'","signature":"',
                base64.b64encode(signature),
                b'",',
                card.files_json,
                b"}",
            )
        )
        status, answer = await client.post("/v1/auth/eid/verify", body, headers)
        tokens = json.loads(answer)
        if status != 200 or "access_token" not in tokens:
            self.refused[f"verify {status} {tokens.get('type', '')}"] += 1
            return
        finished = time.perf_counter()
        self.done += 1
        self.latencies.append(finished - started)
        self.phases["challenge"].append(challenged - started)
        self.phases["verify"].append(finished - challenged)


if __name__ == "__main__":
    from bench_signin import run_cli

    run_cli(only="eid")
