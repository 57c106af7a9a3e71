"""The CSCA trust list: how the operator configures it, and the Document Signer cache."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from eid_support import answer

from marfiq_identity.eid.errors import EidUntrustedSigner
from marfiq_identity.eid.testing import Chip, Csca, DocumentSigner, td3_mrz
from marfiq_identity.eid.trust import TrustList


def test_folder_of_pem_bundles_and_der_files_is_loaded(
    tmp_path: Path, csca: Csca, ec_chip: Chip, now: datetime
) -> None:
    neighbour, other = Csca.create(country="FR", common_name="CSCA-FRANCE"), Csca.create()
    (tmp_path / "bundle.pem").write_bytes(neighbour.pem + other.pem)
    (tmp_path / "morocco.CER").write_bytes(
        csca.certificate.public_bytes(serialization.Encoding.DER)
    )
    (tmp_path / "README.txt").write_text("ignored")

    trust = TrustList.from_folder(tmp_path)

    assert len(trust) == 3
    assert answer(ec_chip, trust, now).cin == "BE123456"
    french_passport = neighbour.document_signer().issue(mrz=td3_mrz(issuing_state="FRA"))
    identity = answer(french_passport, trust, now)
    assert (identity.issuing_state, identity.cin) == ("FRA", None)


def test_pem_setting_and_folder_are_combined(
    tmp_path: Path, csca: Csca, ec_chip: Chip, now: datetime
) -> None:
    other = Csca.create()
    (tmp_path / "other.pem").write_bytes(other.pem)

    trust = TrustList.load(folder=tmp_path, pem=csca.pem.decode())

    assert len(trust) == 2
    assert answer(ec_chip, trust, now).cin == "BE123456"
    assert len(TrustList.load()) == 0


def test_a_certificate_that_is_no_ca_cannot_be_configured(signer: DocumentSigner) -> None:
    pem = signer.certificate.public_bytes(serialization.Encoding.PEM)

    with pytest.raises(ValueError, match="not a CA"):
        TrustList.from_pem(pem)


def test_a_file_that_is_no_certificate_is_named_in_the_error(tmp_path: Path) -> None:
    (tmp_path / "broken.pem").write_text("-----BEGIN CERTIFICATE-----\nAAAA\n")

    with pytest.raises(ValueError, match=r"broken\.pem"):
        TrustList.from_folder(tmp_path)


def test_renewed_csca_under_the_same_name_verifies_both_generations(now: datetime) -> None:
    old, new = Csca.create(), Csca.create()  # same country and common name, new key
    trust = old.trust_list(new)

    assert answer(old.document_signer().issue(), trust, now).cin == "BE123456"
    assert answer(new.document_signer().issue(), trust, now).cin == "BE123456"


def test_a_remembered_document_signer_still_expires(
    csca: Csca, trust: TrustList, now: datetime
) -> None:
    signer = csca.document_signer(
        not_before=now - timedelta(days=1), not_after=now + timedelta(days=1)
    )
    chip = signer.issue()
    answer(chip, trust, now)  # proven and remembered

    with pytest.raises(EidUntrustedSigner):
        answer(chip, trust, now + timedelta(days=2))
    with pytest.raises(EidUntrustedSigner):
        answer(chip, trust, now - timedelta(days=2))


def test_document_signer_is_proven_once_per_trust_list(
    monkeypatch: pytest.MonkeyPatch, trust: TrustList, ec_chip: Chip, now: datetime
) -> None:
    proofs = []
    prove = TrustList._prove

    def counting(self: TrustList, der: bytes, *, now: datetime) -> object:
        proofs.append(der)
        return prove(self, der, now=now)

    monkeypatch.setattr(TrustList, "_prove", counting)
    fresh = TrustList(trust.certificates)
    for _ in range(5):
        answer(ec_chip, fresh, now)

    assert len(proofs) == 1


def test_a_new_trust_list_without_the_csca_forgets_its_signers(
    csca: Csca, trust: TrustList, ec_chip: Chip, now: datetime
) -> None:
    answer(ec_chip, trust, now)

    with pytest.raises(EidUntrustedSigner):
        answer(ec_chip, Csca.create().trust_list(), now)
