"""Fonts as the one-page writer embeds them: shaped with HarfBuzz, embedded whole.

The fonts `find_fonts` prepares are already cut down to what documents draw, so each one
is embedded whole (a Type 0 font, Identity-H, glyph ids as codes) with no per-document
subsetting: its PDF objects are made once per process and copied into every document.
"""

from __future__ import annotations

import re
import struct
import threading
import zlib
from dataclasses import dataclass
from functools import lru_cache
from operator import attrgetter, itemgetter
from typing import Any

import uharfbuzz as hb
from fontTools.ttLib import TTFont
from fpdf.bidi import BidiParagraph
from fpdf.enums import TextDirection

from marfiq_shared.documents.layout import ARABIC_RANGES

MM = 72 / 25.4  # points per millimetre


@dataclass(frozen=True, eq=False)  # hashed by identity: shaping caches by font
class EmbeddedFont:
    """One font: its shaper, glyph widths, and its PDF objects from `first_object` on."""

    path: str
    hb_font: hb.Font
    upem: int
    widths: tuple[int, ...]  # advance of each glyph id, in font units
    objects: bytes  # five numbered objects; the Type 0 font is the first
    first_object: int

    def shape(self, text: str) -> tuple[tuple[int, int], ...]:
        """(glyph id, advance in font units) in visual order, Arabic joined and the
        directions of mixed text put in their places (Unicode bidi)."""
        return _shape(self, text)

    def width_mm(self, text: str, size: float) -> float:
        return _advance(self, text) * size / self.upem / MM

    def shown(self, text: str) -> tuple[int, str]:
        """The width of `text` in font units and its glyphs as the body of a TJ array
        (Identity-H: glyph ids in hex), with an adjustment where shaping moved a glyph off
        its own width (kerning)."""
        return _shown(self, text)


_lock = threading.Lock()
# layout.has_arabic's ranges as one character class: a search in C rather than a Python
# loop over every character and range (25 us for a 50-character address).
_ARABIC = re.compile("[" + "".join(f"{chr(low)}-{chr(high)}" for low, high in ARABIC_RANGES) + "]")


def contains_arabic(text: str) -> bool:
    """Whether `text` has a character of the Arabic blocks (as `layout.has_arabic`)."""
    return _ARABIC.search(text) is not None


def embedded_font(path: str, first_object: int) -> EmbeddedFont:
    """The font at `path` ready to draw, its objects numbered from `first_object`."""
    with _lock:
        return _embedded(path, first_object)


@lru_cache(maxsize=16)
def _embedded(path: str, first_object: int) -> EmbeddedFont:
    with open(path, "rb") as handle:
        data = handle.read()
    face = hb.Face(hb.Blob(data))
    font = TTFont(path, lazy=True)
    upem = int(font["head"].unitsPerEm)
    order = font.getGlyphOrder()
    metrics = font["hmtx"].metrics
    widths = tuple(int(metrics[name][0]) for name in order)
    objects = _objects(font, data, widths, upem, first_object)
    return EmbeddedFont(path, hb.Font(face), upem, widths, objects, first_object)


def _objects(font: TTFont, data: bytes, widths: tuple[int, ...], upem: int, n: int) -> bytes:
    scale = 1000 / upem
    head, hhea = font["head"], font["hhea"]
    name = "MARFIQ+" + "".join(
        char for char in (font["name"].getDebugName(6) or "Font") if char.isalnum() or char == "-"
    )
    bbox = " ".join(
        str(round(value * scale)) for value in (head.xMin, head.yMin, head.xMax, head.yMax)
    )
    os2 = font.get("OS/2", None)
    cap = getattr(os2, "sCapHeight", 0) or hhea.ascent
    widths_pdf = " ".join(str(round(width * scale)) for width in widths)
    to_unicode = _to_unicode(font)
    packed = zlib.compress(data, 9)
    return b"".join(
        [
            f"{n} 0 obj\n<</Type /Font /Subtype /Type0 /BaseFont /{name} /Encoding /Identity-H "
            f"/DescendantFonts [{n + 1} 0 R] /ToUnicode {n + 4} 0 R>>\nendobj\n".encode(),
            f"{n + 1} 0 obj\n<</Type /Font /Subtype /CIDFontType2 /BaseFont /{name} "
            "/CIDSystemInfo <</Registry (Adobe) /Ordering (Identity) /Supplement 0>> "
            f"/FontDescriptor {n + 2} 0 R /CIDToGIDMap /Identity /DW 1000 "
            f"/W [0 [{widths_pdf}]]>>\nendobj\n".encode(),
            f"{n + 2} 0 obj\n<</Type /FontDescriptor /FontName /{name} /Flags 32 "
            f"/FontBBox [{bbox}] /ItalicAngle 0 /Ascent {round(hhea.ascent * scale)} "
            f"/Descent {round(hhea.descent * scale)} /CapHeight {round(cap * scale)} "
            f"/StemV 80 /FontFile2 {n + 3} 0 R>>\nendobj\n".encode(),
            f"{n + 3} 0 obj\n<</Length {len(packed)} /Length1 {len(data)} /Filter /FlateDecode>>"
            "\nstream\n".encode()
            + packed
            + b"\nendstream\nendobj\n",
            f"{n + 4} 0 obj\n<</Length {len(to_unicode)} /Filter /FlateDecode>>\nstream\n".encode()
            + to_unicode
            + b"\nendstream\nendobj\n",
        ]
    )


