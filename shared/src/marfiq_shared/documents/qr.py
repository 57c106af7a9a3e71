"""QR codes of verification addresses, the same modules as `segno.make(data, error="m",
micro=False, mask=...)` at a fraction of its cost.

segno builds every code from scratch in pure Python: bit lists, Reed-Solomon one product
at a time, the matrix module by module, the mask applied over the whole matrix (about
1 ms for a 50-character address). Everything but the codewords is the same for every
code of one version, error level and mask: the function patterns, format and version
information, the order in which data modules are placed and the mask over them. They are
worked out once (`_symbol`); a code is then its codewords (byte mode, Reed-Solomon with a
table per generator), turned into bits, XORed with the mask and gathered into place by
one `itemgetter` call.

Only what segno itself would encode in byte mode with one segment is drawn here (any
address, in ISO-8859-1, Shift JIS or UTF-8 as segno chooses); numeric, alphanumeric and
kanji data return None and the caller asks segno. tests/documents/test_qr.py holds segno
as the oracle.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import cache, lru_cache
from itertools import chain, compress, product
from operator import itemgetter, sub
from typing import NamedTuple, cast

from segno import consts

_ERROR_M = consts.ERROR_LEVEL_M
# segno's boost_error: the highest of these that still fits the version chosen for M.
_BOOSTS = (consts.ERROR_LEVEL_Q, consts.ERROR_LEVEL_H)
_FORMAT_OFFSET = {
    consts.ERROR_LEVEL_M: 0x00,
    consts.ERROR_LEVEL_L: 0x08,
    consts.ERROR_LEVEL_H: 0x10,
    consts.ERROR_LEVEL_Q: 0x18,
}
_ALPHANUMERIC = re.compile(b"[" + re.escape(consts.ALPHANUMERIC_CHARS) + b"]+")
_PAD_CODEWORDS = (0xEC, 0x11)


class _Blocks(NamedTuple):  # segno's consts.EC
    num_blocks: int
    num_total: int
    num_data: int


# segno's tables, typed: data bits per version and error level, and the error correction
# blocks of each (ISO/IEC 18004 tables 7 and 9).
_CAPACITY = cast("dict[int, dict[int, int]]", consts.SYMBOL_CAPACITY)
_ECC = cast("dict[int, dict[int, tuple[_Blocks, ...]]]", consts.ECC)


def _galois_tables() -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Powers of 2 (twice over, so that sums of logarithms need no modulo) and logarithms
    in GF(256) with the QR code's polynomial x^8 + x^4 + x^3 + x^2 + 1."""
    powers, logs = [0] * 510, [0] * 256
    value = 1
    for power in range(255):
        powers[power] = powers[power + 255] = value
        logs[value] = power
        value <<= 1
        if value & 0x100:
            value ^= 0x11D
    return tuple(powers), tuple(logs)


_EXP, _LOG = _galois_tables()


def _multiply(a: int, b: int) -> int:
    return 0 if a == 0 or b == 0 else _EXP[_LOG[a] + _LOG[b]]


@cache
def _remainder_table(count: int) -> tuple[int, ...]:
    """For each byte f, f times the generator polynomial of `count` error codewords (its
    leading 1 left out), as one integer: one division step is then a shift and an XOR."""
    generator = [1]
    for power in range(count):
        # Multiply by (x - a^power); minus is plus in GF(256).
        generator = [
            (generator[k] if k < len(generator) else 0)
            ^ (_multiply(generator[k - 1], _EXP[power]) if k > 0 else 0)
            for k in range(len(generator) + 1)
        ]
    tail = generator[1:]
    return tuple(int.from_bytes(bytes(_multiply(g, f) for g in tail), "big") for f in range(256))


def _error_codewords(block: bytes, count: int) -> bytes:
    """The Reed-Solomon codewords of `block`: the remainder of its division by the
    generator, one data byte at a time (a linear feedback shift register on an int)."""
    table = _remainder_table(count)
    shift = 8 * (count - 1)
    full = (1 << (8 * count)) - 1
    remainder = 0
    for byte in block:
        remainder = ((remainder << 8) & full) ^ table[byte ^ (remainder >> shift)]
    return remainder.to_bytes(count, "big")


@dataclass(frozen=True, slots=True)
class _Symbol:
    """What every code of one version, error level and mask has in common."""

    size: int
    blocks: tuple[tuple[int, int], ...]  # (first data codeword, count) of each block
    error_count: int  # error codewords per block
    interleave: itemgetter  # (data + error codewords, block after block) -> final order
    remainder: int  # bits after the last codeword (zero, then masked)
    bits: int  # data modules
    mask: int  # the mask over the data modules, in placement order
    gather: itemgetter  # bits + "01" -> the matrix, rows of size + 1 (the last is "0")


