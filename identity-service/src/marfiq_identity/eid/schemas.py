"""Requests and answers of eID sign-in: the challenge, and the chip's files sent back."""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from marfiq_identity.eid.errors import EidMalformed

# Largest genuine sizes, with room: an SOD with 16 SHA-512 hashes and a 4096-bit DS
# certificate stays under 8 KiB; a TD3 DG1 is 93 bytes; an RSA-4096 DG15 about 550 bytes
# and its answer 512 bytes.
MAX_SOD_BYTES = 16_384
MAX_DG1_BYTES = 256
MAX_DG15_BYTES = 2_048
MAX_SIGNATURE_BYTES = 1_024

# Standard padded base64 (RFC 4648, section 4) and nothing else: no blanks, no URL alphabet.
_BASE64 = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"


def _base64_of(size: int) -> StringConstraints:
    return StringConstraints(min_length=4, max_length=4 * ((size + 2) // 3), pattern=_BASE64)


Sod = Annotated[str, _base64_of(MAX_SOD_BYTES), Field(description="EF.SOD (tag 0x77), base64")]
Dg1 = Annotated[str, _base64_of(MAX_DG1_BYTES), Field(description="DG1, the MRZ, base64")]
Dg15 = Annotated[
    str, _base64_of(MAX_DG15_BYTES), Field(description="DG15, the chip's public key, base64")
]
Signature = Annotated[
    str,
    _base64_of(MAX_SIGNATURE_BYTES),
    Field(description="The chip's Active Authentication answer to the nonce, base64"),
]


class EidChallengeRead(BaseModel):
    challenge_id: uuid.UUID
    nonce: str = Field(description="8 random bytes, base64; have the chip sign them")


class EidVerify(BaseModel):
    model_config = ConfigDict(extra="forbid")

    challenge_id: uuid.UUID
    sod: Sod
    dg1: Dg1
    dg15: Dg15
    signature: Signature

    def files(self) -> dict[str, bytes]:
        """The decoded fields, named as `verify_eid` takes them."""
        return {
            name: decode_base64(getattr(self, name)) for name in ("sod", "dg1", "dg15", "signature")
        }


def encode_base64(data: bytes) -> str:
    """Standard padded base64, as the API carries binary."""
    return base64.b64encode(data).decode("ascii")


def decode_base64(value: str) -> bytes:
    """Strict base64 decoding; garbage is EidMalformed (422), never a server error."""
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise EidMalformed("a field is not valid base64") from None
