"""Test doubles of a country's eID chain: a CSCA, its Document Signers, and simulated chips.

Used by the unit tests, the benches and the end-to-end tests; never by the service itself.
A chip produces genuine DG1, DG15 and EF.SOD files and answers Active Authentication like
an ICAO 9303 chip: ECDSA in plain r || s, or RSA with ISO/IEC 9796-2 scheme 1.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from asn1crypto import cms  # type: ignore[import-untyped]
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from marfiq_identity.eid.active import ISO9796_HASH_IDS, ISO9796_HEADER
from marfiq_identity.eid.crypto import hash_algorithm
from marfiq_identity.eid.lds import (
    LDS_SECURITY_OBJECT_OID,
    TAG_DG1,
    TAG_DG15,
    TAG_MRZ,
    TAG_SOD,
    LdsSecurityObject,
    wrap,
)
from marfiq_identity.eid.mrz import check_digit
from marfiq_identity.eid.trust import TrustList

KeyType = Literal["ec-p256", "ec-p384", "ec-p521", "rsa-2048", "rsa-3072"]
SignatureKind = Literal["rsa-pkcs1", "rsa-pss", "ecdsa"]
PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

_CURVES: dict[str, ec.EllipticCurve] = {
    "ec-p256": ec.SECP256R1(),
    "ec-p384": ec.SECP384R1(),
    "ec-p521": ec.SECP521R1(),
}
_RSA_SIZES = {"rsa-2048": 2048, "rsa-3072": 3072}


def generate_key(key_type: KeyType) -> PrivateKey:
    """A fresh private key of `key_type`."""
    if key_type in _CURVES:
        return ec.generate_private_key(_CURVES[key_type])
    return rsa.generate_private_key(public_exponent=65537, key_size=_RSA_SIZES[key_type])


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _name(country: str, common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, country),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"Marfiq test {country}"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


@dataclass(frozen=True)
class Csca:
    """A Country Signing CA: the root an operator puts in the trust list."""

    key: PrivateKey
    certificate: x509.Certificate

    @classmethod
    def create(
        cls,
        *,
        country: str = "MA",
        common_name: str = "CSCA Maroc",
        key_type: KeyType = "ec-p384",
        not_before: datetime | None = None,
        not_after: datetime | None = None,
    ) -> Csca:
        """A self-signed CSCA, valid from a year ago for 15 years unless told otherwise."""
        key = generate_key(key_type)
        name = _name(country, common_name)
        start = not_before or _utcnow() - timedelta(days=365)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(not_after or start + timedelta(days=15 * 365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(cert_sign=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, _certificate_hash(key))
        )
        return cls(key, certificate)

    @property
    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def trust_list(self, *others: Csca) -> TrustList:
        """A trust list holding this CSCA (and `others`)."""
        return TrustList([self.certificate, *(other.certificate for other in others)])

    def document_signer(
        self,
        *,
        key_type: KeyType = "ec-p256",
        signature: SignatureKind | None = None,
        hash_name: str = "sha256",
        not_before: datetime | None = None,
        not_after: datetime | None = None,
        digital_signature: bool = True,
        common_name: str = "Document Signer",
    ) -> DocumentSigner:
        """A Document Signer issued by this CSCA, valid from a month ago for 10 years."""
        key = generate_key(key_type)
        start = not_before or _utcnow() - timedelta(days=30)
        issuer_key_id = x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key())
        country = self.certificate.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0]
        certificate = (
            x509.CertificateBuilder()
            .subject_name(_name(str(country.value), common_name))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(not_after or start + timedelta(days=10 * 365))
            .add_extension(_key_usage(digital_signature=digital_signature), critical=True)
            .add_extension(issuer_key_id, critical=False)
            .sign(self.key, _certificate_hash(self.key))
        )
        kind: SignatureKind = signature or (
            "ecdsa" if isinstance(key, ec.EllipticCurvePrivateKey) else "rsa-pkcs1"
        )
        return DocumentSigner(key, certificate, kind, hash_name)


@dataclass(frozen=True)
class DocumentSigner:
    """The key a country signs each chip's EF.SOD with, and its certificate."""

    key: PrivateKey
    certificate: x509.Certificate
    signature: SignatureKind = "ecdsa"
    hash_name: str = "sha256"

    @property
    def asn1_certificate(self) -> asn1_x509.Certificate:
        return asn1_x509.Certificate.load(self.certificate.public_bytes(serialization.Encoding.DER))

    def sign_sod(self, data_groups: dict[int, bytes], *, lds_hash: str = "sha256") -> bytes:
        """An EF.SOD over `data_groups`: 0x77 { ContentInfo { SignedData { LDS SO }}}."""
        return self.sod(lds_security_object(data_groups, lds_hash=lds_hash))

    def sod(
        self,
        econtent: bytes,
        *,
        attributes: cms.CMSAttributes | None = None,
        signer_infos: list[cms.SignerInfo] | None = None,
        certificates: list[asn1_x509.Certificate] | None = None,
        content_type: str = LDS_SECURITY_OBJECT_OID,
    ) -> bytes:
        """An EF.SOD around `econtent`; the keywords let tests build broken ones."""
        if signer_infos is None:
            signed = attributes or signed_attributes(econtent, hash_name=self.hash_name)
            signer_infos = [self.signer_info(signed)]
        signed_data = cms.SignedData(
            {
                "version": "v3",
                "digest_algorithms": [{"algorithm": self.hash_name}],
                "encap_content_info": {"content_type": content_type, "content": econtent},
                "certificates": [self.asn1_certificate] if certificates is None else certificates,
                "signer_infos": signer_infos,
            }
        )
        info = cms.ContentInfo({"content_type": "signed_data", "content": signed_data})
        return wrap(TAG_SOD, info.dump())

    def signer_info(
        self, attributes: cms.CMSAttributes, *, algorithm: dict[str, object] | None = None
    ) -> cms.SignerInfo:
        """The SignerInfo of this DS over `attributes` (signed with `algorithm` if given)."""
        certificate = self.asn1_certificate
        return cms.SignerInfo(
            {
                "version": "v1",
                "sid": cms.SignerIdentifier(
                    name="issuer_and_serial_number",
                    value={
                        "issuer": certificate.issuer,
                        "serial_number": certificate.serial_number,
                    },
                ),
                "digest_algorithm": {"algorithm": self.hash_name},
                "signed_attrs": attributes,
                "signature_algorithm": algorithm or self.signature_algorithm(),
                "signature": self.sign(attributes.dump()),
            }
        )

    def issue(
        self,
        *,
        aa_key_type: KeyType = "ec-p256",
        aa_hash: str = "sha256",
        iso9796_minimal: bool = False,
        lds_hash: str = "sha256",
        mrz: str | None = None,
    ) -> Chip:
        """A chip personalised with `mrz` (default: the TD1 CNIE of `td1_mrz()`)."""
        key = generate_key(aa_key_type)
        dg1 = make_dg1(mrz or td1_mrz())
        dg15 = make_dg15(key.public_key())
        sod = self.sign_sod({1: dg1, 15: dg15}, lds_hash=lds_hash)
        return Chip(
            dg1=dg1, dg15=dg15, sod=sod, key=key, aa_hash=aa_hash, iso9796_minimal=iso9796_minimal
        )

    def signature_algorithm(self) -> dict[str, object]:
        """The SignerInfo signatureAlgorithm of this DS, as asn1crypto takes it."""
        if self.signature == "ecdsa":
            return {"algorithm": f"{self.hash_name}_ecdsa"}
        if self.signature == "rsa-pkcs1":
            return {"algorithm": f"{self.hash_name}_rsa"}
        digest_size = hashlib.new(self.hash_name).digest_size
        return {
            "algorithm": "rsassa_pss",
            "parameters": {
                "hash_algorithm": {"algorithm": self.hash_name},
                "mask_gen_algorithm": {
                    "algorithm": "mgf1",
                    "parameters": {"algorithm": self.hash_name},
                },
                "salt_length": digest_size,
                "trailer_field": "trailer_field_bc",
            },
        }

    def sign(self, data: bytes) -> bytes:
        """This DS's signature of `data` with its scheme and hash."""
        algorithm = hash_algorithm(self.hash_name)
        if isinstance(self.key, ec.EllipticCurvePrivateKey):
            return self.key.sign(data, ec.ECDSA(algorithm))
        if self.signature == "rsa-pss":
            pss = padding.PSS(padding.MGF1(algorithm), algorithm.digest_size)
            return self.key.sign(data, pss, algorithm)
        return self.key.sign(data, padding.PKCS1v15(), algorithm)


