"""The platform's signing keys: a self-managed certificate authority and the certificates it
issues (the platform itself for receipts, each administration for its answers, the pension
fund for its certificates).

Everything lives in one folder (`PlatformPki(directory)`): `ca.crt.pem` and `ca.key.pem`,
then `signers/<name>.crt.pem` and `signers/<name>.key.pem`. The authority is created on
first use; an operator who holds one already (issued by a national authority, or kept
offline) puts its certificate and key there before the first start and the platform issues
from it. Processes sharing the folder (correspondence and pensions on one host, or a shared
secret volume) agree on one authority: creation is serialised with a file lock and every
file appears whole (written aside, then renamed).

Keys are ECDSA P-256: small signatures, fast to make, accepted by every PDF reader.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_CERT = "ca.crt.pem"
CA_KEY = "ca.key.pem"
SIGNERS = "signers"
LOCK = ".lock"

CA_VALIDITY = dt.timedelta(days=20 * 365)
SIGNER_VALIDITY = dt.timedelta(days=3 * 365)
# A signing certificate this close to its end is replaced by a fresh one.
RENEW_BEFORE = dt.timedelta(days=30)
COUNTRY = "MA"
ORGANISATION = "Royaume du Maroc"

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


class PkiError(RuntimeError):
    """The folder holds something unusable (a key that does not match its certificate …)."""


@dataclass(frozen=True, slots=True)
class SigningIdentity:
    """A key and its certificate chain, as pyHanko signs with them."""

    name: str
    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    chain: tuple[x509.Certificate, ...]  # issuers, up to and including the root

    @property
    def subject(self) -> str:
        return self.certificate.subject.rfc4514_string()

    def asn1_certificate(self) -> asn1_x509.Certificate:
        return asn1_x509.Certificate.load(self.certificate.public_bytes(serialization.Encoding.DER))

    def asn1_chain(self) -> list[asn1_x509.Certificate]:
        return [
            asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
            for cert in self.chain
        ]

    def asn1_key(self) -> asn1_keys.PrivateKeyInfo:
        der = self.key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return asn1_keys.PrivateKeyInfo.load(der)


def signer_name(raw: str) -> str:
    """A file-safe signer name from an administration code or a label (`MEF` -> `mef`)."""
    name = re.sub(r"[^a-z0-9._-]+", "-", raw.strip().lower()).strip("-.")
    if not _NAME.match(name):
        raise ValueError(f"{raw!r} cannot name a signer")
    return name


class PlatformPki:
    """The authority in `directory` and the signing identities it issued."""

    def __init__(self, directory: Path | str, *, extra_trust_roots: Sequence[Path] = ()) -> None:
        self.directory = Path(directory)
        self._extra_roots = tuple(extra_trust_roots)
        self._ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None = None
        self._identities: dict[str, SigningIdentity] = {}
        self._mutex = threading.Lock()

    # --- the authority -----------------------------------------------------------------

    def authority(self) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        """The CA certificate and key, created (once, whoever asks first) when absent."""
        if self._ca is None:
            with self._mutex, self._locked():
                if self._ca is None:
                    self._ca = self._load_or_create_ca()
        return self._ca

    @property
    def root_certificate(self) -> x509.Certificate:
        return self.authority()[0]

    def trust_roots(self) -> list[asn1_x509.Certificate]:
        """What a signature must chain to: this platform's root, and any configured extra."""
        roots = [self.root_certificate]
        for path in self._extra_roots:
            roots.extend(x509.load_pem_x509_certificates(path.read_bytes()))
        return [
            asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
            for cert in roots
        ]

    def _load_or_create_ca(self) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        cert_path, key_path = self.directory / CA_CERT, self.directory / CA_KEY
        if cert_path.exists() and key_path.exists():
            cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
            key = _load_key(key_path)
            if not _matches(cert, key):
                raise PkiError(f"{key_path} does not match {cert_path}")
            return cert, key
        if cert_path.exists() or key_path.exists():
            raise PkiError(f"{self.directory}: a CA certificate without its key, or the reverse")
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, COUNTRY),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
                x509.NameAttribute(NameOID.COMMON_NAME, "Marfiq Platform Root CA"),
            ]
        )
        now = _now()
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + CA_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256())
        )
        # The key first: a certificate on disk always has its key beside it.
        _write_atomically(key_path, _key_pem(key), private=True)
        _write_atomically(cert_path, cert.public_bytes(serialization.Encoding.PEM))
        return cert, key

    # --- signing identities ------------------------------------------------------------

    def identity(
        self, name: str, *, common_name: str, organisational_unit: str | None = None
    ) -> SigningIdentity:
        """The signing key and certificate called `name`, issued by the authority on first
        use and renewed when it nears its end. Blocking: call it from a worker thread."""
        name = signer_name(name)
        known = self._identities.get(name)
        if known is not None and _fresh(known.certificate):
            return known
        ca_cert, ca_key = self.authority()
        with self._mutex, self._locked():
            identity = self._load_signer(name, ca_cert)
            if identity is None or not _fresh(identity.certificate):
                identity = self._issue(
                    name, common_name, organisational_unit, ca_cert=ca_cert, ca_key=ca_key
                )
            self._identities[name] = identity
            return identity

    def _load_signer(self, name: str, ca_cert: x509.Certificate) -> SigningIdentity | None:
        cert_path, key_path = self._signer_paths(name)
        if not (cert_path.exists() and key_path.exists()):
            return None
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = _load_key(key_path)
        if not _matches(cert, key):
            raise PkiError(f"{key_path} does not match {cert_path}")
        if cert.issuer != ca_cert.subject:
            return None  # issued by an authority since replaced: issue again
        return SigningIdentity(name, cert, key, (ca_cert,))

    def _issue(
        self,
        name: str,
        common_name: str,
        organisational_unit: str | None,
        *,
        ca_cert: x509.Certificate,
        ca_key: ec.EllipticCurvePrivateKey,
    ) -> SigningIdentity:
        key = ec.generate_private_key(ec.SECP256R1())
        attributes = [
            x509.NameAttribute(NameOID.COUNTRY_NAME, COUNTRY),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
        ]
        if organisational_unit:
            attributes.append(
                x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, organisational_unit[:64])
            )
        attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64]))
        now = _now()
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name(attributes))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(min(now + SIGNER_VALIDITY, ca_cert.not_valid_after_utc))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=True,  # non-repudiation: the issuer stands by it
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
            )
            .sign(ca_key, hashes.SHA256())
        )
        cert_path, key_path = self._signer_paths(name)
        _write_atomically(key_path, _key_pem(key), private=True)
        _write_atomically(cert_path, cert.public_bytes(serialization.Encoding.PEM))
        return SigningIdentity(name, cert, key, (ca_cert,))

    def _signer_paths(self, name: str) -> tuple[Path, Path]:
        folder = self.directory / SIGNERS
        return folder / f"{name}.crt.pem", folder / f"{name}.key.pem"

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """An exclusive lock across the processes sharing the folder."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        with (self.directory / LOCK).open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _fresh(cert: x509.Certificate) -> bool:
    return cert.not_valid_after_utc - _now() > RENEW_BEFORE


def _matches(cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> bool:
    """Whether `key` is the private half of the certificate's public key."""
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    return cert.public_key().public_bytes(der, spki) == key.public_key().public_bytes(der, spki)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _load_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise PkiError(f"{path}: only EC keys are supported")
    return key


def _write_atomically(path: Path, data: bytes, *, private: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    scratch = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    descriptor = os.open(scratch, flags, 0o600 if private else 0o644)
    try:
        os.write(descriptor, data)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    os.replace(scratch, path)
