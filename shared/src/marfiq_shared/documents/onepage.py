"""A fast writer for documents that fit on one page, signed as they are written.

`layout.render_pdf` (fpdf2) then `signing.sign_pdf` (pyHanko) take about 180 ms of CPU per
document: fpdf2 cuts the fonts down again for every file, segno tries eight QR masks, and
pyHanko parses the PDF it is handed and rebuilds the same signature structure every time.
Receipts are issued with every letter filed, so this module draws the same layout
directly: fonts embedded whole from objects made once (`fonts.py`), fixed texts shaped
once, and the signature dictionary written in place, its byte range hashed and filled with
a CMS signature from the identity's template (`cms.py`), in a few milliseconds.

What it cannot place on one page (long texts, many files) raises `DoesNotFit`; the caller
then uses the general path (`signing.issue_pdf` does both).
"""

from __future__ import annotations

import functools
import hashlib
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from marfiq_shared.documents.cms import CmsTemplate, template_for
from marfiq_shared.documents.fonts import MM, EmbeddedFont, contains_arabic, embedded_font
from marfiq_shared.documents.layout import (
    QR_QUIET,
    DocumentSpec,
    Fonts,
    _mostly_arabic,
    _size,
    find_fonts,
    qr_runs,
    render_pdf,
)
from marfiq_shared.documents.pki import SigningIdentity
from marfiq_shared.documents.qr import qr_path
from marfiq_shared.documents.signing import SIGNATURE_FIELD, sign_pdf

PAGE_W, PAGE_H = 210.0, 297.0  # A4, millimetres
LEFT, TOP, RIGHT = 18.0, 16.0, 18.0
LOWEST = PAGE_H - 45.0  # the body stops here (the footer's room), as in layout.py
PAD = 1.0  # space inside a cell, left and right
GREEN = "0 0.384 0.2"
QR_SIZE = 28.0
# A fixed mask: any of the eight is a valid QR code; trying them all costs 5 ms a document.
QR_MASK = 4
CONTENTS_BYTES = 8192  # room for the CMS signature (about 1.5 KB with two certificates)
HEADER = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"

# Object numbers: fixed, since every document has the same objects.
CATALOG, PAGES, PAGE, CONTENT, INFO, SIGNATURE, FIELD, MONO = range(1, 9)
REGULAR, BOLD = 9, 14  # five objects each (fonts.py)
OBJECTS = 18


class DoesNotFit(Exception):
    """The document needs more than one page."""


class _Page:
    """The content stream being drawn, with fpdf2's notion of cells and lines."""

    def __init__(self, regular: EmbeddedFont, bold: EmbeddedFont) -> None:
        self.fonts = {"R": regular, "B": bold}
        self.ops: list[str] = []
        self.style, self.size = "R", 10.0

    def font(self, style: str, size: float) -> None:
        self.style, self.size = style, size

    @property
    def current(self) -> EmbeddedFont:
        return self.fonts[self.style]

    def text(self, x: float, top: float, w: float, h: float, text: str, align: str) -> None:
        """One line of text in the cell (x, top, w, h), aligned L, R or C."""
        if not text:
            return
        font = self.current
        advance, shown = font.shown(text)
        width = advance * self.size / font.upem / MM
        if align == "R":
            left = x + w - PAD - width
        elif align == "C":
            left = x + (w - width) / 2
        else:
            left = x + PAD
        baseline = top + h / 2 + 0.3 * self.size / MM
        name = "F1" if self.style == "R" else "F2"
        self.ops.append(
            f"BT /{name} {self.size:.2f} Tf 1 0 0 1 {left * MM:.2f} {(PAGE_H - baseline) * MM:.2f}"
            f" Tm [{shown}] TJ ET"
        )

    def mono(self, x: float, top: float, h: float, text: str, size: float) -> None:
        """ASCII in Courier (a standard font: nothing to embed)."""
        escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        baseline = top + h / 2 + 0.3 * size / MM
        self.ops.append(
            f"BT /F3 {size:.2f} Tf 1 0 0 1 {(x + PAD) * MM:.2f} {(PAGE_H - baseline) * MM:.2f}"
            f" Tm ({escaped}) Tj ET"
        )

    def lines_of(self, text: str, width: float) -> tuple[str, ...]:
        """`text` broken into lines no wider than `width` (at spaces; long words cut)."""
        return _lines(self.current, self.size, text, width)

    def multi(self, x: float, top: float, w: float, h: float, text: str, align: str) -> float:
        """Wrapped text in a column; returns the y below it."""
        for line in self.lines_of(text, w):
            self.text(x, top, w, h, line, align)
            top += h
        return top

    def rule(self, y: float) -> None:
        self.ops.append(
            f"q {GREEN} RG {0.6 * MM:.2f} w {LEFT * MM:.2f} {(PAGE_H - y) * MM:.2f} m "
            f"{(PAGE_W - RIGHT) * MM:.2f} {(PAGE_H - y) * MM:.2f} l S Q"
        )

    def qr(self, data: str, x: float, y: float, size: float) -> None:
        drawn = qr_path(data, mask=QR_MASK)
        if drawn is None:  # numeric, alphanumeric or kanji data: segno encodes it
            modules, runs = qr_runs(data, mask=QR_MASK)
            drawn = modules, "".join(f"{start} {r} {length} 1 re " for r, start, length in runs)
        modules, path = drawn
        step = size / (modules + 2 * QR_QUIET) * MM
        left, top = x * MM + QR_QUIET * step, (PAGE_H - y) * MM - QR_QUIET * step
        # A module is one unit (rows downwards) in the code's own coordinates: each run is
        # four small integers instead of four scaled decimals (a third of the bytes to
        # format and to compress), the same squares on the page.
        self.ops.append(f"q 0 g {step:.5f} 0 0 {-step:.5f} {left:.3f} {top:.3f} cm {path}f Q")


