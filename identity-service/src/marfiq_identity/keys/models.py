"""Signing keys as stored: the public JWK, and the private key encrypted at rest."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, LargeBinary, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from marfiq_identity.db import Base


class SigningKey(Base):
    """One key of the set. It signs from `not_before` until `retire_after`; verifiers keep
    seeing it in the JWKS for as long as a token it signed can still be alive."""

    __tablename__ = "signing_keys"
    __table_args__ = (
        CheckConstraint("origin IN ('generated', 'configured')", name="origin"),
        # Only configured keys may lack the private half: their PEM lives in configuration.
        CheckConstraint("origin = 'configured' OR private_key IS NOT NULL", name="private_key"),
        CheckConstraint("not_before <= retire_after", name="window"),
    )

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    algorithm: Mapped[str] = mapped_column(String(16))
    origin: Mapped[str] = mapped_column(String(16))
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # Version byte, AES-GCM nonce and ciphertext of the PKCS#8 DER key; `kid` is the AAD.
    private_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    not_before: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    retire_after: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
