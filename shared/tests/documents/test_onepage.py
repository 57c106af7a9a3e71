"""The one-page writer: the same document, signed as it is written, in milliseconds; what
does not fit on a page goes the general way."""

from __future__ import annotations

import io
import re

import pytest
import segno
from pyhanko.pdf_utils.reader import PdfFileReader

from marfiq_shared.documents import (
    DocumentSpec,
    DoesNotFit,
    FileLine,
    Line,
    PlatformPki,
    SigningIdentity,
    find_fonts,
    issue_pdf,
    render_signed,
    verify_pdf,
)
from marfiq_shared.testing import missing_dependency

CODE = "7K3M-Q9XT-2BDR"
URL = f"https://marfiq.test/v1/documents/{CODE}"
DIGEST = "9f" * 32


def receipt(**overrides: object) -> DocumentSpec:
    values: dict[str, object] = {
        "issuer_fr": "Ministère de l'Économie et des Finances",
        "issuer_ar": "وزارة الاقتصاد والمالية",
        "title_fr": "Accusé de réception",
        "title_ar": "وصل الإيداع",
        "verification_code": CODE,
        "verification_url": URL,
        "lines": [
            Line("N° d'enregistrement", "رقم التسجيل", "MEF-2026-000123"),
            Line("Date de dépôt", "تاريخ الإيداع", "02/12/2026 10:15"),
            Line("Expéditeur", "المرسل", "Amina El Idrissi (CIN AB123456)"),
            Line("Destinataire", "المرسل إليه", "Ministère de l'Économie et des Finances"),
            Line("Objet", "الموضوع", "Demande d'attestation — طلب شهادة"),
        ],
        "files": [FileLine("demande.pdf", DIGEST, 1_048_576)],
        "keywords": ("receipt", "MEF-2026-000123"),
    }
    return DocumentSpec(**(values | overrides))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PlatformPki:
    return PlatformPki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def identity(pki: PlatformPki) -> SigningIdentity:
    return pki.identity("platform", common_name="Marfiq - Bureau d'ordre numérique")


@pytest.fixture(scope="module")
def fonts() -> object:
    found = find_fonts()
    if found is None:
        missing_dependency("no Unicode font with Arabic glyphs on this machine (DejaVu or Noto)")
    return found


def shown_text(pdf: bytes) -> str:
    """The text a reader extracts from the page (through each font's ToUnicode map)."""
    reader = PdfFileReader(io.BytesIO(pdf))
    page = reader.root["/Pages"]["/Kids"][0]
    fonts = page["/Resources"]["/Font"]
    maps: dict[str, dict[str, str]] = {}
    for name in fonts:
        font = fonts[name]
        if "/ToUnicode" in font:
            cmap = font["/ToUnicode"].data.decode("ascii")
            pairs = re.findall(r"<([0-9A-F]{4})> <([0-9A-F]+)>", cmap)
            maps[name[1:]] = {gid: bytes.fromhex(text).decode("utf-16-be") for gid, text in pairs}
    content = page["/Contents"].data.decode("latin-1")
    shown: list[str] = []
    for font, body in re.findall(r"/(F\d) [\d.]+ Tf [^\[(]*(\[.*?\] TJ|\(.*?\) Tj)", content):
        if font in maps:
            hexes = "".join(re.findall(r"<([0-9A-F]+)>", body))
            shown.append(
                "".join(maps[font].get(hexes[i : i + 4], "?") for i in range(0, len(hexes), 4))
            )
        else:
            shown.append(body[1 : body.rindex(")")])
    return "\n".join(shown)


def test_a_receipt_on_one_page_is_signed_pades_and_verifies(
    pki: PlatformPki, identity: SigningIdentity, fonts: object
) -> None:
    pdf = render_signed(receipt(), fonts, identity, reason="Accusé de réception")  # type: ignore[arg-type]

    check = verify_pdf(pdf, pki.trust_roots())
    assert check.valid, check.problem
    assert check.covers_whole_file
    assert check.signer is not None
    assert "Bureau d'ordre" in check.signer
    signature = PdfFileReader(io.BytesIO(pdf)).embedded_signatures[0]
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    info = PdfFileReader(io.BytesIO(pdf)).trailer["/Info"]
    assert CODE in info["/Subject"]


