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
import re
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime

from marfiq_shared.documents.cms import CmsTemplate, sha256_ranges, template_for
from marfiq_shared.documents.fonts import MM, EmbeddedFont, embedded_font
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

    def width(self, text: str) -> float:
        return self.current.width_mm(text, self.size)

    def text(self, x: float, top: float, w: float, h: float, text: str, align: str) -> None:
        """One line of text in the cell (x, top, w, h), aligned L, R or C."""
        if not text:
            return
        font = self.current
        glyphs = font.shape(text)
        width = sum(advance for _, advance in glyphs) * self.size / font.upem / MM
        if align == "R":
            left = x + w - PAD - width
        elif align == "C":
            left = x + (w - width) / 2
        else:
            left = x + PAD
        baseline = top + h / 2 + 0.3 * self.size / MM
        pieces: list[str] = []
        run: list[str] = []
        for gid, advance in glyphs:
            run.append(f"{gid:04X}")
            delta = advance - font.widths[gid] if gid < len(font.widths) else 0
            if delta:
                pieces.append(f"<{''.join(run)}> {-delta * 1000 / font.upem:.1f}")
                run = []
        if run:
            pieces.append(f"<{''.join(run)}>")
        name = "F1" if self.style == "R" else "F2"
        self.ops.append(
            f"BT /{name} {self.size:.2f} Tf 1 0 0 1 {left * MM:.2f} {(PAGE_H - baseline) * MM:.2f}"
            f" Tm [{' '.join(pieces)}] TJ ET"
        )

    def mono(self, x: float, top: float, h: float, text: str, size: float) -> None:
        """ASCII in Courier (a standard font: nothing to embed)."""
        escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        baseline = top + h / 2 + 0.3 * size / MM
        self.ops.append(
            f"BT /F3 {size:.2f} Tf 1 0 0 1 {(x + PAD) * MM:.2f} {(PAGE_H - baseline) * MM:.2f}"
            f" Tm ({escaped}) Tj ET"
        )

    def lines_of(self, text: str, width: float) -> list[str]:
        """`text` broken into lines no wider than `width` (at spaces; long words cut)."""
        room = width - 2 * PAD
        lines: list[str] = []
        for paragraph in text.split("\n"):
            line = ""
            for word in paragraph.split(" "):
                candidate = f"{line} {word}" if line else word
                if self.width(candidate) <= room:
                    line = candidate
                    continue
                if line:
                    lines.append(line)
                while self.width(word) > room:
                    cut = max(1, int(len(word) * room / self.width(word)))
                    while cut > 1 and self.width(word[:cut]) > room:
                        cut -= 1
                    lines.append(word[:cut])
                    word = word[cut:]
                line = word
            lines.append(line)
        return lines

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
        modules, runs = qr_runs(data, mask=QR_MASK)
        step = size / (modules + 2 * QR_QUIET) * MM
        left, top = x * MM, (PAGE_H - y) * MM
        boxes = [
            f"{left + (start + QR_QUIET) * step:.2f} {top - (r + QR_QUIET + 1) * step:.2f} "
            f"{length * step:.2f} {step:.2f} re"
            for r, start, length in runs
        ]
        self.ops.append("q 0 g " + " ".join(boxes) + " f Q")


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
        align = "R" if _mostly_arabic(item.value) else "L"
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
            align = "R" if _mostly_arabic(paragraph) else "L"
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
    content = zlib.compress("\n".join(page.ops).encode("ascii"), 6)
    keywords = " ".join(spec.keywords)
    placeholder_range = "/ByteRange [0 0000000000 0000000000 0000000000]"
    objects = [
        f"{CATALOG} 0 obj\n<</Type /Catalog /Pages {PAGES} 0 R "
        f"/AcroForm <</Fields [{FIELD} 0 R] /SigFlags 3>>>>\nendobj\n".encode(),
        f"{PAGES} 0 obj\n<</Type /Pages /Kids [{PAGE} 0 R] /Count 1>>\nendobj\n".encode(),
        f"{PAGE} 0 obj\n<</Type /Page /Parent {PAGES} 0 R "
        f"/MediaBox [0 0 {PAGE_W * MM:.2f} {PAGE_H * MM:.2f}] /Resources <</Font "
        f"<</F1 {REGULAR} 0 R /F2 {BOLD} 0 R /F3 {MONO} 0 R>>>> /Contents {CONTENT} 0 R "
        f"/Annots [{FIELD} 0 R]>>\nendobj\n".encode(),
        f"{CONTENT} 0 obj\n<</Length {len(content)} /Filter /FlateDecode>>\nstream\n".encode()
        + content
        + b"\nendstream\nendobj\n",
        f"{INFO} 0 obj\n<</Title {_pdf_text(spec.title_fr)} /Author {_pdf_text(spec.issuer_fr)} "
        f"/Creator (Marfiq) /Producer (Marfiq) "
        f"/Subject {_pdf_text(f'{spec.title_fr} - {spec.verification_code}')} "
        f"/Keywords {_pdf_text(keywords)} /CreationDate {_pdf_date(at)}>>\nendobj\n".encode(),
        f"{SIGNATURE} 0 obj\n<</Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached "
        f"{placeholder_range} /Contents <{'0' * (2 * CONTENTS_BYTES)}> /M {_pdf_date(at)} "
        f"/Name {_pdf_text(identity.subject)} /Reason {_pdf_text(reason)} "
        f"/Location {_pdf_text(location)}>>\nendobj\n".encode(),
        f"{FIELD} 0 obj\n<</Type /Annot /Subtype /Widget /FT /Sig /T ({SIGNATURE_FIELD}) "
        f"/V {SIGNATURE} 0 R /F 132 /Rect [0 0 0 0] /P {PAGE} 0 R>>\nendobj\n".encode(),
        f"{MONO} 0 obj\n<</Type /Font /Subtype /Type1 /BaseFont /Courier "
        "/Encoding /WinAnsiEncoding>>\nendobj\n".encode(),
        regular.objects,
        bold.objects,
    ]
    return _assemble(objects, template, placeholder_range, spec.verification_code)


