"""Active Authentication (ICAO 9303 part 11, 6.1): the chip holds the private key of DG15.

The chip signs the server's nonce: ECDSA in the plain r || s format of BSI TR-03111, or RSA
with ISO/IEC 9796-2 digital signature scheme 1 (partial message recovery).
"""

from __future__ import annotations

import hashlib
import hmac

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.serialization import load_der_public_key

from marfiq_identity.eid.crypto import hash_algorithm, plain_ecdsa_to_der
from marfiq_identity.eid.errors import EidMalformed, EidSignatureInvalid
from marfiq_identity.eid.lds import TAG_DG15, unwrap

# ISO/IEC 9796-2: header of a partially recovered message; trailers; ISO/IEC 10118-3 ids.
ISO9796_HEADER = 0x6A
ISO9796_TRAILER_SHA1 = 0xBC
ISO9796_TRAILER_EXPLICIT = 0xCC
ISO9796_HASH_IDS = {0x33: "sha1", 0x34: "sha256", 0x35: "sha512", 0x36: "sha384", 0x38: "sha224"}

# The hash of an ECDSA answer is named in DG14, which the app does not send: try the one
# that fits the curve first, then the others ICAO allows. Every one is collision resistant
# for this use (the message is our fresh nonce), so accepting any of them grants nothing.
ECDSA_HASHES = ("sha256", "sha384", "sha512", "sha224", "sha1")
_CURVE_HASH = {224: "sha224", 256: "sha256", 384: "sha384", 512: "sha512", 521: "sha512"}


def read_dg15(dg15: bytes) -> PublicKeyTypes:
    """The Active Authentication public key: DG15 = 0x6F { SubjectPublicKeyInfo }."""
    try:
        return load_der_public_key(unwrap(dg15, TAG_DG15, "DG15"))
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise EidMalformed("DG15 does not hold a public key") from exc


def active_authentication(*, dg15: bytes, nonce: bytes, signature: bytes) -> None:
    """Prove the chip signed `nonce` with the key of `dg15`, or raise EidSignatureInvalid."""
    key = read_dg15(dg15)
    if isinstance(key, ec.EllipticCurvePublicKey):
        genuine = _ecdsa_signed(key, nonce, signature)
    elif isinstance(key, rsa.RSAPublicKey):
        genuine = iso9796_2_signed(key, nonce, signature)
    else:
        raise EidMalformed("DG15 holds neither an RSA nor an EC key")
    if not genuine:
        raise EidSignatureInvalid("the chip's answer does not sign this challenge")


def iso9796_2_signed(key: rsa.RSAPublicKey, nonce: bytes, signature: bytes) -> bool:
    """ISO/IEC 9796-2 scheme 1 with M2 = nonce: recover M1 and compare H(M1 || nonce)."""
    numbers = key.public_numbers()
    size = (numbers.n.bit_length() + 7) // 8
    if len(signature) != size:
        return False
    value = int.from_bytes(signature, "big")
    if not 0 < value < numbers.n:
        return False
    # A plain RSA operation: the padding is ISO 9796-2's, not PKCS#1's. ISO 9796-2 allows
    # the signer to send min(J^d, n - J^d); a representative ends in the nibble 0xC.
    representative = pow(value, numbers.e, numbers.n)
    if representative & 0xF != 0xC:
        representative = numbers.n - representative
        if representative & 0xF != 0xC:
            return False
    recovered = representative.to_bytes(size, "big")
    if recovered[0] != ISO9796_HEADER:
        return False
    if recovered[-1] == ISO9796_TRAILER_SHA1:
        name, trailer = "sha1", 1
    elif recovered[-1] == ISO9796_TRAILER_EXPLICIT and recovered[-2] in ISO9796_HASH_IDS:
        name, trailer = ISO9796_HASH_IDS[recovered[-2]], 2
    else:
        return False
    digest_start = size - trailer - hashlib.new(name).digest_size
    if digest_start < 2:
        return False
    message = recovered[1:digest_start]
    expected = hashlib.new(name, message + nonce).digest()
    return hmac.compare_digest(expected, recovered[digest_start : size - trailer])


def _ecdsa_signed(key: ec.EllipticCurvePublicKey, nonce: bytes, signature: bytes) -> bool:
    try:
        der = plain_ecdsa_to_der(signature, key)
    except InvalidSignature:
        return False
    preferred = _CURVE_HASH.get(key.curve.key_size, "sha256")
    for name in (preferred, *(h for h in ECDSA_HASHES if h != preferred)):
        try:
            key.verify(der, nonce, ec.ECDSA(hash_algorithm(name)))
        except InvalidSignature:
            continue
        return True
    return False
