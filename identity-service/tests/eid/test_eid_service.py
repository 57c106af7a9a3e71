"""verify_eid end to end on simulated chips: genuine cards pass, every forgery is refused."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from eid_support import answer

from marfiq_identity.eid.errors import (
    EidDocumentExpired,
    EidMalformed,
    EidSignatureInvalid,
    EidTampered,
    EidUntrustedSigner,
)
from marfiq_identity.eid.lds import TAG_DG1, TAG_MRZ, unwrap
from marfiq_identity.eid.testing import Chip, Csca, DocumentSigner, make_dg1, td1_mrz, td3_mrz
from marfiq_identity.eid.trust import TrustList


def test_genuine_chip_proves_the_holder_and_the_cin(
    chip: Chip, trust: TrustList, now: datetime
) -> None:
    identity = answer(chip, trust, now)

    assert identity.cin == "BE123456"
    assert identity.document_number == "ZU1234567"
    assert (identity.surname, identity.given_names) == ("EL ALAOUI", "FATIMA ZAHRA")
    assert identity.birth_date == date(1990, 4, 17)
    assert identity.sex == "F"
    assert identity.nationality == identity.issuing_state == "MAR"
    assert identity.expiry > now.date()


@pytest.mark.parametrize(
    ("key_type", "signature", "hash_name"),
    [
        ("rsa-2048", "rsa-pkcs1", "sha256"),
        ("rsa-2048", "rsa-pss", "sha256"),
        ("ec-p256", "ecdsa", "sha256"),
        ("ec-p384", "ecdsa", "sha384"),
        ("ec-p384", "ecdsa", "sha512"),
    ],
)
def test_every_document_signer_algorithm_is_accepted(
    csca: Csca, trust: TrustList, now: datetime, key_type: str, signature: str, hash_name: str
) -> None:
    signer = csca.document_signer(
        key_type=key_type,  # type: ignore[arg-type]
        signature=signature,  # type: ignore[arg-type]
        hash_name=hash_name,
    )
    chip = signer.issue(aa_key_type="ec-p256", lds_hash=hash_name)

    assert answer(chip, trust, now).cin == "BE123456"


@pytest.mark.parametrize(
    ("aa_key_type", "aa_hash", "minimal"),
    [
        ("rsa-2048", "sha1", False),  # trailer 0xBC
        ("rsa-2048", "sha256", True),  # trailer 0x34CC, signature sent as min(s, n - s)
        ("rsa-3072", "sha512", False),
        ("ec-p384", "sha384", False),
        ("ec-p256", "sha1", False),  # the hash DG14 would name, found without it
    ],
)
def test_every_active_authentication_variant_is_accepted(
    signer: DocumentSigner,
    trust: TrustList,
    now: datetime,
    aa_key_type: str,
    aa_hash: str,
    minimal: bool,
) -> None:
    chip = signer.issue(
        aa_key_type=aa_key_type,  # type: ignore[arg-type]
        aa_hash=aa_hash,
        iso9796_minimal=minimal,
    )

    assert answer(chip, trust, now).cin == "BE123456"


def test_a_passport_verifies_with_the_cin_from_its_personal_number(
    signer: DocumentSigner, trust: TrustList, now: datetime
) -> None:
    chip = signer.issue(mrz=td3_mrz(personal_number="JK98765"))

    identity = answer(chip, trust, now)

    assert (identity.document_code, identity.document_number) == ("P", "AB1234567")
    assert identity.cin == "JK98765"


def test_sod_signed_under_an_untrusted_csca_is_refused(trust: TrustList, now: datetime) -> None:
    # Same country name, same structure: only the key differs from the trusted CSCA.
    impostor = Csca.create().document_signer().issue()

    with pytest.raises(EidUntrustedSigner):
        answer(impostor, trust, now)


def test_empty_trust_list_accepts_no_card(ec_chip: Chip, now: datetime) -> None:
    with pytest.raises(EidUntrustedSigner):
        answer(ec_chip, TrustList([]), now)


def test_tampered_dg1_is_refused(chip: Chip, trust: TrustList, now: datetime) -> None:
    forged = make_dg1(td1_mrz(cin="AA999999"))

    with pytest.raises(EidTampered):
        answer(chip, trust, now, dg1=forged)


def test_a_single_flipped_bit_in_dg1_is_refused(
    chip: Chip, trust: TrustList, now: datetime
) -> None:
    dg1 = bytearray(chip.dg1)
    dg1[-3] ^= 0x01

    with pytest.raises(EidTampered):
        answer(chip, trust, now, dg1=bytes(dg1))


def test_dg15_swapped_from_another_card_is_refused(
    signer: DocumentSigner, trust: TrustList, now: datetime
) -> None:
    # The thief holds card B and replays card A's files with B's key and B's answer.
    card_a, card_b = signer.issue(), signer.issue()
    nonce = os.urandom(8)

    with pytest.raises(EidTampered):
        answer(card_a, trust, now, dg15=card_b.dg15, signature=card_b.sign(nonce), nonce=nonce)


def test_cloned_files_without_the_chip_key_are_refused(
    chip: Chip, signer: DocumentSigner, trust: TrustList, now: datetime
) -> None:
    # Genuine files copied from a card, answered by another chip's key.
    other = signer.issue(
        aa_key_type="rsa-2048" if isinstance(chip.key, RSAPrivateKey) else "ec-p256"
    )
    nonce = os.urandom(8)

    with pytest.raises(EidSignatureInvalid):
        answer(chip, trust, now, signature=other.sign(nonce), nonce=nonce)


def test_wrong_signature_is_refused(chip: Chip, trust: TrustList, now: datetime) -> None:
    nonce = os.urandom(8)
    signature = bytearray(chip.sign(nonce))
    signature[len(signature) // 2] ^= 0x40

    with pytest.raises(EidSignatureInvalid):
        answer(chip, trust, now, signature=bytes(signature), nonce=nonce)


def test_answer_to_an_earlier_nonce_is_refused(chip: Chip, trust: TrustList, now: datetime) -> None:
    recorded = chip.sign(b"old-nonc")

    with pytest.raises(EidSignatureInvalid):
        answer(chip, trust, now, signature=recorded, nonce=os.urandom(8))


def test_expired_document_signer_is_refused(csca: Csca, trust: TrustList, now: datetime) -> None:
    signer = csca.document_signer(
        not_before=now - timedelta(days=3650), not_after=now - timedelta(days=1)
    )

    with pytest.raises(EidUntrustedSigner):
        answer(signer.issue(), trust, now)


def test_document_signer_not_yet_valid_is_refused(
    csca: Csca, trust: TrustList, now: datetime
) -> None:
    signer = csca.document_signer(not_before=now + timedelta(days=1))

    with pytest.raises(EidUntrustedSigner):
        answer(signer.issue(), trust, now)


def test_expired_csca_is_refused(now: datetime) -> None:
    csca = Csca.create(not_before=now - timedelta(days=6000), not_after=now - timedelta(days=1))
    signer = csca.document_signer(not_before=now - timedelta(days=100))

    with pytest.raises(EidUntrustedSigner):
        answer(signer.issue(), csca.trust_list(), now)


def test_document_signer_without_digital_signature_usage_is_refused(
    csca: Csca, trust: TrustList, now: datetime
) -> None:
    signer = csca.document_signer(digital_signature=False)

    with pytest.raises(EidUntrustedSigner):
        answer(signer.issue(), trust, now)


def test_expired_document_is_refused(
    signer: DocumentSigner, trust: TrustList, now: datetime
) -> None:
    chip = signer.issue(mrz=td1_mrz(expiry=now.date() - timedelta(days=1)))

    with pytest.raises(EidDocumentExpired) as refused:
        answer(chip, trust, now)
    assert refused.value.status == 422


def test_document_is_valid_through_its_expiry_day(
    signer: DocumentSigner, trust: TrustList, now: datetime
) -> None:
    chip = signer.issue(mrz=td1_mrz(expiry=now.date()))

    assert answer(chip, trust, now).expiry == now.date()


def test_sod_re_signed_by_a_document_signer_of_another_csca_is_refused(
    ec_chip: Chip, trust: TrustList, now: datetime
) -> None:
    # A forger re-signs genuine files with a DS of their own CSCA.
    forger = Csca.create().document_signer()
    sod = forger.sign_sod({1: ec_chip.dg1, 15: ec_chip.dg15})

    with pytest.raises(EidUntrustedSigner):
        answer(ec_chip, trust, now, sod=sod)


def test_sod_whose_signature_was_altered_is_refused(
    signer: DocumentSigner, trust: TrustList, now: datetime
) -> None:
    # A DS key pair of the forger's, presented under the genuine DS certificate.
    forged_signer = replace(signer, key=Csca.create().document_signer().key)
    chip = forged_signer.issue()

    with pytest.raises(EidTampered):
        answer(chip, trust, now)


def test_sod_without_a_dg15_hash_is_malformed(
    signer: DocumentSigner, ec_chip: Chip, trust: TrustList, now: datetime
) -> None:
    sod = signer.sign_sod({1: ec_chip.dg1})

    with pytest.raises(EidMalformed):
        answer(ec_chip, trust, now, sod=sod)


def test_dg1_that_the_sod_vouches_for_but_is_no_mrz_is_malformed(
    signer: DocumentSigner, ec_chip: Chip, trust: TrustList, now: datetime
) -> None:
    mrz = unwrap(unwrap(ec_chip.dg1, TAG_DG1, "DG1"), TAG_MRZ, "MRZ")
    dg1 = make_dg1(mrz.decode()[:-1])
    sod = signer.sign_sod({1: dg1, 15: ec_chip.dg15})

    with pytest.raises(EidMalformed):
        answer(ec_chip, trust, now, sod=sod, dg1=dg1)
