"""Active Authentication: ISO/IEC 9796-2 scheme 1 for RSA, plain ECDSA, and DG15."""

from __future__ import annotations

import hashlib
import os

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from marfiq_identity.eid.active import active_authentication, iso9796_2_signed
from marfiq_identity.eid.errors import EidMalformed, EidSignatureInvalid
from marfiq_identity.eid.lds import wrap
from marfiq_identity.eid.testing import Chip, iso9796_2_sign, make_dg15

NONCE = bytes.fromhex("0102030405060708")


@pytest.fixture(scope="module")
def rsa_key(rsa_chip: Chip) -> rsa.RSAPrivateKey:
    assert isinstance(rsa_chip.key, rsa.RSAPrivateKey)
    return rsa_chip.key


def raw_sign(key: rsa.RSAPrivateKey, representative: bytes) -> bytes:
    """The textbook RSA signature of a representative of our making."""
    numbers = key.private_numbers()
    n = numbers.public_numbers.n
    value = pow(int.from_bytes(representative, "big"), numbers.d, n)
    return value.to_bytes((n.bit_length() + 7) // 8, "big")


def representative(
    key: rsa.RSAPrivateKey,
    *,
    header: int = 0x6A,
    trailer: bytes = b"\x34\xcc",
    nonce: bytes = NONCE,
) -> bytes:
    size = key.key_size // 8
    m1 = os.urandom(size - 1 - 32 - len(trailer))
    return bytes([header]) + m1 + hashlib.sha256(m1 + nonce).digest() + trailer


@pytest.mark.parametrize("hash_name", ["sha1", "sha224", "sha256", "sha384", "sha512"])
def test_iso9796_2_answer_with_each_hash_is_accepted(
    rsa_key: rsa.RSAPrivateKey, hash_name: str
) -> None:
    signature = iso9796_2_sign(rsa_key, NONCE, hash_name)

    assert iso9796_2_signed(rsa_key.public_key(), NONCE, signature)


def test_iso9796_2_answer_of_our_own_encoding_is_accepted(rsa_key: rsa.RSAPrivateKey) -> None:
    signature = raw_sign(rsa_key, representative(rsa_key))

    assert iso9796_2_signed(rsa_key.public_key(), NONCE, signature)


@pytest.mark.parametrize(
    ("header", "trailer"),
    [
        (0x4A, b"\x34\xcc"),  # total recovery: not what ICAO prescribes
        (0x6B, b"\x34\xcc"),
        (0x6A, b"\x37\xcc"),  # Whirlpool: not supported
        (0x6A, b"\x34\xbc"),  # SHA-1 trailer around a SHA-256 digest
    ],
)
def test_iso9796_2_answer_with_a_foreign_frame_is_refused(
    rsa_key: rsa.RSAPrivateKey, header: int, trailer: bytes
) -> None:
    signature = raw_sign(rsa_key, representative(rsa_key, header=header, trailer=trailer))

    assert not iso9796_2_signed(rsa_key.public_key(), NONCE, signature)


def test_iso9796_2_answer_for_another_nonce_is_refused(rsa_key: rsa.RSAPrivateKey) -> None:
    signature = raw_sign(rsa_key, representative(rsa_key, nonce=b"87654321"))

    assert not iso9796_2_signed(rsa_key.public_key(), NONCE, signature)


def test_iso9796_2_answer_out_of_range_is_refused(rsa_key: rsa.RSAPrivateKey) -> None:
    public = rsa_key.public_key()
    n = public.public_numbers().n
    size = public.key_size // 8

    for value in (0, n, n + 1, 2**public.key_size - 1):
        assert not iso9796_2_signed(public, NONCE, value.to_bytes(size, "big"))
    assert not iso9796_2_signed(public, NONCE, iso9796_2_sign(rsa_key, NONCE)[1:])
    assert not iso9796_2_signed(public, NONCE, b"\x00" + iso9796_2_sign(rsa_key, NONCE))


def test_ecdsa_answer_of_the_wrong_length_is_refused(ec_chip: Chip) -> None:
    signature = ec_chip.sign(NONCE)

    for forged in (signature[:-1], signature + b"\x00", b"", signature[:32]):
        with pytest.raises(EidSignatureInvalid):
            active_authentication(dg15=ec_chip.dg15, nonce=NONCE, signature=forged)


def test_ecdsa_answer_in_der_instead_of_plain_is_refused(ec_chip: Chip) -> None:
    assert isinstance(ec_chip.key, ec.EllipticCurvePrivateKey)
    der = ec_chip.key.sign(NONCE, ec.ECDSA(hashes.SHA256()))

    with pytest.raises(EidSignatureInvalid):
        active_authentication(dg15=ec_chip.dg15, nonce=NONCE, signature=der)


def test_dg15_with_a_key_type_icao_does_not_use_is_malformed() -> None:
    dg15 = make_dg15(ed25519.Ed25519PrivateKey.generate().public_key())  # type: ignore[arg-type]

    with pytest.raises(EidMalformed):
        active_authentication(dg15=dg15, nonce=NONCE, signature=b"\x00" * 64)


@pytest.mark.parametrize(
    "dg15", [b"", b"\x6f", b"\x6f\x00", wrap(0x6E, b"\x30\x00"), wrap(0x6F, os.urandom(40))]
)
def test_dg15_that_is_no_public_key_is_malformed(dg15: bytes) -> None:
    with pytest.raises(EidMalformed):
        active_authentication(dg15=dg15, nonce=NONCE, signature=b"\x00" * 64)
