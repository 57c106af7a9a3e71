"""eID verification: from the chip's files and its answer to our nonce, a proven identity."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from marfiq_identity.eid.active import active_authentication
from marfiq_identity.eid.errors import EidDocumentExpired
from marfiq_identity.eid.mrz import read_dg1
from marfiq_identity.eid.passive import passive_authentication
from marfiq_identity.eid.trust import TrustList


@dataclass(frozen=True, slots=True)
class EidIdentity:
    """The holder and document that a genuine, unexpired chip proves."""

    cin: str | None  # the Moroccan national ID number; None on a foreign document
    document_number: str
    document_code: str
    issuing_state: str
    nationality: str
    surname: str
    given_names: str
    birth_date: date | None
    sex: str
    expiry: date


def verify_eid(
    *,
    sod: bytes,
    dg1: bytes,
    dg15: bytes,
    signature: bytes,
    nonce: bytes,
    trust: TrustList,
    now: datetime,
) -> EidIdentity:
    """Passive Authentication, Active Authentication of `nonce`, then the MRZ of DG1."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    # Only files the country's signature vouches for are read any further than their hash.
    passive_authentication(sod=sod, data_groups={1: dg1, 15: dg15}, trust=trust, now=now)
    active_authentication(dg15=dg15, nonce=nonce, signature=signature)
    mrz = read_dg1(dg1, today=now.date())
    if mrz.expiry < now.date():
        raise EidDocumentExpired(f"the document expired on {mrz.expiry.isoformat()}")
    return EidIdentity(
        cin=mrz.cin,
        document_number=mrz.document_number,
        document_code=mrz.document_code,
        issuing_state=mrz.issuing_state,
        nationality=mrz.nationality,
        surname=mrz.surname,
        given_names=mrz.given_names,
        birth_date=mrz.birth_date,
        sex=mrz.sex,
        expiry=mrz.expiry,
    )
