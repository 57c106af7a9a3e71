"""Documents: bilingual layout, PAdES signatures of the platform's authority, validation."""

from __future__ import annotations

import io
import stat
import threading
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader

from marfiq_shared.documents import (
    DocumentSpec,
    FileLine,
    Line,
    PlatformPki,
    find_fonts,
    new_code,
    normalise_code,
    render_pdf,
    sign_pdf,
    verify_pdf,
)
from marfiq_shared.documents.pki import CA_KEY

CODE = "7K3M-Q9XT-2BDR"


def spec(**overrides: object) -> DocumentSpec:
    values: dict[str, object] = {
        "issuer_fr": "Ministère de l'Économie et des Finances",
        "issuer_ar": "وزارة الاقتصاد والمالية",
        "title_fr": "Accusé de réception",
        "title_ar": "وصل إيداع",
        "verification_code": CODE,
        "verification_url": f"https://marfiq.test/v1/documents/{CODE}",
        "lines": [
            Line("Numéro", "الرقم", "MEF-2026-000123"),
            Line("Objet", "الموضوع", "Demande d'attestation — طلب شهادة"),
        ],
        "text": "Madame, Monsieur,\nVotre demande est enregistrée.\nتم تسجيل طلبكم.",
        "files": [FileLine("scan.pdf", "ab" * 32, 2048)],
    }
    return DocumentSpec(**(values | overrides))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PlatformPki:
    return PlatformPki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def signed(pki: PlatformPki) -> bytes:
    identity = pki.identity("platform", common_name="Marfiq - Bureau d'ordre numérique")
    return sign_pdf(render_pdf(spec()).pdf, identity, reason="Accusé de réception")


def test_a_document_is_a_pdf_in_french_and_arabic_when_a_font_allows() -> None:
    rendered = render_pdf(spec())

    assert rendered.pdf.startswith(b"%PDF-")
    assert rendered.arabic is (find_fonts() is not None)
    info = PdfFileReader(io.BytesIO(rendered.pdf)).trailer["/Info"]
    assert info["/Title"] == "Accusé de réception"
    assert CODE in info["/Subject"]


def test_without_a_unicode_font_the_document_is_in_french_alone() -> None:
    rendered = render_pdf(spec(title_fr="Réponse – l’administration"), fonts=False)

    assert rendered.pdf.startswith(b"%PDF-")
    assert rendered.arabic is False


def test_a_signed_document_verifies_against_the_platform_roots(
    pki: PlatformPki, signed: bytes
) -> None:
    check = verify_pdf(signed, pki.trust_roots())

    assert check.valid, check.problem
    assert (check.signed, check.intact, check.trusted, check.covers_whole_file) == (
        True,
        True,
        True,
        True,
    )
    assert check.signer is not None
    assert "Bureau d'ordre" in check.signer
    assert check.signed_at is not None


def test_a_changed_byte_breaks_the_signature(pki: PlatformPki, signed: bytes) -> None:
    tampered = bytearray(signed)
    position = signed.index(b"stream", 200) + 40
    tampered[position] ^= 0x01

    check = verify_pdf(bytes(tampered), pki.trust_roots())

    assert not check.valid
    assert not check.intact
    assert check.sha256 != verify_pdf(signed, pki.trust_roots()).sha256


def test_content_appended_after_the_signature_is_reported(pki: PlatformPki, signed: bytes) -> None:
    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    writer.root["/Lang"] = generic.TextStringObject("ar")  # any change will do
    writer.update_root()
    appended = io.BytesIO()
    writer.write(appended)

    check = verify_pdf(appended.getvalue(), pki.trust_roots())

    assert not check.valid
    assert check.intact
    assert not check.covers_whole_file


def test_another_authority_is_not_trusted(tmp_path: Path, signed: bytes) -> None:
    stranger = PlatformPki(tmp_path / "elsewhere")

    check = verify_pdf(signed, stranger.trust_roots())

    assert not check.valid
    assert check.intact
    assert not check.trusted


def test_an_unsigned_or_unreadable_file_is_not_valid(pki: PlatformPki) -> None:
    unsigned = verify_pdf(render_pdf(spec()).pdf, pki.trust_roots())
    garbage = verify_pdf(b"not a pdf at all", pki.trust_roots())

    assert not unsigned.valid
    assert not unsigned.signed
    assert not garbage.valid
    assert garbage.problem


def test_an_administration_signs_with_its_own_certificate_from_the_same_authority(
    pki: PlatformPki,
) -> None:
    identity = pki.identity("MEF", common_name="Ministère des Finances", organisational_unit="MEF")

    check = verify_pdf(sign_pdf(render_pdf(spec()).pdf, identity, reason="Réponse"),
                       pki.trust_roots())  # fmt: skip

    assert check.valid
    assert check.signer is not None
    assert "Ministère des Finances" in check.signer
    assert identity.certificate.issuer == pki.root_certificate.subject


def test_the_authority_is_created_once_and_found_again(tmp_path: Path) -> None:
    folders = [PlatformPki(tmp_path) for _ in range(8)]
    roots: list[bytes] = []

    def create(pki: PlatformPki) -> None:
        roots.append(pki.root_certificate.fingerprint(hashes.SHA256()))

    threads = [threading.Thread(target=create, args=(pki,)) for pki in folders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(set(roots)) == 1
    assert stat.S_IMODE((tmp_path / CA_KEY).stat().st_mode) == 0o600
    first = PlatformPki(tmp_path).identity("platform", common_name="Marfiq")
    again = PlatformPki(tmp_path).identity("platform", common_name="Marfiq")
    assert first.certificate == again.certificate


def test_verification_codes_are_random_and_forgive_typing() -> None:
    codes = {new_code() for _ in range(1000)}

    assert len(codes) == 1000
    code = next(iter(codes))
    assert normalise_code(code.lower().replace("-", " ")) == code
    assert normalise_code("7k3m q9xt 2bdr") == CODE
    assert normalise_code("7K3M-Q9XT-2BDO") == "7K3M-Q9XT-2BD0"
    assert normalise_code("short") is None