@dataclass(frozen=True)
class Chip:
    """A simulated eID chip: its files and its Active Authentication key."""

    dg1: bytes
    dg15: bytes
    sod: bytes
    key: PrivateKey = field(repr=False)
    aa_hash: str = "sha256"
    iso9796_minimal: bool = False

    def sign(self, nonce: bytes) -> bytes:
        """The chip's INTERNAL AUTHENTICATE answer to `nonce`."""
        if isinstance(self.key, ec.EllipticCurvePrivateKey):
            r, s = decode_dss_signature(
                self.key.sign(nonce, ec.ECDSA(hash_algorithm(self.aa_hash)))
            )
            size = (self.key.curve.key_size + 7) // 8
            return r.to_bytes(size, "big") + s.to_bytes(size, "big")
        return iso9796_2_sign(self.key, nonce, self.aa_hash, minimal=self.iso9796_minimal)


def lds_security_object(data_groups: dict[int, bytes], *, lds_hash: str = "sha256") -> bytes:
    """The DER LDSSecurityObject listing the `lds_hash` of each data group."""
    return LdsSecurityObject(
        {
            "version": 0,
            "hash_algorithm": {"algorithm": lds_hash},
            "data_group_hash_values": [
                {
                    "data_group_number": number,
                    "data_group_hash_value": hashlib.new(lds_hash, data).digest(),
                }
                for number, data in sorted(data_groups.items())
            ],
        }
    ).dump()


