"""Our QR encoder draws the modules segno draws, for any address (its speed is measured
once, in the commit that brought it: a timed assertion has no place in CI)."""

from __future__ import annotations

import random

import pytest
import segno

from marfiq_shared.documents.layout import qr_runs
from marfiq_shared.documents.qr import qr_matrix, qr_path

# Lower case, digits, URL punctuation, Latin-1 letters (é, ç), letters Shift JIS holds
# (Ω, д) and ones only UTF-8 holds (€, Arabic): segno encodes data as ISO-8859-1, else
# as Shift JIS, else as UTF-8.
CHARACTERS = "abcdefghijklmnopqrstuvwxyz0123456789-_/:.?=&%#ABCDEFGHJKMNPQRSTVWXYZéçàüΩд€وزارة"


def segno_rows(data: str, mask: int) -> str:
    """segno's matrix laid out as `qr_matrix` lays it out: rows of "0"/"1", each + "0"."""
    matrix = segno.make(data, error="m", micro=False, mask=mask).matrix
    return "".join("".join(map(str, row)) + "0" for row in matrix)


def random_address(length: int, rng: random.Random) -> str:
    return "https://" + "".join(rng.choice(CHARACTERS) for _ in range(length))


def test_the_matrix_is_segnos_for_addresses_of_every_length_and_every_mask() -> None:
    rng = random.Random(20261202)
    # Every length up to 160 (versions 1 to 9, each error level boost) then longer ones
    # reaching versions with version information, 16-bit counts and the largest symbol.
    lengths = [*range(1, 161), 200, 271, 330, 480, 700, 1000, 1400]
    for length in lengths:
        for mask in {4, length % 8}:
            data = random_address(length, rng)[:length]
            drawn = qr_matrix(data, mask=mask)
            assert drawn is not None, data
            size, rows = drawn
            assert size == len(segno.make(data, error="m", micro=False, mask=mask).matrix)
            assert rows == segno_rows(data, mask), (length, mask, data)


@pytest.mark.parametrize(
    "data",
    [
        "https://exemple.ma/réponse",
        "https://пример.рф/документ",
        "https://وزارة.ma/€",
        "https://marfiq.example/v1/documents/7K3M-Q9XT-2BDR",
    ],
    ids=["iso-8859-1", "shift_jis", "utf-8", "ascii"],
)
def test_each_byte_encoding_segno_chooses_gives_segnos_matrix(data: str) -> None:
    for mask in range(8):
        assert qr_matrix(data, mask=mask) == (
            len(segno.make(data, error="m", micro=False, mask=mask).matrix),
            segno_rows(data, mask),
        )


def test_the_largest_symbol_is_segnos() -> None:
    data = "https://" + "a" * 2323  # 2,331 bytes: all that version 40 holds at level M

    assert qr_matrix(data, mask=4) == (177, segno_rows(data, 4))


def test_the_verification_addresses_the_services_print_are_segnos() -> None:
    rng = random.Random(7)
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    for base in ("http://127.0.0.1:8000", "https://marfiq.example", "https://bo.marfiq.gov.ma"):
        for _ in range(50):
            code = "-".join("".join(rng.choice(alphabet) for _ in range(4)) for _ in range(3))
            url = f"{base}/v1/documents/{code}"
            assert qr_matrix(url, mask=4) == (
                len(segno.make(url, error="m", micro=False, mask=4).matrix),
                segno_rows(url, 4),
            )


@pytest.mark.parametrize(
    "data",
    ["12345678", "HTTPS://MARFIQ.EXAMPLE/V1/DOCUMENTS/7K3M", "", "x" * 3000, "https://x/\udc80"],
    ids=["numeric", "alphanumeric", "empty", "too long for a QR code", "not even UTF-8"],
)
def test_what_segno_would_not_encode_in_byte_mode_is_left_to_segno(data: str) -> None:
    assert qr_matrix(data, mask=4) is None
    assert qr_path(data, mask=4) is None


def test_the_path_has_one_rectangle_per_run_of_dark_modules() -> None:
    rng = random.Random(11)
    for length in (5, 40, 49, 120, 400):
        data = random_address(length, rng)
        modules, runs = qr_runs(data, mask=4)
        expected = "".join(f"{start} {row} {count} 1 re " for row, start, count in runs)

        assert qr_path(data, mask=4) == (modules, expected)
