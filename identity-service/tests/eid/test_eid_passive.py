"""Passive Authentication on hand-built SODs: each ICAO rule is enforced on its own."""

from __future__ import annotations

import hashlib
from datetime import datetime

import pytest
from asn1crypto import cms  # type: ignore[import-untyped]
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from marfiq_identity.eid.errors import EidMalformed, EidTampered, EidUntrustedSigner
from marfiq_identity.eid.lds import LDS_SECURITY_OBJECT_OID, TAG_SOD, LdsSecurityObject, wrap
from marfiq_identity.eid.passive import parse_sod, passive_authentication
from marfiq_identity.eid.testing import (
    Chip,
    Csca,
    DocumentSigner,
    lds_security_object,
    signed_attributes,
)
from marfiq_identity.eid.trust import TrustList


@pytest.fixture(scope="module")
def econtent(ec_chip: Chip) -> bytes:
    return lds_security_object({1: ec_chip.dg1, 15: ec_chip.dg15})


def authenticate(sod: bytes, chip: Chip, trust: TrustList, now: datetime) -> None:
    passive_authentication(sod=sod, data_groups={1: chip.dg1, 15: chip.dg15}, trust=trust, now=now)


def test_genuine_sod_lists_its_hashes(ec_chip: Chip, trust: TrustList, now: datetime) -> None:
    security = passive_authentication(
        sod=ec_chip.sod, data_groups={1: ec_chip.dg1}, trust=trust, now=now
    )

    assert security.hash_algorithm == "sha256"
    assert set(security.data_group_hashes) == {1, 15}
    assert security.data_group_hashes[1] == hashlib.sha256(ec_chip.dg1).digest()


def test_plain_ecdsa_sod_signature_is_accepted(
    signer: DocumentSigner, econtent: bytes, ec_chip: Chip, trust: TrustList, now: datetime
) -> None:
    attributes = signed_attributes(econtent)
    info = signer.signer_info(attributes, algorithm={"algorithm": "sha256_ecdsa"})
    r_s = _plain(info["signature"].native)
    info["signature_algorithm"] = {"algorithm": "0.4.0.127.0.7.1.1.4.1.3"}
    info["signature"] = r_s

    authenticate(signer.sod(econtent, signer_infos=[info]), ec_chip, trust, now)


@pytest.mark.parametrize("oid", ["1.2.840.113549.1.1.1", "1.2.840.10045.2.1"])
def test_key_only_oid_takes_the_hash_from_the_digest_algorithm(
    csca: Csca, econtent: bytes, ec_chip: Chip, trust: TrustList, now: datetime, oid: str
) -> None:
    # rsaEncryption / id-ecPublicKey in place of sha256WithRSA / ecdsa-with-SHA256.
    signer = csca.document_signer(key_type="rsa-2048" if oid.endswith("1.1") else "ec-p256")
    info = signer.signer_info(signed_attributes(econtent), algorithm={"algorithm": oid})

    authenticate(signer.sod(econtent, signer_infos=[info]), ec_chip, trust, now)


@pytest.mark.parametrize("algorithm", ["sha3_256_ecdsa", "sha256_dsa", "ed25519", "1.2.3.4"])
def test_signature_algorithm_outside_icao_is_malformed(
    signer: DocumentSigner,
    econtent: bytes,
    ec_chip: Chip,
    trust: TrustList,
    now: datetime,
    algorithm: str,
) -> None:
    info = signer.signer_info(signed_attributes(econtent), algorithm={"algorithm": algorithm})

    with pytest.raises(EidMalformed):
        authenticate(signer.sod(econtent, signer_infos=[info]), ec_chip, trust, now)


@pytest.mark.parametrize("salt_length", [-1, 100_000])
def test_pss_parameters_out_of_range_are_malformed(
    csca: Csca, econtent: bytes, ec_chip: Chip, trust: TrustList, now: datetime, salt_length: int
) -> None:
    # A genuine DS certificate with a SignerInfo of the forger's making.
    signer = csca.document_signer(key_type="rsa-2048", signature="rsa-pss")
    algorithm = signer.signature_algorithm()
    algorithm["parameters"]["salt_length"] = salt_length  # type: ignore[index]
    info = signer.signer_info(signed_attributes(econtent), algorithm=algorithm)

    with pytest.raises(EidMalformed):
        authenticate(signer.sod(econtent, signer_infos=[info]), ec_chip, trust, now)


def test_lds_security_object_altered_after_signing_is_tampered(
    signer: DocumentSigner, econtent: bytes, ec_chip: Chip, trust: TrustList, now: datetime
) -> None:
    other = lds_security_object({1: b"\x61\x00", 15: ec_chip.dg15})
    sod = signer.sod(other, attributes=signed_attributes(econtent))

    with pytest.raises(EidTampered):
        authenticate(sod, ec_chip, trust, now)


def test_signature_under_a_scheme_that_does_not_fit_the_key_is_malformed(
    signer: DocumentSigner, econtent: bytes, ec_chip: Chip, trust: TrustList, now: datetime
) -> None:
    info = signer.signer_info(signed_attributes(econtent), algorithm={"algorithm": "sha256_rsa"})

    with pytest.raises(EidMalformed):
        authenticate(signer.sod(econtent, signer_infos=[info]), ec_chip, trust, now)


