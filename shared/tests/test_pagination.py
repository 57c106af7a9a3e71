import pytest

from marfiq_shared.pagination import InvalidCursor, decode_cursor, encode_cursor


def test_cursor_round_trip() -> None:
    position = {"created_at": "2026-11-25T10:00:00+00:00", "id": "a1"}
    assert decode_cursor(encode_cursor(position)) == position


@pytest.mark.parametrize("garbage", ["!!!", "bm90IGpzb24", "WzEsMl0", "%%%"])
def test_tampered_cursor_is_a_client_error(garbage: str) -> None:
    with pytest.raises(InvalidCursor):
        decode_cursor(garbage)