# Most texts are the same in every document (labels, headings, values that repeat):
# where they break is worked out once per font, size and width.
@functools.lru_cache(maxsize=4096)
def _lines(font: EmbeddedFont, size: float, text: str, width: float) -> tuple[str, ...]:
    room = width - 2 * PAD

    def fits(piece: str) -> bool:
        return font.width_mm(piece, size) <= room

    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}" if line else word
            if fits(candidate):
                line = candidate
                continue
            if line:
                lines.append(line)
            while not fits(word):
                cut = max(1, int(len(word) * room / font.width_mm(word, size)))
                while cut > 1 and not fits(word[:cut]):
                    cut -= 1
                lines.append(word[:cut])
                word = word[cut:]
            line = word
        lines.append(line)
    return tuple(lines)


def _right_to_left(text: str) -> bool:
    # Most values have no Arabic at all: one regular expression search says so.
    return contains_arabic(text) and _mostly_arabic(text)


def _body(page: _Page, spec: DocumentSpec) -> None:
    usable = PAGE_W - LEFT - RIGHT
    half = usable / 2
    page.font("B", 10)
    left_bottom = page.multi(LEFT, TOP, half, 5, f"ROYAUME DU MAROC\n{spec.issuer_fr}", "L")
    right_bottom = page.multi(LEFT + half, TOP, half, 5, f"المملكة المغربية\n{spec.issuer_ar}", "R")
    y = max(left_bottom, right_bottom) + 2
    page.rule(y)
    y += 5
    page.font("B", 15)
    y = page.multi(LEFT, y, usable, 8, spec.title_fr, "C")
    y = page.multi(LEFT, y, usable, 8, spec.title_ar, "C") + 4
    label_w, arabic_w = 42.0, 38.0
    value_w = usable - label_w - arabic_w
    for item in spec.lines:
        page.font("B", 9)
        bottom = page.multi(LEFT, y, label_w, 5.5, item.label_fr, "L")
        page.font("R", 10)
        align = "R" if _right_to_left(item.value) else "L"
        bottom = max(bottom, page.multi(LEFT + label_w, y, value_w, 5.5, item.value, align))
        page.font("B", 9)
        right = page.multi(LEFT + label_w + value_w, y, arabic_w, 5.5, item.label_ar, "R")
        y = max(bottom, right) + 1
    if spec.text:
        y = _heading(page, y, spec.text_heading_fr, spec.text_heading_ar)
        page.font("R", 10.5)
        for paragraph in spec.text.split("\n"):
            if not paragraph.strip():
                y += 3
                continue
            align = "R" if _right_to_left(paragraph) else "L"
            y = page.multi(LEFT, y, usable, 5.5, paragraph, align) + 1
    if spec.files:
        y = _heading(page, y, spec.files_heading_fr, spec.files_heading_ar)
        for number, file in enumerate(spec.files, start=1):
            page.font("R", 9.5)
            size = f" ({_size(file.size)})" if file.size is not None else ""
            y = page.multi(LEFT, y, usable, 5, f"{number}. {file.name}{size}", "L")
            page.mono(LEFT, y, 4, f"   SHA-256 {file.sha256}", 7.5)
            y += 4 + 1
    if y > LOWEST:
        raise DoesNotFit()
    _footer(page, spec)


