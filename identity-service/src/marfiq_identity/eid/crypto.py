"""Signature primitives shared by Passive and Active Authentication."""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from marfiq_identity.eid.errors import EidMalformed

HASH_ALGORITHMS: dict[str, hashes.HashAlgorithm] = {
    # ICAO 9303 still allows SHA-1, and documents signed with it remain valid for ten years.
    "sha1": hashes.SHA1(),  # noqa: S303
    "sha224": hashes.SHA224(),
    "sha256": hashes.SHA256(),
    "sha384": hashes.SHA384(),
    "sha512": hashes.SHA512(),
}

# ecdsa-plain-SHA* (BSI TR-03111): r || s instead of a DER SEQUENCE.
PLAIN_ECDSA_OIDS = {
    "0.4.0.127.0.7.1.1.4.1.1": "sha1",
    "0.4.0.127.0.7.1.1.4.1.2": "sha224",
    "0.4.0.127.0.7.1.1.4.1.3": "sha256",
    "0.4.0.127.0.7.1.1.4.1.4": "sha384",
    "0.4.0.127.0.7.1.1.4.1.5": "sha512",
}


def hash_algorithm(name: str) -> hashes.HashAlgorithm:
    """The cryptography hash called `name` (asn1crypto's spelling: sha256 ...)."""
    try:
        return HASH_ALGORITHMS[name]
    except KeyError:
        raise EidMalformed(f"unsupported hash algorithm {name!r}") from None


def plain_ecdsa_to_der(signature: bytes, key: ec.EllipticCurvePublicKey) -> bytes:
    """Turn a TR-03111 plain signature (r || s, each the size of the order) into DER.

    A signature of the wrong length cannot be genuine, so it fails as a bad signature.
    """
    size = (key.curve.key_size + 7) // 8
    if len(signature) != 2 * size:
        raise InvalidSignature
    return encode_dss_signature(
        int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big")
    )