def _to_unicode(font: TTFont) -> bytes:
    """A CMap from glyph ids back to text, so that a reader can copy and search it."""
    ids = {name: index for index, name in enumerate(font.getGlyphOrder())}
    texts: dict[str, str] = {}
    for code, glyph in sorted(font.getBestCmap().items()):
        texts.setdefault(glyph, chr(code))
    # Ligatures (fi, fl …) have no character of their own: they stand for their parts.
    for first, ligatures in _ligatures(font):
        for ligature in ligatures:
            parts = [first, *ligature.Component]
            if ligature.LigGlyph not in texts and all(part in texts for part in parts):
                texts[ligature.LigGlyph] = "".join(texts[part] for part in parts)
    entries = [
        f"<{ids[glyph]:04X}> <{text.encode('utf-16-be').hex().upper()}>"
        for glyph, text in sorted(texts.items(), key=lambda item: ids[item[0]])
    ]
    blocks = []
    for start in range(0, len(entries), 100):
        chunk = entries[start : start + 100]
        blocks.append(f"{len(chunk)} beginbfchar\n" + "\n".join(chunk) + "\nendbfchar")
    cmap = (
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
        "/CIDSystemInfo <</Registry (Adobe) /Ordering (UCS) /Supplement 0>> def\n"
        "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
        "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
        + "\n".join(blocks)
        + "\nendcmap\nCMapName currentdict /CMap defineresource pop\nend\nend"
    )
    return zlib.compress(cmap.encode("ascii"), 9)


def _ligatures(font: TTFont) -> list[tuple[str, list[Any]]]:
    """(first glyph, its ligatures) of every ligature substitution in GSUB."""
    if "GSUB" not in font or font["GSUB"].table.LookupList is None:
        return []
    found: list[tuple[str, list[Any]]] = []
    for lookup in font["GSUB"].table.LookupList.Lookup:
        for table in lookup.SubTable:
            if table.LookupType == 7:  # an extension wraps the real subtable
                table = table.ExtSubTable
            if table.LookupType == 4:
                found.extend(table.ligatures.items())
    return found


@lru_cache(maxsize=4096)
def _shape(font: EmbeddedFont, text: str) -> tuple[tuple[int, int], ...]:
    if not text:
        return ()
    if contains_arabic(text):
        runs = [
            (piece, "rtl" if direction is TextDirection.RTL else "ltr")
            for piece, direction in BidiParagraph(text).get_bidi_fragments()
        ]
    else:
        runs = [(text, "ltr")]
    glyphs: list[tuple[int, int]] = []
    for piece, direction in runs:
        buffer = hb.Buffer()
        buffer.add_str(piece)
        buffer.guess_segment_properties()
        buffer.direction = direction
        hb.shape(font.hb_font, buffer, {})
        # attrgetter and map read the glyphs without a Python step each (half the time
        # of shaping a new line, such as a verification address).
        glyphs.extend(
            zip(
                map(_GLYPH_ID, buffer.glyph_infos),
                map(_ADVANCE, buffer.glyph_positions),
                strict=True,
            )
        )
    return tuple(glyphs)


_GLYPH_ID = attrgetter("codepoint")
_ADVANCE = attrgetter("x_advance")


@lru_cache(maxsize=4096)
def _advance(font: EmbeddedFont, text: str) -> int:
    # Line breaking measures every candidate line, the same ones in every document.
    return sum(map(_SECOND, _shape(font, text)))


_SECOND = itemgetter(1)


@lru_cache(maxsize=4096)
def _shown(font: EmbeddedFont, text: str) -> tuple[int, str]:
    # Labels, headings and most values are the same in every document: drawn once.
    glyphs = _shape(font, text)
    if not glyphs:
        return 0, ""
    ids = [gid for gid, _ in glyphs]
    advances = [advance for _, advance in glyphs]
    if all(gid < len(font.widths) for gid in ids) and advances == [font.widths[gid] for gid in ids]:
        # No glyph moved by shaping: one hex string, two bytes a glyph.
        return sum(advances), f"<{struct.pack(f'>{len(ids)}H', *ids).hex().upper()}>"
    pieces: list[str] = []
    run: list[str] = []
    advance = 0
    for gid, glyph_advance in glyphs:
        advance += glyph_advance
        run.append(f"{gid:04X}")
        delta = glyph_advance - font.widths[gid] if gid < len(font.widths) else 0
        if delta:
            pieces.append(f"<{''.join(run)}> {-delta * 1000 / font.upem:.1f}")
            run = []
    if run:
        pieces.append(f"<{''.join(run)}>")
    return advance, " ".join(pieces)