def _object_starts(chunk: bytes) -> tuple[tuple[int, int], ...]:
    """The number and offset of each object that begins in `chunk`. The fonts' objects
    (130 KB, the same in every document) are scanned once: a bytes object keeps its hash,
    so finding them in the cache again costs nothing."""
    if len(chunk) < _SCANNED_ONCE:
        return _scan(chunk)
    return _scan_cached(chunk)


def _scan(chunk: bytes) -> tuple[tuple[int, int], ...]:
    return tuple(
        (int(match.group(1)), match.start()) for match in re.finditer(rb"(?m)^(\d+) 0 obj\n", chunk)
    )


_SCANNED_ONCE = 16 * 1024
_scan_cached = functools.lru_cache(maxsize=8)(_scan)


def _assemble(
    objects: Sequence[bytes], template: CmsTemplate, placeholder_range: str, seed: str
) -> bytes:
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets: dict[int, int] = {}
    for chunk in objects:
        # Each chunk holds one or more whole objects; note where each begins.
        for number, at in _object_starts(chunk):
            offsets[number] = len(out) + at
        out += chunk
    xref = len(out)
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
    start = out.index(marker) + len(b"/Contents ")
    end = start + 2 * CONTENTS_BYTES + 2
    ranges = ((0, start), (end, len(out) - end))
    filled = f"/ByteRange [0 {start} {end} {len(out) - end}]".ljust(len(placeholder_range))
    at = out.index(placeholder_range.encode())
    out[at : at + len(filled)] = filled.encode()
    cms = template.sign(sha256_ranges(out, ranges))
    if len(cms) > CONTENTS_BYTES:
        raise ValueError("the signature does not fit its reserved room")
    out[start + 1 : start + 1 + 2 * len(cms)] = cms.hex().upper().encode()
    return bytes(out)


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