def signed_attributes(
    econtent: bytes, *, hash_name: str = "sha256", content_type: str = LDS_SECURITY_OBJECT_OID
) -> cms.CMSAttributes:
    """The signed attributes ICAO requires: content type and message digest."""
    return cms.CMSAttributes(
        [
            {"type": "content_type", "values": [content_type]},
            {"type": "message_digest", "values": [hashlib.new(hash_name, econtent).digest()]},
        ]
    )


def iso9796_2_sign(
    key: rsa.RSAPrivateKey, nonce: bytes, hash_name: str = "sha256", *, minimal: bool = False
) -> bytes:
    """ISO/IEC 9796-2 scheme 1, partial recovery: M1 random, M2 = nonce, trailer BC or xxCC.

    With `minimal`, send min(s, n - s) as the standard allows.
    """
    numbers = key.private_numbers()
    n = numbers.public_numbers.n
    size = (n.bit_length() + 7) // 8
    if hash_name == "sha1":
        trailer = b"\xbc"
    else:
        hash_id = next(i for i, name in ISO9796_HASH_IDS.items() if name == hash_name)
        trailer = bytes([hash_id, 0xCC])
    digest_size = hashlib.new(hash_name).digest_size
    m1 = os.urandom(size - 1 - digest_size - len(trailer))
    representative = bytes([ISO9796_HEADER]) + m1 + hashlib.new(hash_name, m1 + nonce).digest()
    value = int.from_bytes(representative + trailer, "big")
    # RSA with the Chinese remainder theorem, as a chip computes it.
    m_p = pow(value, numbers.dmp1, numbers.p)
    m_q = pow(value, numbers.dmq1, numbers.q)
    signature = m_q + numbers.q * ((numbers.iqmp * (m_p - m_q)) % numbers.p)
    if minimal:
        signature = min(signature, n - signature)
    return signature.to_bytes(size, "big")


def make_dg1(mrz: str) -> bytes:
    """DG1 = 0x61 { 0x5F1F MRZ }."""
    return wrap(TAG_DG1, wrap(TAG_MRZ, mrz.encode("ascii")))


def make_dg15(public_key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey) -> bytes:
    """DG15 = 0x6F { SubjectPublicKeyInfo }."""
    spki = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return wrap(TAG_DG15, spki)


def _pad(value: str, width: int) -> str:
    value = value.upper().replace(" ", "<").replace("-", "<")
    return (value + "<" * width)[:width]


def _names(surname: str, given_names: str, width: int) -> str:
    return _pad(f"{_pad(surname, len(surname))}<<{_pad(given_names, len(given_names))}", width)


def td1_mrz(
    *,
    cin: str = "BE123456",
    document_number: str = "ZU1234567",
    surname: str = "EL ALAOUI",
    given_names: str = "FATIMA ZAHRA",
    birth_date: date = date(1990, 4, 17),
    sex: str = "F",
    expiry: date | None = None,
    issuing_state: str = "MAR",
    nationality: str = "MAR",
) -> str:
    """A TD1 MRZ as on a Moroccan CNIE: the CIN in the optional data of line 1."""
    expiry = expiry or date.today() + timedelta(days=5 * 365)
    number = _pad(document_number, 9)
    line1 = "ID" + issuing_state + number + check_digit(number) + _pad(cin, 15)
    birth, end = f"{birth_date:%y%m%d}", f"{expiry:%y%m%d}"
    line2 = birth + check_digit(birth) + sex + end + check_digit(end) + nationality + "<" * 11
    composite = line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29]
    line2 += check_digit(composite)
    return line1 + line2 + _names(surname, given_names, 30)


def td3_mrz(
    *,
    document_number: str = "AB1234567",
    surname: str = "BENNANI",
    given_names: str = "YOUSSEF",
    birth_date: date = date(1985, 12, 1),
    sex: str = "M",
    expiry: date | None = None,
    personal_number: str = "",
    issuing_state: str = "MAR",
    nationality: str = "MAR",
) -> str:
    """A TD3 (passport) MRZ; the personal number is where a Moroccan passport puts the CIN."""
    expiry = expiry or date.today() + timedelta(days=5 * 365)
    line1 = "P<" + issuing_state + _names(surname, given_names, 39)
    number, personal = _pad(document_number, 9), _pad(personal_number, 14)
    birth, end = f"{birth_date:%y%m%d}", f"{expiry:%y%m%d}"
    personal_digit = check_digit(personal) if personal_number else "<"
    line2 = (
        number
        + check_digit(number)
        + nationality
        + birth
        + check_digit(birth)
        + sex
        + end
        + check_digit(end)
        + personal
        + personal_digit
    )
    line2 += check_digit(line2[0:10] + line2[13:20] + line2[21:43])
    return line1 + line2


def _key_usage(*, digital_signature: bool = False, cert_sign: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        # A certificate without digitalSignature still needs some usage: non-repudiation.
        content_commitment=not digital_signature and not cert_sign,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _certificate_hash(key: PrivateKey) -> hashes.SHA256 | hashes.SHA384:
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size > 256:
        return hashes.SHA384()
    return hashes.SHA256()
