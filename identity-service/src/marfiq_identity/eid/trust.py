"""The CSCA trust list the operator configures, and the Document Signers proven against it."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes

from marfiq_identity.eid.errors import EidMalformed, EidUntrustedSigner

CERTIFICATE_SUFFIXES = (".pem", ".crt", ".cer", ".der")
# A country runs a handful of Document Signers at a time; this bounds memory whatever comes.
MAX_CACHED_SIGNERS = 4096

_Value = TypeVar("_Value", bound=x509.ExtensionType)


@dataclass(frozen=True, slots=True)
class TrustedSigner:
    """A Document Signer certificate already proven against a CSCA of the list."""

    public_key: CertificatePublicKeyTypes
    # The instants between which both the DS and its CSCA are valid.
    valid_from: datetime
    valid_until: datetime


def load_certificates(data: bytes, *, source: str = "trust list") -> list[x509.Certificate]:
    """Every certificate in a PEM bundle, or the one certificate of a DER file."""
    try:
        if b"-----BEGIN CERTIFICATE-----" in data:
            return x509.load_pem_x509_certificates(data)
        return [x509.load_der_x509_certificate(data)]
    except ValueError as exc:
        raise ValueError(f"{source}: not a PEM or DER certificate ({exc})") from exc


class TrustList:
    """The CSCA certificates of the countries whose eIDs the platform accepts.

    Built once at start-up (see `from_folder`, `from_pem`) and shared by every request. It
    also remembers each Document Signer it has proven, by fingerprint, so that the costly
    chain check runs once per DS rather than once per sign-in.
    """

    def __init__(self, certificates: Iterable[x509.Certificate]) -> None:
        self.certificates: tuple[x509.Certificate, ...] = tuple(certificates)
        self._by_subject: dict[bytes, list[x509.Certificate]] = {}
        for certificate in self.certificates:
            _require_ca(certificate)
            self._by_subject.setdefault(certificate.subject.public_bytes(), []).append(certificate)
        self._signers: dict[bytes, TrustedSigner] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_pem(cls, text: str | bytes) -> TrustList:
        """A trust list from PEM text (a setting holding one or several certificates)."""
        data = text.encode() if isinstance(text, str) else text
        return cls(load_certificates(data, source="CSCA setting"))

    @classmethod
    def from_folder(cls, folder: Path | str) -> TrustList:
        """A trust list from every .pem/.crt/.cer/.der file of `folder` (PEM or DER each)."""
        certificates: list[x509.Certificate] = []
        for path in sorted(Path(folder).iterdir()):
            if path.is_file() and path.suffix.lower() in CERTIFICATE_SUFFIXES:
                certificates += load_certificates(path.read_bytes(), source=str(path))
        return cls(certificates)

    @classmethod
    def load(cls, *, folder: Path | str | None = None, pem: str | None = None) -> TrustList:
        """The union of a folder and a PEM setting, either of which may be absent."""
        certificates: list[x509.Certificate] = []
        if folder:
            certificates += cls.from_folder(folder).certificates
        if pem:
            certificates += cls.from_pem(pem).certificates
        return cls(certificates)

    def __len__(self) -> int:
        return len(self.certificates)

    def signer(self, der: bytes, *, now: datetime) -> TrustedSigner:
        """The public key of the Document Signer certificate `der`, once proven valid at `now`."""
        fingerprint = hashlib.sha256(der).digest()
        known = self._signers.get(fingerprint)
        if known is None:
            known = self._prove(der, now=now)
            with self._lock:
                if len(self._signers) >= MAX_CACHED_SIGNERS:
                    self._signers.clear()
                self._signers[fingerprint] = known
        if not known.valid_from <= now <= known.valid_until:
            raise EidUntrustedSigner("the Document Signer or its CSCA is not valid now")
        return known

    def _prove(self, der: bytes, *, now: datetime) -> TrustedSigner:
        try:
            certificate = x509.load_der_x509_certificate(der)
            public_key = certificate.public_key()
        except (ValueError, UnsupportedAlgorithm, x509.InvalidVersion) as exc:
            raise EidMalformed("the Document Signer certificate cannot be read") from exc
        _require_signer_usage(certificate)
        if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
            raise EidUntrustedSigner("the Document Signer certificate is not valid now")
        for csca in self._issuers_of(certificate):
            if not csca.not_valid_before_utc <= now <= csca.not_valid_after_utc:
                continue
            try:
                certificate.verify_directly_issued_by(csca)
            except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
                continue
            return TrustedSigner(
                public_key=public_key,
                valid_from=max(certificate.not_valid_before_utc, csca.not_valid_before_utc),
                valid_until=min(certificate.not_valid_after_utc, csca.not_valid_after_utc),
            )
        raise EidUntrustedSigner("no valid CSCA of the trust list signed the Document Signer")

    def _issuers_of(self, certificate: x509.Certificate) -> list[x509.Certificate]:
        candidates = self._by_subject.get(certificate.issuer.public_bytes(), [])
        # A CSCA renews its key under the same name: the key identifiers pick the right one.
        wanted = _authority_key_id(certificate)
        if wanted is None or len(candidates) < 2:
            return candidates
        return sorted(candidates, key=lambda csca: _subject_key_id(csca) != wanted)


def _extension(certificate: x509.Certificate, kind: type[_Value]) -> _Value | None:
    """The value of one extension, or None when the certificate lacks it."""
    try:
        return certificate.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None
    except (ValueError, x509.DuplicateExtension) as exc:
        raise EidMalformed("a certificate has undecodable or duplicated extensions") from exc


def _require_ca(certificate: x509.Certificate) -> None:
    try:
        constraints = _extension(certificate, x509.BasicConstraints)
    except EidMalformed as exc:
        raise ValueError(f"CSCA {certificate.subject.rfc4514_string()}: {exc}") from exc
    if constraints is None or not constraints.ca:
        raise ValueError(f"CSCA {certificate.subject.rfc4514_string()} is not a CA certificate")


def _require_signer_usage(certificate: x509.Certificate) -> None:
    usage = _extension(certificate, x509.KeyUsage)
    if usage is None or not usage.digital_signature:
        raise EidUntrustedSigner("the Document Signer certificate may not sign documents")
    constraints = _extension(certificate, x509.BasicConstraints)
    if constraints is not None and constraints.ca:
        raise EidUntrustedSigner("the Document Signer certificate is a CA certificate")


def _authority_key_id(certificate: x509.Certificate) -> bytes | None:
    extension = _extension(certificate, x509.AuthorityKeyIdentifier)
    return extension.key_identifier if extension else None


def _subject_key_id(certificate: x509.Certificate) -> bytes | None:
    extension = _extension(certificate, x509.SubjectKeyIdentifier)
    return extension.digest if extension else None