def _function_patterns(version: int, size: int) -> list[list[int | None]]:
    """Finder, separator, timing and alignment patterns; None where data goes and 0 where
    format and version information go (filled in by `_symbol`)."""
    grid: list[list[int | None]] = [[None] * size for _ in range(size)]
    for top, left in ((0, 0), (0, size - 7), (size - 7, 0)):
        for r, c in product(range(-1, 8), repeat=2):
            row, col = top + r, left + c
            if 0 <= row < size and 0 <= col < size:
                ring = max(abs(r - 3), abs(c - 3))
                grid[row][col] = int(ring != 2 and ring != 4)
    if version >= 2:
        positions = consts.ALIGNMENT_POS[version - 2]
        corners = {
            (positions[0], positions[0]),
            (positions[0], positions[-1]),
            (positions[-1], positions[0]),
        }
        for centre in product(positions, repeat=2):
            if centre in corners:
                continue
            for r, c in product(range(-2, 3), repeat=2):
                grid[centre[0] + r][centre[1] + c] = int(max(abs(r), abs(c)) != 1)
    for i in range(9):
        grid[i][8] = grid[8][i] = 0
    for i in range(1, 9):
        grid[size - i][8] = grid[8][size - i] = 0
    if version >= 7:
        for i in range(6):
            for k in range(3):
                grid[size - 11 + k][i] = grid[i][size - 11 + k] = 0
    # The timing patterns cross the reserved column and row 8 at (6, 8) and (8, 6).
    for i in range(8, size - 8):
        grid[6][i] = grid[i][6] = int(i % 2 == 0)
    return grid


def _add_information(grid: list[list[int | None]], version: int, error: int, mask: int) -> None:
    """Format information (error level and mask) and version information, as segno
    places them (ISO/IEC 18004 7.9 and 7.10)."""
    size = len(grid)
    fmt = consts.FORMAT_INFO[mask + _FORMAT_OFFSET[error]]
    for i in range(8):
        low, high = (fmt >> i) & 1, (fmt >> (14 - i)) & 1
        skip = int(i >= 6)  # the timing pattern's row and column
        grid[i + skip][8] = low
        grid[8][i + skip] = high
        grid[8][size - 1 - i] = low
        grid[size - 1 - i][8] = high
    grid[size - 8][8] = 1  # the dark module
    if version >= 7:
        info = consts.VERSION_INFO[version - 7]
        for i in range(6):
            for k in range(3):
                bit = (info >> (3 * i + k)) & 1
                grid[size - 11 + k][i] = grid[i][size - 11 + k] = bit


def _placement(grid: list[list[int | None]]) -> list[tuple[int, int]]:
    """The data modules in the order codeword bits fill them: two-module columns from the
    right, alternately upwards and downwards, skipping the vertical timing pattern."""
    size = len(grid)
    order: list[tuple[int, int]] = []
    right = size - 1
    upwards = True
    while right > 0:
        if right == 6:
            right = 5
        rows = range(size - 1, -1, -1) if upwards else range(size)
        for row in rows:
            for col in (right, right - 1):
                if grid[row][col] is None:
                    order.append((row, col))
        upwards = not upwards
        right -= 2
    return order


