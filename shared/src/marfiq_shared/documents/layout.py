"""The layout every document the platform issues shares: a bilingual letterhead, a title in
French and Arabic, labelled fields, free text, a list of files with their SHA-256, and a
footer with the verification code and its QR code.

Arabic is shaped (joined letters, right to left) by HarfBuzz through fpdf2, with a font that
has Arabic glyphs: the first of `FONT_CANDIDATES` found, or the one given. Where no such font
exists, the document is rendered in French alone (Arabic text is left out, never drawn as
empty boxes) and `RenderedDocument.arabic` says so.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import segno
from fontTools import subset
from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.enums import XPos, YPos

# Searched in order; DejaVu ships with Debian's base fonts, Noto with most desktops.
FONT_CANDIDATES: tuple[tuple[str, str, str], ...] = (
    (
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
    ),
    (
        "/usr/share/fonts/truetype/noto/NotoSansArabic-Regular.ttf",
        "/usr/share/fonts/truetype/noto/NotoSansArabic-Bold.ttf",
        "/usr/share/fonts/truetype/noto/NotoSansMono-Regular.ttf",
    ),
)
FONT_ENV = "MARFIQ_DOCUMENT_FONT_DIR"  # a folder with DejaVuSans*.ttf, for slim images

ARABIC_RANGES = ((0x0600, 0x06FF), (0x0750, 0x077F), (0x08A0, 0x08FF), (0xFB50, 0xFEFF))


@dataclass(frozen=True, slots=True)
class Fonts:
    regular: str
    bold: str
    mono: str


# What documents draw: Latin with French accents, punctuation, Arabic and its presentation
# forms. Fonts are cut down to these once per process, which makes each document several
# times faster to lay out and to embed than with the full fonts (thousands of glyphs).
TEXT_RANGES: tuple[tuple[int, int], ...] = (
    (0x20, 0x7E),
    (0xA0, 0x24F),
    (0x2000, 0x206F),
    (0x20AC, 0x20AC),
    (0x2116, 0x2116),
    (0x0600, 0x06FF),
    (0xFB50, 0xFDFF),
    (0xFE70, 0xFEFF),
)
MONO_RANGES: tuple[tuple[int, int], ...] = ((0x20, 0x7E),)


_fonts_lock = threading.Lock()


def find_fonts() -> Fonts | None:
    """Unicode fonts with Arabic glyphs, cut down to what documents draw, or None (then
    documents are in French only). Blocking, about a second the first time per process;
    safe to call from several threads at once (the first prepares, the others wait)."""
    with _fonts_lock:
        return _prepared_fonts()


@lru_cache(maxsize=1)
def _prepared_fonts() -> Fonts | None:
    found = _installed_fonts()
    if found is None:
        return None
    return Fonts(
        regular=_subset(found.regular, TEXT_RANGES),
        bold=_subset(found.bold, TEXT_RANGES),
        mono=_subset(found.mono, MONO_RANGES),
    )


def _subset(path: str, ranges: tuple[tuple[int, int], ...]) -> str:
    """A copy of the font at `path` with only `ranges` (and the shaping rules among them),
    kept in the temporary folder under a name that changes when the source font does."""
    source = Path(path)
    stat = source.stat()
    key = hashlib.sha256(f"{source.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{ranges}".encode())
    target = Path(tempfile.gettempdir()) / "marfiq-fonts" / f"{key.hexdigest()[:24]}.ttf"
    if target.is_file():
        return str(target)
    # fontTools reports every table it touches at INFO; that is noise in a service's log.
    subset_log = logging.getLogger("fontTools.subset")
    level = subset_log.level
    subset_log.setLevel(logging.WARNING)
    try:
        _cut(source, target, ranges)
    finally:
        subset_log.setLevel(level)
    return str(target)


def _cut(source: Path, target: Path, ranges: tuple[tuple[int, int], ...]) -> None:
    font = TTFont(str(source), recalcTimestamp=False)
    options = subset.Options()
    options.layout_features = ["*"]  # Arabic joining forms and ligatures live in GSUB
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.hinting = False
    options.drop_tables += ["FFTM"]  # FontForge's timestamps: of no use in a PDF
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[code for low, high in ranges for code in range(low, high + 1)])
    subsetter.subset(font)
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}")
    font.save(str(scratch))
    os.replace(scratch, target)


def _installed_fonts() -> Fonts | None:
    candidates = list(FONT_CANDIDATES)
    folder = os.environ.get(FONT_ENV)
    if folder:
        base = Path(folder)
        candidates.insert(
            0,
            (
                str(base / "DejaVuSans.ttf"),
                str(base / "DejaVuSans-Bold.ttf"),
                str(base / "DejaVuSansMono.ttf"),
            ),
        )
    for regular, bold, mono in candidates:
        if Path(regular).is_file() and Path(bold).is_file():
            return Fonts(regular, bold, mono if Path(mono).is_file() else regular)
    return None


def has_arabic(text: str) -> bool:
    return any(low <= ord(char) <= high for char in text for low, high in ARABIC_RANGES)


@dataclass(frozen=True, slots=True)
class Line:
    """A labelled value: `Objet / الموضوع : Demande de …`."""

    label_fr: str
    label_ar: str
    value: str


@dataclass(frozen=True, slots=True)
class FileLine:
    """A file the document vouches for, by name and SHA-256."""

    name: str
    sha256: str
    size: int | None = None


@dataclass(frozen=True, slots=True)
class DocumentSpec:
    """Everything a document shows; `render_pdf` lays it out the same way every time."""

    issuer_fr: str
    issuer_ar: str
    title_fr: str
    title_ar: str
    verification_code: str
    verification_url: str
    lines: Sequence[Line] = ()
    text: str | None = None  # free text (an answer), French or Arabic
    text_heading_fr: str = "Texte"
    text_heading_ar: str = "النص"
    files: Sequence[FileLine] = ()
    files_heading_fr: str = "Pièces et empreintes SHA-256"
    files_heading_ar: str = "الوثائق وبصماتها"
    signature_fr: str = "Document signé électroniquement (PAdES)."
    signature_ar: str = "وثيقة موقعة إلكترونيا."
    keywords: Sequence[str] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class RenderedDocument:
    pdf: bytes
    arabic: bool  # whether Arabic text could be drawn


class _Pdf(FPDF):
    def __init__(self, spec: DocumentSpec, fonts: Fonts | None) -> None:
        super().__init__(format="A4")
        self.spec = spec
        self.unicode_fonts = fonts
        self.set_auto_page_break(auto=True, margin=45)
        self.set_margins(18, 16, 18)
        if fonts is not None:
            self.add_font("body", "", fonts.regular)
            self.add_font("body", "B", fonts.bold)
            self.add_font("mono", "", fonts.mono)
            self.set_text_shaping(True)
            self.body_family, self.mono_family = "body", "mono"
        else:
            self.body_family, self.mono_family = "helvetica", "courier"

    def text_of(self, text: str) -> str:
        """What can be drawn: everything with a Unicode font; Latin-1 without one."""
        if self.unicode_fonts is not None:
            return text
        decomposed = unicodedata.normalize("NFKC", text.replace("\u2019", "'"))
        return decomposed.encode("latin-1", "ignore").decode("latin-1")

    def arabic(self, text: str) -> str:
        return text if self.unicode_fonts is not None else ""

    def header(self) -> None:
        spec = self.spec
        width = (self.w - self.l_margin - self.r_margin) / 2
        top = self.get_y()
        self.set_font(self.body_family, "B", 10)
        self.multi_cell(
            width,
            5,
            self.text_of(f"ROYAUME DU MAROC\n{spec.issuer_fr}"),
            align="L",
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        left_bottom = self.get_y()
        if self.unicode_fonts is not None:
            self.set_xy(self.l_margin + width, top)
            self.multi_cell(
                width,
                5,
                f"المملكة المغربية\n{spec.issuer_ar}",
                align="R",
                new_x=XPos.LMARGIN,
                new_y=YPos.NEXT,
            )
        self.set_y(max(left_bottom, self.get_y()) + 2)
        self.set_draw_color(0, 98, 51)
        self.set_line_width(0.6)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(5)

    def footer(self) -> None:
        spec = self.spec
        size = 28.0
        top = self.h - 12 - size
        draw_qr(self, spec.verification_url, x=self.l_margin, y=top, size=size)
        self.set_xy(self.l_margin + size + 4, top + 1)
        width = self.w - self.r_margin - self.get_x()
        self.set_font(self.body_family, "B", 9)
        self.cell(
            width, 5, self.text_of(f"Code de vérification : {spec.verification_code}"),
            new_x=XPos.LEFT, new_y=YPos.NEXT,
        )  # fmt: skip
        self.set_font(self.body_family, "", 8)
        self.multi_cell(
            width,
            4,
            self.text_of(spec.verification_url),
            align="L",
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        self.set_x(self.l_margin + size + 4)
        self.multi_cell(
            width,
            4,
            self.text_of(spec.signature_fr),
            align="L",
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        if self.unicode_fonts is not None:
            self.set_x(self.l_margin + size + 4)
            self.multi_cell(
                width,
                4,
                f"{spec.signature_ar} رمز التحقق أعلاه",
                align="R",
                new_x=XPos.LMARGIN,
                new_y=YPos.NEXT,
            )
        self.set_xy(self.w - self.r_margin - 20, self.h - 10)
        self.cell(20, 4, f"{self.page_no()}/{{nb}}", align="R")


def qr_runs(data: str, *, mask: int | None = None) -> tuple[int, list[tuple[int, int, int]]]:
    """The QR code of `data` as (modules per side, runs of dark modules as (row, first
    column, length)): one rectangle per run keeps a vector drawing small. `mask` fixes the
    mask pattern (any is valid; choosing the best of eight costs about 5 ms)."""
    code = segno.make(data, error="m", micro=False, mask=mask)
    rows = code.matrix
    runs: list[tuple[int, int, int]] = []
    for r, row in enumerate(rows):
        c = 0
        while c < len(row):
            if not row[c]:
                c += 1
                continue
            start = c
            while c < len(row) and row[c]:
                c += 1
            runs.append((r, start, c - start))
    return len(rows), runs


QR_QUIET = 2  # modules of white margin around the code


def draw_qr(pdf: FPDF, data: str, *, x: float, y: float, size: float) -> None:
    """A QR code of `data` as filled squares (vector: sharp at any zoom, no image codec)."""
    modules, runs = qr_runs(data)
    step = size / (modules + 2 * QR_QUIET)
    pdf.set_fill_color(0, 0, 0)
    for r, start, length in runs:
        pdf.rect(x + (start + QR_QUIET) * step, y + (r + QR_QUIET) * step, length * step, step, "F")


def _bilingual_title(pdf: _Pdf, spec: DocumentSpec) -> None:
    pdf.set_font(pdf.body_family, "B", 15)
    pdf.multi_cell(0, 8, pdf.text_of(spec.title_fr), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if pdf.unicode_fonts is not None:
        pdf.multi_cell(0, 8, spec.title_ar, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)


def _lines(pdf: _Pdf, lines: Sequence[Line]) -> None:
    usable = pdf.w - pdf.l_margin - pdf.r_margin
    label_w, arabic_w = 42.0, 38.0
    value_w = usable - label_w - (arabic_w if pdf.unicode_fonts is not None else 0)
    for item in lines:
        top = pdf.get_y()
        pdf.set_font(pdf.body_family, "B", 9)
        pdf.multi_cell(
            label_w, 5.5, pdf.text_of(item.label_fr), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )
        bottom = pdf.get_y()
        pdf.set_xy(pdf.l_margin + label_w, top)
        pdf.set_font(pdf.body_family, "", 10)
        value = pdf.text_of(item.value)
        pdf.multi_cell(
            value_w,
            5.5,
            value,
            align="R" if _mostly_arabic(value) else "L",
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        bottom = max(bottom, pdf.get_y())
        if pdf.unicode_fonts is not None:
            pdf.set_xy(pdf.l_margin + label_w + value_w, top)
            pdf.set_font(pdf.body_family, "B", 9)
            pdf.multi_cell(
                arabic_w, 5.5, item.label_ar, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT
            )
            bottom = max(bottom, pdf.get_y())
        pdf.set_y(bottom + 1)


def _heading(pdf: _Pdf, french: str, arabic: str) -> None:
    pdf.ln(3)
    pdf.set_font(pdf.body_family, "B", 11)
    top = pdf.get_y()
    pdf.cell(0, 7, pdf.text_of(french), align="L")
    if pdf.unicode_fonts is not None:
        pdf.set_xy(pdf.l_margin, top)
        pdf.cell(0, 7, arabic, align="R")
    pdf.ln(8)


def _mostly_arabic(text: str) -> bool:
    letters = [char for char in text if char.isalpha()]
    if not letters:
        return False
    arabic = sum(1 for char in letters if has_arabic(char))
    return arabic * 2 > len(letters)


def _text(pdf: _Pdf, text: str) -> None:
    pdf.set_font(pdf.body_family, "", 10.5)
    for paragraph in text.split("\n"):
        shown = pdf.text_of(paragraph)
        if not shown.strip():
            pdf.ln(3)
            continue
        pdf.multi_cell(
            0,
            5.5,
            shown,
            align="R" if _mostly_arabic(shown) else "J",
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        pdf.ln(1)


def _files(pdf: _Pdf, files: Sequence[FileLine]) -> None:
    for number, item in enumerate(files, start=1):
        pdf.set_font(pdf.body_family, "", 9.5)
        size = f" ({_size(item.size)})" if item.size is not None else ""
        pdf.multi_cell(
            0,
            5,
            pdf.text_of(f"{number}. {item.name}{size}"),
            align="L",
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        pdf.set_font(pdf.mono_family, "", 7.5)
        pdf.multi_cell(
            0, 4, f"   SHA-256 {item.sha256}", align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )
        pdf.ln(1)


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} o"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} Ko"
    return f"{size / 1024 / 1024:.1f} Mo"


def render_pdf(spec: DocumentSpec, *, fonts: Fonts | bool | None = True) -> RenderedDocument:
    """The document as PDF bytes (blocking, CPU-bound: use a worker thread from async code).

    `fonts=True` finds a Unicode font, `False` forces the French-only fallback.
    """
    chosen = find_fonts() if fonts is True else (None if fonts is False else fonts)
    assert not isinstance(chosen, bool)
    pdf = _Pdf(spec, chosen)
    pdf.set_title(spec.title_fr)
    pdf.set_author(spec.issuer_fr)
    pdf.set_creator("Marfiq")
    pdf.set_subject(f"{spec.title_fr} - {spec.verification_code}")
    if spec.keywords:
        pdf.set_keywords(" ".join(spec.keywords))
    pdf.alias_nb_pages()
    pdf.add_page()
    _bilingual_title(pdf, spec)
    _lines(pdf, spec.lines)
    if spec.text:
        _heading(pdf, spec.text_heading_fr, spec.text_heading_ar)
        _text(pdf, spec.text)
    if spec.files:
        _heading(pdf, spec.files_heading_fr, spec.files_heading_ar)
        _files(pdf, spec.files)
    return RenderedDocument(pdf=bytes(pdf.output()), arabic=chosen is not None)