def _heading(page: _Page, y: float, french: str, arabic: str) -> float:
    y += 3
    page.font("B", 11)
    usable = PAGE_W - LEFT - RIGHT
    page.text(LEFT, y, usable, 7, french, "L")
    page.text(LEFT, y, usable, 7, arabic, "R")
    return y + 8


def _footer(page: _Page, spec: DocumentSpec) -> None:
    top = PAGE_H - 12 - QR_SIZE
    page.qr(spec.verification_url, LEFT, top, QR_SIZE)
    x = LEFT + QR_SIZE + 4
    width = PAGE_W - RIGHT - x
    page.font("B", 9)
    page.text(x, top + 1, width, 5, f"Code de vérification : {spec.verification_code}", "L")
    page.font("R", 8)
    y = page.multi(x, top + 6, width, 4, spec.verification_url, "L")
    y = page.multi(x, y, width, 4, spec.signature_fr, "L")
    page.multi(x, y, width, 4, f"{spec.signature_ar} رمز التحقق أعلاه", "R")
    page.text(PAGE_W - RIGHT - 20, PAGE_H - 10, 20, 4, "1/1", "R")


def _pdf_text(text: str) -> str:
    """A PDF text string: UTF-16 with its byte order mark, in hex (any language)."""
    return "<FEFF" + text.encode("utf-16-be").hex().upper() + ">"


def _pdf_date(at: datetime) -> str:
    return at.astimezone(UTC).strftime("(D:%Y%m%d%H%M%S+00'00')")


def render_signed(
    spec: DocumentSpec,
    fonts: Fonts,
    identity: SigningIdentity,
    *,
    reason: str,
    location: str = "Rabat, Maroc",
    at: datetime | None = None,
) -> bytes:
    """The document, PAdES-signed (B-B) by `identity`; DoesNotFit past one page. Blocking."""
    regular = embedded_font(fonts.regular, REGULAR)
    bold = embedded_font(fonts.bold, BOLD)
    page = _Page(regular, bold)
    _body(page, spec)
    template = template_for(identity)
    at = at or datetime.now(UTC)
    # Level 1: a third of level 6's time (about 0.1 ms) for some 400 more bytes in a file of
    # 140 KB, nearly all fonts.
    content = zlib.compress("\n".join(page.ops).encode("ascii"), 1)
    keywords = " ".join(spec.keywords)
    placeholder_range = "/ByteRange [0 0000000000 0000000000 0000000000]"
    objects: list[tuple[int, str] | tuple[int, str, bytes]] = [
        (
            CATALOG,
            f"<</Type /Catalog /Pages {PAGES} 0 R /AcroForm <</Fields [{FIELD} 0 R] "
            "/SigFlags 3>>>>",
        ),
        (PAGES, f"<</Type /Pages /Kids [{PAGE} 0 R] /Count 1>>"),
        (
            PAGE,
            f"<</Type /Page /Parent {PAGES} 0 R "
            f"/MediaBox [0 0 {PAGE_W * MM:.2f} {PAGE_H * MM:.2f}] /Resources <</Font "
            f"<</F1 {REGULAR} 0 R /F2 {BOLD} 0 R /F3 {MONO} 0 R>>>> /Contents {CONTENT} 0 R "
            f"/Annots [{FIELD} 0 R]>>",
        ),
        (CONTENT, f"<</Length {len(content)} /Filter /FlateDecode>>\nstream\n", content),
        (
            INFO,
            f"<</Title {_pdf_text(spec.title_fr)} /Author {_pdf_text(spec.issuer_fr)} "
            f"/Creator (Marfiq) /Producer (Marfiq) "
            f"/Subject {_pdf_text(f'{spec.title_fr} - {spec.verification_code}')} "
            f"/Keywords {_pdf_text(keywords)} /CreationDate {_pdf_date(at)}>>",
        ),
        (
            SIGNATURE,
            "<</Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached "
            f"{placeholder_range} /Contents <{'0' * (2 * CONTENTS_BYTES)}> /M {_pdf_date(at)} "
            f"/Name {_pdf_text(identity.subject)} /Reason {_pdf_text(reason)} "
            f"/Location {_pdf_text(location)}>>",
        ),
        (
            FIELD,
            f"<</Type /Annot /Subtype /Widget /FT /Sig /T ({SIGNATURE_FIELD}) "
            f"/V {SIGNATURE} 0 R /F 132 /Rect [0 0 0 0] /P {PAGE} 0 R>>",
        ),
        (MONO, "<</Type /Font /Subtype /Type1 /BaseFont /Courier /Encoding /WinAnsiEncoding>>"),
    ]
    return _assemble(
        _fonts_first(regular, bold), objects, template, placeholder_range, spec.verification_code
    )