@pytest.mark.parametrize("lds_hash", ["md5", "sha3_256"])
def test_lds_hash_algorithm_outside_icao_is_malformed(
    signer: DocumentSigner, ec_chip: Chip, trust: TrustList, now: datetime, lds_hash: str
) -> None:
    sod = signer.sod(lds_security_object({1: ec_chip.dg1, 15: ec_chip.dg15}, lds_hash=lds_hash))

    with pytest.raises(EidMalformed):
        authenticate(sod, ec_chip, trust, now)


def test_sod_without_the_document_signer_certificate_is_malformed(
    signer: DocumentSigner, econtent: bytes, ec_chip: Chip, trust: TrustList, now: datetime
) -> None:
    with pytest.raises(EidMalformed):
        authenticate(signer.sod(econtent, certificates=[]), ec_chip, trust, now)


def test_signer_identifier_must_name_the_embedded_certificate(
    signer: DocumentSigner,
    csca: Csca,
    econtent: bytes,
    ec_chip: Chip,
    trust: TrustList,
    now: datetime,
) -> None:
    # A trusted DS certificate travels along, but the signature is another DS's.
    other = csca.document_signer()
    info = other.signer_info(signed_attributes(econtent))

    with pytest.raises(EidMalformed):
        authenticate(signer.sod(econtent, signer_infos=[info]), ec_chip, trust, now)


def test_two_signers_are_malformed(
    signer: DocumentSigner, econtent: bytes, ec_chip: Chip, trust: TrustList, now: datetime
) -> None:
    info = signer.signer_info(signed_attributes(econtent))

    with pytest.raises(EidMalformed):
        authenticate(signer.sod(econtent, signer_infos=[info, info]), ec_chip, trust, now)


def test_other_encapsulated_content_is_malformed(
    signer: DocumentSigner, econtent: bytes, ec_chip: Chip, trust: TrustList, now: datetime
) -> None:
    sod = signer.sod(econtent, content_type="1.2.840.113549.1.7.1")

    with pytest.raises(EidMalformed):
        authenticate(sod, ec_chip, trust, now)


def _attributes(econtent: bytes, *, content_type: list[str], digest: bool) -> cms.CMSAttributes:
    attributes: list[dict[str, object]] = [{"type": "content_type", "values": content_type}]
    if digest:
        attributes.append({"type": "message_digest", "values": [hashlib.sha256(econtent).digest()]})
    return cms.CMSAttributes(attributes)


@pytest.mark.parametrize(
    ("content_type", "digest"),
    [
        ([LDS_SECURITY_OBJECT_OID], False),
        (["1.2.840.113549.1.7.1"], True),
        ([LDS_SECURITY_OBJECT_OID, LDS_SECURITY_OBJECT_OID], True),
    ],
    ids=["no-message-digest", "wrong-content-type", "two-values"],
)
def test_signed_attributes_must_be_those_icao_requires(
    signer: DocumentSigner,
    econtent: bytes,
    ec_chip: Chip,
    trust: TrustList,
    now: datetime,
    content_type: list[str],
    digest: bool,
) -> None:
    signed = _attributes(econtent, content_type=content_type, digest=digest)

    with pytest.raises(EidMalformed):
        authenticate(signer.sod(econtent, attributes=signed), ec_chip, trust, now)


def test_duplicated_data_group_is_malformed(
    signer: DocumentSigner, econtent: bytes, ec_chip: Chip, trust: TrustList, now: datetime
) -> None:
    security_object = LdsSecurityObject.load(econtent)
    dg1, dg15 = (entry.native for entry in security_object["data_group_hash_values"])
    security_object["data_group_hash_values"] = [dg1, dg1, dg15]

    with pytest.raises(EidMalformed):
        authenticate(signer.sod(security_object.dump(force=True)), ec_chip, trust, now)


def test_document_signer_certificate_that_cannot_be_parsed_is_malformed(
    signer: DocumentSigner, econtent: bytes, ec_chip: Chip, trust: TrustList, now: datetime
) -> None:
    genuine = signer.asn1_certificate.dump()
    broken = bytearray(genuine)
    version = genuine.index(b"\xa0\x03\x02\x01\x02")  # [0] EXPLICIT INTEGER v3
    broken[version + 4] = 0x22
    sod = signer.sod(econtent).replace(genuine, bytes(broken))

    with pytest.raises(EidMalformed):
        authenticate(sod, ec_chip, trust, now)


@pytest.mark.parametrize(
    "sod",
    [b"", b"\x77", b"\x77\x80", b"\x77\x84\x00\x00\x00\x01\x00", wrap(TAG_SOD, b"\x30\x00")],
)
def test_sod_that_is_no_signed_data_is_malformed(sod: bytes) -> None:
    with pytest.raises(EidMalformed):
        parse_sod(sod)


def test_sod_with_trailing_bytes_is_malformed(ec_chip: Chip) -> None:
    with pytest.raises(EidMalformed):
        parse_sod(ec_chip.sod + b"\x00")


def test_untrusted_signer_is_refused_before_any_signature_check(
    ec_chip: Chip, now: datetime
) -> None:
    with pytest.raises(EidUntrustedSigner):
        authenticate(ec_chip.sod, ec_chip, TrustList([]), now)


def _plain(der: bytes) -> bytes:
    r, s = decode_dss_signature(der)
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")