_MASKS = (
    lambda i, j: (i + j) % 2 == 0,
    lambda i, j: i % 2 == 0,
    lambda i, j: j % 3 == 0,
    lambda i, j: (i + j) % 3 == 0,
    lambda i, j: (i // 2 + j // 3) % 2 == 0,
    lambda i, j: (i * j) % 2 + (i * j) % 3 == 0,
    lambda i, j: ((i * j) % 2 + (i * j) % 3) % 2 == 0,
    lambda i, j: ((i + j) % 2 + (i * j) % 3) % 2 == 0,
)

_lock = threading.Lock()


def _symbol(version: int, error: int, mask: int) -> _Symbol:
    with _lock:
        return _symbol_cached(version, error, mask)


@lru_cache(maxsize=64)
def _symbol_cached(version: int, error: int, mask: int) -> _Symbol:
    size = 17 + 4 * version
    grid = _function_patterns(version, size)
    order = _placement(grid)
    _add_information(grid, version, error, mask)
    bits = len(order)
    index = {cell: n for n, cell in enumerate(order)}
    dark, light = bits + 1, bits  # where "1" and "0" sit after the bits
    gather: list[int] = []
    for row in range(size):
        for col in range(size):
            value = grid[row][col]
            gather.append(index[row, col] if value is None else (dark if value else light))
        gather.append(light)
    masked = 0
    for row, col in order:
        masked = (masked << 1) | int(_MASKS[mask](row, col))
    blocks: list[tuple[int, int]] = []
    start = 0
    ec_infos = _ECC[version][error]
    for info in ec_infos:
        for _ in range(info.num_blocks):
            blocks.append((start, info.num_data))
            start += info.num_data
    error_count = ec_infos[0].num_total - ec_infos[0].num_data
    # Interleaving: the i-th data codeword of each block in turn, then the error codewords.
    final = [first + i for i in range(max(n for _, n in blocks)) for first, n in blocks if i < n]
    final += [start + b * error_count + i for i in range(error_count) for b in range(len(blocks))]
    return _Symbol(
        size=size,
        blocks=tuple(blocks),
        error_count=error_count,
        interleave=itemgetter(*final),
        remainder=bits - 8 * len(final),
        bits=bits,
        mask=masked,
        gather=itemgetter(*gather),
    )


def _byte_mode_data(data: str) -> bytes | None:
    """The bytes segno encodes `data` as, when it chooses byte mode; None otherwise."""
    for encoding in (consts.DEFAULT_BYTE_ENCODING, consts.KANJI_ENCODING, "utf-8"):
        try:
            raw = data.encode(encoding)
            break
        except UnicodeError:
            continue
    else:
        return None  # not even UTF-8 (a lone surrogate): segno says why
    if not raw or raw.isdigit() or _ALPHANUMERIC.fullmatch(raw) or _is_kanji(raw):
        return None
    return raw


def _is_kanji(raw: bytes) -> bool:
    if len(raw) % 2:
        return False
    return all(
        0x8140 <= code <= 0x9FFC or 0xE040 <= code <= 0xEBBF
        for code in (raw[i] << 8 | raw[i + 1] for i in range(0, len(raw), 2))
    )


def _version(length: int) -> tuple[int, int] | None:
    """The smallest version that holds `length` bytes at level M, and the error level
    segno raises it to within that version."""
    for version in range(1, 41):
        needed = 4 + (8 if version < 10 else 16) + 8 * length
        capacity = _CAPACITY[version]
        if capacity[_ERROR_M] >= needed:
            error = _ERROR_M
            for level in _BOOSTS:
                if capacity[level] < needed:
                    break
                error = level
            return version, error
    return None


def qr_matrix(data: str, *, mask: int) -> tuple[int, str] | None:
    """The QR code of `data` as (modules per side, its rows of "0" and "1", each followed
    by one "0") with error level M (raised as far as the version allows, as segno does)
    and the given mask; None for data segno would not encode in byte mode."""
    raw = _byte_mode_data(data)
    if raw is None:
        return None
    found = _version(len(raw))
    if found is None:
        return None
    version, error = found
    symbol = _symbol(version, error, mask)
    count_bits = 8 if version < 10 else 16
    capacity = _CAPACITY[version][error]
    # Mode, count, data and the terminator; then, as segno writes it, 8 - length % 8
    # zero bits (a whole zero byte when the stream already ends on a byte), then pad
    # codewords; the data codewords are the first capacity / 8 bytes of that.
    length = 4 + count_bits + 8 * len(raw)
    stream = (0b0100 << count_bits | len(raw)) << 8 * len(raw) | int.from_bytes(raw, "big")
    terminator = min(capacity - length, 4)
    length += terminator
    padding = 8 - length % 8
    stream <<= terminator + padding
    length += padding
    codewords = stream.to_bytes(length // 8, "big")
    wanted = capacity // 8
    pads = wanted - len(codewords)
    if pads > 0:
        codewords += bytes(_PAD_CODEWORDS * (pads // 2 + 1))[:pads]
    codewords = codewords[:wanted]
    errors = b"".join(
        _error_codewords(codewords[first : first + n], symbol.error_count)
        for first, n in symbol.blocks
    )
    final = bytes(symbol.interleave(codewords + errors))
    bits = (int.from_bytes(final, "big") << symbol.remainder) ^ symbol.mask
    source = f"{bits:0{symbol.bits}b}01"
    return symbol.size, "".join(symbol.gather(source))


def qr_path(data: str, *, mask: int) -> tuple[int, str] | None:
    """The QR code of `data` (as `qr_matrix`) as (modules per side, a PDF path of one
    `column row length 1 re` per run of dark modules, in modules, rows downwards)."""
    drawn = qr_matrix(data, mask=mask)
    if drawn is None:
        return None
    size, matrix = drawn
    return size, "".join(chain.from_iterable(_runs(size, int(matrix, 2))))


def _runs(size: int, dark: int) -> zip[tuple[str, str]]:
    """("column row ", "length 1 re ") of each run of dark modules in `dark` (the matrix
    as `qr_matrix` lays it out, read as one binary number). A run starts where a module
    differs from the one before it and is dark, and ends where it differs and is light:
    both are found for the whole matrix at once with integer operations, and the pieces
    of text are chosen from tables by `compress`, without a Python step per run."""
    starts_at, columns, lengths, count = _run_tables(size)
    changes = dark ^ (dark >> 1)
    starts = f"{changes & dark:0{count}b}".encode().translate(_AS_BYTES)
    ends = f"{changes & ~dark:0{count}b}".encode().translate(_AS_BYTES)
    widths = map(sub, compress(columns, ends), compress(columns, starts))
    return zip(compress(starts_at, starts), map(lengths.__getitem__, widths), strict=True)


_AS_BYTES = bytes.maketrans(b"01", b"\x00\x01")  # "0"/"1" to false/true for compress


@lru_cache(maxsize=8)
def _run_tables(size: int) -> tuple[tuple[str, ...], tuple[int, ...], tuple[str, ...], int]:
    stride = size + 1
    count = size * stride
    return (
        tuple(f"{i % stride} {i // stride} " for i in range(count)),
        tuple(i % stride for i in range(count)),
        tuple(f"{n} 1 re " for n in range(stride + 1)),
        count,
    )