@dataclass(frozen=True, slots=True)
class _Start:
    """The first bytes of every document: the header and the fonts' objects (130 KB)."""

    data: bytes
    offsets: tuple[tuple[int, int], ...]  # (object number, offset) of each object in it
    digest: Any  # SHA-256 state after `data`: the signed range begins with these bytes


@functools.lru_cache(maxsize=4)
def _fonts_first(regular: EmbeddedFont, bold: EmbeddedFont) -> _Start:
    """The fonts come first in the file (any order of objects is valid PDF) so that the
    hash of the signed range starts from a state computed once: hashing them again cost
    0.09 ms a document."""
    data = HEADER + regular.objects + bold.objects
    offsets = tuple(
        (int(match.group(1)), match.start()) for match in re.finditer(rb"(?m)^(\d+) 0 obj\n", data)
    )
    return _Start(data, offsets, hashlib.sha256(data))


def _assemble(
    first: _Start,
    objects: Sequence[tuple[int, str] | tuple[int, str, bytes]],
    template: CmsTemplate,
    placeholder_range: str,
    seed: str,
) -> bytes:
    # Only what follows the fonts is built here; offsets count the fonts' bytes before it.
    base = len(first.data)
    out = bytearray()
    offsets = dict(first.offsets)
    for number, dictionary, *stream in objects:
        offsets[number] = base + len(out)
        out += f"{number} 0 obj\n{dictionary}".encode()
        if stream:
            out += stream[0] + b"\nendstream"
        out += b"\nendobj\n"
    xref = base + len(out)
    rows = [b"0000000000 65535 f \n"] + [
        f"{offsets[number]:010d} 00000 n \n".encode() for number in range(1, OBJECTS + 1)
    ]
    file_id = zlib.crc32(seed.encode()).to_bytes(4, "big").hex() * 4
    out += f"xref\n0 {OBJECTS + 1}\n".encode() + b"".join(rows)
    out += (
        f"trailer\n<</Size {OBJECTS + 1} /Root {CATALOG} 0 R /Info {INFO} 0 R "
        f"/ID [<{file_id}> <{file_id}>]>>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    marker = b"/Contents <" + b"0" * 16
    start = out.index(marker) + len(b"/Contents ")  # in `out`; base + start in the file
    end = start + 2 * CONTENTS_BYTES + 2
    filled = f"/ByteRange [0 {base + start} {base + end} {len(out) - end}]"
    at = out.index(placeholder_range.encode())
    out[at : at + len(placeholder_range)] = filled.ljust(len(placeholder_range)).encode()
    digest = first.digest.copy()
    with memoryview(out) as view:
        digest.update(view[:start])
        digest.update(view[end:])
    cms = template.sign(digest.digest())
    if len(cms) > CONTENTS_BYTES:
        raise ValueError("the signature does not fit its reserved room")
    out[start + 1 : start + 1 + 2 * len(cms)] = cms.hex().upper().encode()
    return first.data + out


def issue_pdf(
    spec: DocumentSpec,
    identity: SigningIdentity,
    *,
    reason: str,
    location: str = "Rabat, Maroc",
) -> bytes:
    """The document drawn and PAdES-signed: on one page by this module when it fits and a
    Unicode font exists, otherwise by `render_pdf` and `sign_pdf`. Blocking, CPU-bound."""
    fonts = find_fonts()
    if fonts is not None:
        try:
            return render_signed(spec, fonts, identity, reason=reason, location=location)
        except DoesNotFit:
            pass
    return sign_pdf(render_pdf(spec, fonts=fonts).pdf, identity, reason=reason, location=location)
