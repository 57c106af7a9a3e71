"""A test country: its CSCA, Document Signers of each kind, and chips of each key type."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from marfiq_identity.eid.errors import MESSAGES
from marfiq_identity.eid.testing import Chip, Csca, DocumentSigner
from marfiq_identity.eid.trust import TrustList
from marfiq_shared.i18n import register_messages

register_messages(MESSAGES)


@pytest.fixture(scope="session")
def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture(scope="session")
def csca() -> Csca:
    return Csca.create()


@pytest.fixture(scope="session")
def trust(csca: Csca) -> TrustList:
    return csca.trust_list()


@pytest.fixture(scope="session")
def signer(csca: Csca) -> DocumentSigner:
    return csca.document_signer(key_type="ec-p256")


@pytest.fixture(scope="session")
def ec_chip(signer: DocumentSigner) -> Chip:
    return signer.issue(aa_key_type="ec-p256")


@pytest.fixture(scope="session")
def rsa_chip(signer: DocumentSigner) -> Chip:
    return signer.issue(aa_key_type="rsa-2048")


@pytest.fixture(params=["ec-p256", "rsa-2048"])
def chip(request: pytest.FixtureRequest) -> Chip:
    """A genuine chip of each Active Authentication key type."""
    fixture = "ec_chip" if request.param == "ec-p256" else "rsa_chip"
    chip: Chip = request.getfixturevalue(fixture)
    return chip