def test_the_receipt_shows_every_field_the_hashes_and_the_verification_address(
    identity: SigningIdentity, fonts: object
) -> None:
    pdf = render_signed(receipt(), fonts, identity, reason="Accusé de réception")  # type: ignore[arg-type]

    text = shown_text(pdf)
    for expected in (
        "MEF-2026-000123",
        "02/12/2026 10:15",
        "Amina El Idrissi (CIN AB123456)",
        "Ministère de l'Économie et des Finances",
        "Demande d'attestation",
        f"SHA-256 {DIGEST}",
        "demande.pdf (1.0 Mo)",
        f"Code de vérification : {CODE}",
        URL,
    ):
        assert expected in text, expected
    # The QR code is there: a pattern of filled squares in the footer.
    content = PdfFileReader(io.BytesIO(pdf)).root["/Pages"]["/Kids"][0]["/Contents"].data
    assert content.count(b" re") > 100


def drawn_qr(pdf: bytes) -> tuple[list[list[int]], tuple[float, float, float]]:
    """The QR code's modules as the page draws them (one `re` per run of dark modules in
    the code's own coordinates), and the module size and top left corner in points."""
    content = PdfFileReader(io.BytesIO(pdf)).root["/Pages"]["/Kids"][0]["/Contents"].data
    found = re.search(rb"q 0 g ([\d.]+) 0 0 -([\d.]+) ([\d.]+) ([\d.]+) cm (.*?)f Q", content)
    assert found is not None
    step, flipped, left, top = (float(value) for value in found.groups()[:4])
    assert step == flipped
    runs = [tuple(map(int, run)) for run in re.findall(rb"(\d+) (\d+) (\d+) 1 re", found[5])]
    size = max(row for _, row, _ in runs) + 1
    modules = [[0] * size for _ in range(size)]
    for column, row, length in runs:
        for c in range(column, column + length):
            assert modules[row][c] == 0, "runs overlap"
            modules[row][c] = 1
    return modules, (step, left, top)


@pytest.mark.parametrize(
    "url",
    [URL, "http://127.0.0.1:8000/v1/documents/7K3M-Q9XT-2BDR", "HTTPS://MARFIQ.TEST/V/7K3M"],
    ids=["https", "default public address", "alphanumeric (segno draws it)"],
)
def test_the_qr_code_on_the_receipt_is_the_code_of_its_address_where_it_was(
    identity: SigningIdentity, fonts: object, url: str
) -> None:
    pdf = render_signed(receipt(verification_url=url), fonts, identity, reason="Accusé")  # type: ignore[arg-type]

    modules, (step, left, top) = drawn_qr(pdf)

    expected = segno.make(url, error="m", micro=False, mask=4).matrix
    assert modules == [list(row) for row in expected]
    # 28 mm wide with its quiet zone of 2 modules, 18 mm from the left and 12 mm above the
    # bottom edge of an A4 page, as before.
    mm = 72 / 25.4
    assert step * (len(expected) + 4) == pytest.approx(28 * mm, abs=0.01)
    assert left - 2 * step == pytest.approx(18 * mm, abs=0.01)
    assert top + 2 * step == pytest.approx((12 + 28) * mm, abs=0.01)


def test_a_changed_byte_in_the_embedded_fonts_breaks_the_signature(
    pki: PlatformPki, identity: SigningIdentity, fonts: object
) -> None:
    # The fonts come first and their hash is computed once: it must still be signed over.
    pdf = bytearray(render_signed(receipt(), fonts, identity, reason="Accusé"))  # type: ignore[arg-type]
    at = pdf.index(b"/FontFile2")
    at = pdf.index(b"stream\n", at) + 500
    pdf[at] ^= 0x01

    check = verify_pdf(bytes(pdf), pki.trust_roots())

    assert not check.valid


def test_a_changed_byte_of_a_fast_receipt_breaks_its_signature(
    pki: PlatformPki, identity: SigningIdentity, fonts: object
) -> None:
    pdf = bytearray(render_signed(receipt(), fonts, identity, reason="Accusé"))  # type: ignore[arg-type]
    at = pdf.index(b"MEF-2026") if b"MEF-2026" in pdf else pdf.index(b"/Title") + 10
    pdf[at] ^= 0x01

    check = verify_pdf(bytes(pdf), pki.trust_roots())

    assert not check.valid


def test_a_document_longer_than_a_page_goes_the_general_way(
    pki: PlatformPki, identity: SigningIdentity, fonts: object
) -> None:
    many = receipt(files=[FileLine(f"piece-{n}.pdf", DIGEST, 2048) for n in range(40)])
    with pytest.raises(DoesNotFit):
        render_signed(many, fonts, identity, reason="Accusé")  # type: ignore[arg-type]

    pdf = issue_pdf(many, identity, reason="Accusé")

    assert verify_pdf(pdf, pki.trust_roots()).valid
    assert PdfFileReader(io.BytesIO(pdf)).root["/Pages"]["/Count"] >= 2
