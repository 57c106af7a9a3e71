"""The chip's file formats (ICAO 9303 part 10): BER-TLV wrappers and the LDS Security Object."""

from __future__ import annotations

import hashlib

from asn1crypto import algos, core  # type: ignore[import-untyped]

from marfiq_identity.eid.errors import EidMalformed

# id-icao-mrtd-security-ldsSecurityObject
LDS_SECURITY_OBJECT_OID = "2.23.136.1.1.1"

# Tags of the elementary files the service receives.
TAG_SOD = 0x77
TAG_DG1 = 0x61
TAG_MRZ = 0x5F1F
TAG_DG15 = 0x6F

# Digest algorithms a chip may name, as asn1crypto and hashlib both call them; MD5 is refused.
HASHES = frozenset({"sha1", "sha224", "sha256", "sha384", "sha512"})


class DataGroupHash(core.Sequence):
    _fields = [  # noqa: RUF012 - asn1crypto declares its structures as class lists
        ("data_group_number", core.Integer),
        ("data_group_hash_value", core.OctetString),
    ]


class DataGroupHashValues(core.SequenceOf):
    _child_spec = DataGroupHash


class LdsVersionInfo(core.Sequence):
    _fields = [  # noqa: RUF012
        ("lds_version", core.PrintableString),
        ("unicode_version", core.PrintableString),
    ]


class LdsSecurityObject(core.Sequence):
    """LDSSecurityObject ::= SEQUENCE { version, hashAlgorithm, dataGroupHashValues,
    ldsVersionInfo OPTIONAL } (ICAO 9303 part 10, appendix D)."""

    _fields = [  # noqa: RUF012
        ("version", core.Integer),
        ("hash_algorithm", algos.DigestAlgorithm),
        ("data_group_hash_values", DataGroupHashValues),
        ("lds_version_info", LdsVersionInfo, {"optional": True}),
    ]


def digest(algorithm: str, data: bytes) -> bytes:
    """The `algorithm` hash of `data`; an algorithm outside `HASHES` is a malformed input."""
    if algorithm not in HASHES:
        raise EidMalformed(f"unsupported hash algorithm {algorithm!r}")
    return hashlib.new(algorithm, data).digest()


def read_tlv(data: bytes, offset: int = 0) -> tuple[int, bytes, int]:
    """One BER-TLV at `offset`: its tag, its value and the offset just past it."""
    try:
        tag = data[offset]
        offset += 1
        if tag & 0x1F == 0x1F:  # multi-byte tag: continue while the high bit is set
            while True:
                byte = data[offset]
                offset += 1
                tag = (tag << 8) | byte
                if not byte & 0x80:
                    break
                if tag > 0xFFFFFF:
                    raise EidMalformed("a TLV tag is too long")
        length = data[offset]
        offset += 1
        if length & 0x80:
            count = length & 0x7F
            if count == 0 or count > 3:
                raise EidMalformed("a TLV length is indefinite or too long")
            length = int.from_bytes(data[offset : offset + count], "big")
            if offset + count > len(data):
                raise IndexError
            offset += count
    except IndexError as exc:
        raise EidMalformed("a TLV is truncated") from exc
    end = offset + length
    if end > len(data):
        raise EidMalformed("a TLV is truncated")
    return tag, data[offset:end], end


def unwrap(data: bytes, tag: int, name: str) -> bytes:
    """The value of the single TLV `tag` that makes up the whole of `data`."""
    found, value, end = read_tlv(data)
    if found != tag:
        raise EidMalformed(f"{name} does not start with tag {tag:#x}")
    if end != len(data):
        raise EidMalformed(f"{name} has trailing bytes")
    return value


def wrap(tag: int, value: bytes) -> bytes:
    """Encode one BER-TLV in DER (definite, shortest length)."""
    tag_bytes = tag.to_bytes((tag.bit_length() + 7) // 8 or 1, "big")
    size = len(value)
    if size < 0x80:
        header = bytes([size])
    else:
        count = (size.bit_length() + 7) // 8
        header = bytes([0x80 | count]) + size.to_bytes(count, "big")
    return tag_bytes + header + value
