"""Passive Authentication (ICAO 9303 part 11, 5.1): the chip's files are those its country signed.

EF.SOD = 0x77 { CMS ContentInfo { SignedData { LDSSecurityObject, DS certificate, SignerInfo }}}.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from asn1crypto import (  # type: ignore[import-untyped]
    cms,
    core,
    x509,  # type: ignore[import-untyped]
)
from asn1crypto.x509 import Name  # type: ignore[import-untyped]
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from marfiq_identity.eid.crypto import PLAIN_ECDSA_OIDS, hash_algorithm, plain_ecdsa_to_der
from marfiq_identity.eid.errors import EidMalformed, EidTampered
from marfiq_identity.eid.lds import (
    LDS_SECURITY_OBJECT_OID,
    TAG_SOD,
    LdsSecurityObject,
    digest,
    unwrap,
)
from marfiq_identity.eid.trust import TrustList

# rsaEncryption and id-ecPublicKey name only the key; the SignerInfo digest names the hash.
KEY_ONLY_OIDS = {"1.2.840.113549.1.1.1": "rsassa_pkcs1v15", "1.2.840.10045.2.1": "ecdsa"}
# Larger than any hash ICAO names; what RSA-PSS keys of any sane size allow.
MAX_PSS_SALT = 512
# Errors asn1crypto raises on bytes that do not fit the structure it was asked to read.
_PARSE_ERRORS = (ValueError, TypeError, KeyError, IndexError, OverflowError)


@dataclass(frozen=True, slots=True)
class SignatureScheme:
    """How the Document Signer signed: `kind` is rsassa_pkcs1v15, rsassa_pss, ecdsa or
    ecdsa_plain; PSS adds its mask hash and salt length."""

    kind: str
    hash: str
    mgf_hash: str = ""
    salt_length: int = 0


@dataclass(frozen=True, slots=True)
class SecurityObject:
    """What an EF.SOD says, read but not yet verified."""

    hash_algorithm: str
    data_group_hashes: Mapping[int, bytes]
    signer_certificate: bytes
    econtent: bytes
    message_digest: bytes
    digest_algorithm: str
    signed_attributes: bytes
    scheme: SignatureScheme
    signature: bytes


def parse_sod(sod: bytes) -> SecurityObject:
    """Read an EF.SOD; anything that does not fit ICAO 9303 part 10 is EidMalformed."""
    content = unwrap(sod, TAG_SOD, "EF.SOD")
    try:
        return _parse_signed_data(content)
    except _PARSE_ERRORS as exc:
        raise EidMalformed("the SOD is not a valid CMS SignedData") from exc


def passive_authentication(
    *, sod: bytes, data_groups: Mapping[int, bytes], trust: TrustList, now: datetime
) -> SecurityObject:
    """Prove the SOD was signed by a DS of a trusted CSCA and that `data_groups` match it."""
    security = parse_sod(sod)
    signer = trust.signer(security.signer_certificate, now=now)
    if not hmac.compare_digest(
        digest(security.digest_algorithm, security.econtent), security.message_digest
    ):
        raise EidTampered("the LDS Security Object does not match its signed digest")
    try:
        _verify(signer.public_key, security)
    except InvalidSignature:
        raise EidTampered("the SOD signature is not valid") from None
    except (ValueError, UnsupportedAlgorithm) as exc:  # parameters OpenSSL will not take
        raise EidMalformed("the SOD signature parameters are not usable") from exc
    for number, data in data_groups.items():
        expected = security.data_group_hashes.get(number)
        if expected is None:
            raise EidMalformed(f"the SOD holds no hash for DG{number}")
        if not hmac.compare_digest(digest(security.hash_algorithm, data), expected):
            raise EidTampered(f"DG{number} does not match the SOD")
    return security


def _parse_signed_data(content: bytes) -> SecurityObject:
    info = cms.ContentInfo.load(content, strict=True)
    if info["content_type"].native != "signed_data":
        raise EidMalformed("the SOD does not hold a SignedData")
    signed = info["content"]
    encapsulated = signed["encap_content_info"]
    if encapsulated["content_type"].dotted != LDS_SECURITY_OBJECT_OID:
        raise EidMalformed("the SOD does not hold an LDS Security Object")
    econtent = encapsulated["content"].native
    if not isinstance(econtent, bytes):
        raise EidMalformed("the LDS Security Object is missing")
    lds = LdsSecurityObject.load(econtent, strict=True)
    hashes: dict[int, bytes] = {}
    for entry in lds["data_group_hash_values"]:
        number = entry["data_group_number"].native
        if number in hashes or not 1 <= number <= 16:
            raise EidMalformed("the LDS Security Object lists a data group twice or out of range")
        hashes[number] = entry["data_group_hash_value"].native

    signer_infos = signed["signer_infos"]
    if len(signer_infos) != 1:
        raise EidMalformed("the SOD must have exactly one signer")
    signer_info = signer_infos[0]
    attributes = signer_info["signed_attrs"]
    if not attributes.contents:
        raise EidMalformed("the SOD signer has no signed attributes")
    content_type, message_digest = _signed_attributes(attributes)
    if content_type != LDS_SECURITY_OBJECT_OID:
        raise EidMalformed("the signed content type is not the LDS Security Object")

    return SecurityObject(
        hash_algorithm=lds["hash_algorithm"]["algorithm"].native,
        data_group_hashes=hashes,
        signer_certificate=_signer_certificate(signed, signer_info["sid"]),
        econtent=econtent,
        message_digest=message_digest,
        digest_algorithm=signer_info["digest_algorithm"]["algorithm"].native,
        # The signature covers the DER SET OF, not the [0] IMPLICIT form it travels in.
        signed_attributes=b"\x31" + attributes.dump()[1:],
        scheme=_scheme(signer_info),
        signature=signer_info["signature"].native,
    )


def _signed_attributes(attributes: cms.CMSAttributes) -> tuple[str, bytes]:
    found: dict[str, object] = {}
    for attribute in attributes:
        name = attribute["type"].native
        if name in found:
            raise EidMalformed(f"the signed attribute {name} appears twice")
        values = attribute["values"]
        if len(values) != 1:
            raise EidMalformed(f"the signed attribute {name} must have one value")
        found[name] = values[0]
    content_type = found.get("content_type")
    message_digest = found.get("message_digest")
    if not isinstance(content_type, cms.ContentType) or not isinstance(
        message_digest, core.OctetString
    ):
        raise EidMalformed("the signed attributes lack the content type or the message digest")
    return content_type.dotted, message_digest.native


def _signer_certificate(signed: cms.SignedData, sid: cms.SignerIdentifier) -> bytes:
    """The DER of the embedded certificate the SignerInfo names."""
    wanted = sid.dump()
    for choice in signed["certificates"] or ():
        if choice.name != "certificate":
            continue
        der: bytes = choice.chosen.dump()
        if _names(wanted, der):
            return der
    raise EidMalformed("the SOD does not embed its Document Signer certificate")


# The same few Document Signers sign every card of a country: whether a SignerIdentifier
# names a certificate is remembered by their encodings (bounded) rather than found again by
# parsing the certificate for each card (py-spy: a third of parsing an EF.SOD).
@lru_cache(maxsize=1024)
def _names(sid_der: bytes, certificate_der: bytes) -> bool:
    """Whether the SignerIdentifier `sid_der` designates the certificate `certificate_der`."""
    sid = cms.SignerIdentifier.load(sid_der)
    certificate = x509.Certificate.load(certificate_der)
    if sid.name == "issuer_and_serial_number":
        wanted = sid.chosen
        return bool(
            certificate.serial_number == wanted["serial_number"].native
            and _same_name(certificate.issuer, wanted["issuer"])
        )
    return bool(certificate.key_identifier == sid.chosen.native)


def _same_name(one: Name, other: Name) -> bool:
    # Equal encodings are the common case; asn1crypto's RFC 5280 comparison is slow.
    return one.dump() == other.dump() or one == other


def _scheme(signer_info: cms.SignerInfo) -> SignatureScheme:
    algorithm = signer_info["signature_algorithm"]
    digest_name = signer_info["digest_algorithm"]["algorithm"].native
    oid = algorithm["algorithm"].dotted
    if oid in PLAIN_ECDSA_OIDS:
        return SignatureScheme("ecdsa_plain", PLAIN_ECDSA_OIDS[oid])
    if oid in KEY_ONLY_OIDS:
        return SignatureScheme(KEY_ONLY_OIDS[oid], digest_name)
    kind = algorithm.signature_algo
    if kind == "rsassa_pss":
        parameters = algorithm["parameters"]
        mask = parameters["mask_gen_algorithm"]
        if mask["algorithm"].native != "mgf1" or parameters["trailer_field"].native not in (
            "trailer_field_bc",
            1,
        ):
            raise EidMalformed("unsupported RSA-PSS parameters")
        salt_length = parameters["salt_length"].native
        if not 0 <= salt_length <= MAX_PSS_SALT:
            raise EidMalformed("the RSA-PSS salt length is out of range")
        return SignatureScheme(
            kind,
            parameters["hash_algorithm"]["algorithm"].native,
            mgf_hash=mask["parameters"]["algorithm"].native,
            salt_length=salt_length,
        )
    if kind not in ("rsassa_pkcs1v15", "ecdsa"):
        raise EidMalformed(f"unsupported signature algorithm {kind}")
    try:
        return SignatureScheme(kind, algorithm.hash_algo)
    except ValueError:
        raise EidMalformed("unsupported signature hash algorithm") from None


def _verify(key: object, security: SecurityObject) -> None:
    """Check the SignerInfo signature over the signed attributes; InvalidSignature if not."""
    scheme, data, signature = security.scheme, security.signed_attributes, security.signature
    algorithm = hash_algorithm(scheme.hash)
    if isinstance(key, rsa.RSAPublicKey) and scheme.kind == "rsassa_pkcs1v15":
        key.verify(signature, data, padding.PKCS1v15(), algorithm)
    elif isinstance(key, rsa.RSAPublicKey) and scheme.kind == "rsassa_pss":
        pss = padding.PSS(padding.MGF1(hash_algorithm(scheme.mgf_hash)), scheme.salt_length)
        key.verify(signature, data, pss, algorithm)
    elif isinstance(key, ec.EllipticCurvePublicKey) and scheme.kind == "ecdsa":
        key.verify(signature, data, ec.ECDSA(algorithm))
    elif isinstance(key, ec.EllipticCurvePublicKey) and scheme.kind == "ecdsa_plain":
        key.verify(plain_ecdsa_to_der(signature, key), data, ec.ECDSA(algorithm))
    else:
        raise EidMalformed("the SOD signature algorithm does not fit the Document Signer key")
