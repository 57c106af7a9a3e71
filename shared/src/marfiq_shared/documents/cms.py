"""PAdES CMS signatures made from a template that pyHanko builds once per signing identity.

For one identity, every PAdES baseline B-B signature pyHanko makes is the same structure:
the certificates, the signer's identifier, the algorithms and the signing-certificate-v2
attribute never change; only the message digest (in the signed attributes) and the ECDSA
value over those attributes do. pyHanko spends about 15 ms rebuilding that structure with
asn1crypto for each document; here it is built once, and each signature replaces the two
values in the DER and signs with `cryptography` (about 0.1 ms). What comes out is exactly
what pyHanko would have produced for that digest, and pyHanko's validator checks it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.sign import signers
from pyhanko_certvalidator.registry import SimpleCertificateStore

from marfiq_shared.documents.pki import SigningIdentity

# The messageDigest attribute's OID (1.2.840.113549.1.9.4), then SET { OCTET STRING (32) }.
_DIGEST_PREFIX = bytes.fromhex("06092a864886f70d010904") + bytes.fromhex("31220420")
_PLACEHOLDER = b"\xa5" * 32  # the digest the template is made with; found and replaced
_SIGNED_DATA_OID = bytes.fromhex("06092a864886f70d010702")
T = TypeVar("T")


def _length(size: int) -> bytes:
    if size < 0x80:
        return bytes([size])
    raw = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + _length(len(content)) + content


def _children(der: bytes) -> list[tuple[int, bytes]]:
    """The (tag, content) of each element of a constructed DER value's content."""
    found: list[tuple[int, bytes]] = []
    i = 0
    while i < len(der):
        tag, first = der[i], der[i + 1]
        i += 2
        if first & 0x80:
            count = first & 0x7F
            size = int.from_bytes(der[i : i + count], "big")
            i += count
        else:
            size = first
        found.append((tag, der[i : i + size]))
        i += size
    return found


@dataclass(frozen=True, slots=True)
class CmsTemplate:
    """The fixed parts of one identity's PAdES signatures, as DER."""

    key: ec.EllipticCurvePrivateKey
    signed_data_head: bytes  # version, digest algorithms, content info, certificates
    signer_head: bytes  # version, signer identifier, digest algorithm
    signer_tail_algorithm: bytes  # the signature algorithm
    attributes: bytes  # content of the signed attributes, with the placeholder digest
    digest_at: int  # where the digest starts in `attributes`

    def sign(self, digest: bytes) -> bytes:
        """A CMS ContentInfo (DER) signing the SHA-256 `digest` of the signed bytes."""
        if len(digest) != 32:
            raise ValueError("a SHA-256 digest is 32 bytes")
        attributes = (
            self.attributes[: self.digest_at] + digest + self.attributes[self.digest_at + 32 :]
        )
        # The signature covers the attributes as a SET (tag 0x31), RFC 5652 5.4.
        value = self.key.sign(_tlv(0x31, attributes), ec.ECDSA(hashes.SHA256()))
        signer_info = _tlv(
            0x30,
            self.signer_head
            + _tlv(0xA0, attributes)
            + self.signer_tail_algorithm
            + _tlv(0x04, value),
        )
        signed_data = _tlv(0x30, self.signed_data_head + _tlv(0x31, signer_info))
        return _tlv(0x30, _SIGNED_DATA_OID + _tlv(0xA0, signed_data))


def build_template(identity: SigningIdentity) -> CmsTemplate:
    """Have pyHanko sign a placeholder digest for `identity`, and keep its structure."""
    signer = signers.SimpleSigner(
        signing_cert=identity.asn1_certificate(),
        signing_key=identity.asn1_key(),
        cert_registry=SimpleCertificateStore.from_certs(identity.asn1_chain()),
    )
    made = _outside_any_loop(
        lambda: asyncio.run(signer.async_sign(_PLACEHOLDER, "sha256", use_pades=True))
    )
    ((_, content_info),) = _children(made.dump())
    _oid, (_, explicit) = _children(content_info)
    ((_, signed_data),) = _children(explicit)
    parts = _children(signed_data)
    *head, (info_tag, infos) = parts
    if info_tag != 0x31 or any(tag == 0xA1 for tag, _ in head):
        raise ValueError("unexpected CMS layout from pyHanko (revocation data?)")
    ((_, signer_info),) = _children(infos)
    fields = _children(signer_info)
    tags = [tag for tag, _ in fields]
    if tags != [0x02, 0x30, 0x30, 0xA0, 0x30, 0x04]:
        raise ValueError(f"unexpected SignerInfo layout from pyHanko: {tags}")
    attributes = fields[3][1]
    at = attributes.find(_DIGEST_PREFIX + _PLACEHOLDER)
    if at < 0 or attributes.count(_PLACEHOLDER) != 1:
        raise ValueError("the message digest attribute is not where a template needs it")
    return CmsTemplate(
        key=identity.key,
        signed_data_head=b"".join(_tlv(tag, content) for tag, content in head),
        signer_head=b"".join(_tlv(tag, content) for tag, content in fields[:3]),
        signer_tail_algorithm=_tlv(fields[4][0], fields[4][1]),
        attributes=attributes,
        digest_at=at + len(_DIGEST_PREFIX),
    )


def _outside_any_loop(work: Callable[[], T]) -> T:
    """Run `work` here, or in a fresh thread when this one runs an event loop (pyHanko
    drives its own with `asyncio.run`, which cannot nest)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return work()
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(work).result()


_templates: dict[tuple[str, bytes], CmsTemplate] = {}
_templates_lock = threading.Lock()


def template_for(identity: SigningIdentity) -> CmsTemplate:
    """The template of `identity`, made on first use (a renewed certificate gets a new one).

    Blocking, and it runs pyHanko's own event loop: call it from a worker thread.
    """
    fingerprint = identity.certificate.fingerprint(hashes.SHA256())
    cache_key = (identity.name, fingerprint)
    known = _templates.get(cache_key)
    if known is None:
        with _templates_lock:
            known = _templates.get(cache_key)
            if known is None:
                known = build_template(identity)
                _templates[cache_key] = known
    return known
