"""PAdES signatures: sign a PDF with a platform identity, and check one against the
platform's trust roots with pyHanko's validator.

Signatures are PAdES baseline B-B (ETSI.CAdES.detached, SHA-256, the signing certificate and
its chain embedded). Both calls are CPU-bound and blocking: from async code, run them in a
worker thread (`asyncio.to_thread`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import io
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from marfiq_shared.documents.pki import SigningIdentity

log = logging.getLogger(__name__)

SIGNATURE_FIELD = "MarfiqSignature"
T = TypeVar("T")
_pool = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="pdf-signing")
# What a document signature key must allow (set on every certificate the PKI issues).
KEY_USAGE = KeyUsageConstraints(key_usage={"non_repudiation"}, match_all_key_usages=False)


def _off_the_loop(work: Callable[[], T]) -> T:
    """Run `work` here, or in a worker thread when this thread runs an event loop: pyHanko
    drives its own loop (`asyncio.run`), which cannot nest in a running one."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return work()
    return _pool.submit(work).result()


def sign_pdf(
    pdf: bytes,
    identity: SigningIdentity,
    *,
    reason: str,
    location: str = "Rabat, Maroc",
    contact: str | None = None,
) -> bytes:
    """`pdf` with a PAdES signature of `identity` over the whole file."""
    signer = signers.SimpleSigner(
        signing_cert=identity.asn1_certificate(),
        signing_key=identity.asn1_key(),
        cert_registry=SimpleCertificateStore.from_certs(identity.asn1_chain()),
    )
    metadata = signers.PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
        location=location,
        contact_info=contact,
        name=identity.certificate.subject.rfc4514_string(),
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    output = io.BytesIO()
    _off_the_loop(lambda: signers.sign_pdf(writer, metadata, signer=signer, output=output))
    return output.getvalue()


@dataclass(frozen=True, slots=True)
class SignatureCheck:
    """What the validator found. `valid` is the verdict; the rest says why."""

    valid: bool
    signed: bool  # a signature was found at all
    intact: bool  # the signed bytes are unchanged
    trusted: bool  # the signer's certificate chains to a trust root
    covers_whole_file: bool  # nothing was appended after the signature
    signer: str | None  # subject of the signing certificate
    signed_at: datetime | None  # as the signer's clock reported it
    sha256: str  # of the bytes checked
    problem: str | None = None  # for a person: why it is not valid

    def as_dict(self) -> dict[str, object]:
        return {
            "valid": self.valid,
            "signed": self.signed,
            "intact": self.intact,
            "trusted": self.trusted,
            "covers_whole_file": self.covers_whole_file,
            "signer": self.signer,
            "signed_at": self.signed_at,
            "sha256": self.sha256,
            "problem": self.problem,
        }


def verify_pdf(pdf: bytes, trust_roots: Sequence[asn1_x509.Certificate]) -> SignatureCheck:
    """Check the last signature of `pdf` against `trust_roots` (no network: revocation is
    the document registry's business, not the certificates')."""
    digest = hashlib.sha256(pdf).hexdigest()

    def refused(problem: str, **found: object) -> SignatureCheck:
        values: dict[str, object] = {
            "valid": False,
            "signed": False,
            "intact": False,
            "trusted": False,
            "covers_whole_file": False,
            "signer": None,
            "signed_at": None,
            "sha256": digest,
            "problem": problem,
        }
        values.update(found)
        return SignatureCheck(**values)  # type: ignore[arg-type]

    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        embedded = reader.embedded_signatures
    except (PdfError, ValueError, KeyError, TypeError, IndexError) as error:
        return refused(f"not a readable PDF: {error}")
    if not embedded:
        return refused("the document carries no signature")
    signature = embedded[-1]
    context = ValidationContext(trust_roots=list(trust_roots), allow_fetching=False)
    try:
        status = _off_the_loop(
            lambda: validate_pdf_signature(
                signature, signer_validation_context=context, key_usage_settings=KEY_USAGE
            )
        )
    except Exception as error:  # pyHanko raises many kinds on a damaged signature
        log.info("signature validation failed: %r", error)
        return refused(f"the signature cannot be validated: {error}", signed=True)
    whole = status.coverage is not None and status.coverage.name == "ENTIRE_FILE"
    signer = status.signing_cert.subject.human_friendly if status.signing_cert else None
    problem = None
    if not status.intact:
        problem = "the document was changed after it was signed"
    elif not status.trusted:
        problem = "the signer is not certified by the platform"
    elif not whole:
        problem = "content was added after the signature"
    elif not status.bottom_line:
        problem = "the signature does not meet the platform's requirements"
    return SignatureCheck(
        valid=bool(status.bottom_line and whole),
        signed=True,
        intact=bool(status.intact),
        trusted=bool(status.trusted),
        covers_whole_file=whole,
        signer=signer,
        signed_at=status.signer_reported_dt,
        sha256=digest,
        problem=problem,
    )
