"""Tracking numbers and search folding, without a database."""

from __future__ import annotations

import pytest

from marfiq_complaints.complaints import search, tracking


def test_tracking_numbers_are_random_well_formed_and_self_checking() -> None:
    numbers = {tracking.new_tracking_number(2026) for _ in range(2_000)}

    assert len(numbers) == 2_000
    for number in numbers:
        assert tracking.normalise(number) == number
        assert number.startswith("PLT-2026-")
        assert len(number) == len("PLT-2026-XXXXX-XXXXX")


def test_reading_a_number_forgives_case_spaces_and_lookalikes() -> None:
    number = "PLT-2026-" + "0A1B2-C3D4"
    valid = number + tracking.check_character("2026" + "0A1B2C3D4")

    spoken = valid.lower().replace("-", " ").replace("0", "o")

    assert tracking.normalise(spoken[:-1] + spoken[-1]) == valid


def test_every_single_mistyped_character_is_caught() -> None:
    number = tracking.new_tracking_number(2026)
    body = number.replace("-", "")[3:]
    for position in range(len(body)):
        for replacement in tracking.ALPHABET:
            if replacement == body[position]:
                continue
            typo = body[:position] + replacement + body[position + 1 :]
            assert tracking.normalise("PLT" + typo) is None


@pytest.mark.parametrize(
    ("query", "terms"),
    [
        ("Réclamation ÉLECTRICITÉ", ["reclamation", "electricite"]),
        ("الشكاية بالمستشفى", ["شكايه", "مستشفي"]),
        ("والي الأمن", ["والي", "امن"]),
        ("a & b | !c", ["a", "b", "c"]),
        ("", []),
    ],
)
def test_queries_are_folded_like_the_index(query: str, terms: list[str]) -> None:
    assert search.query_terms(query) == terms


def test_a_tsquery_has_only_words_and_prefix_marks() -> None:
    assert search.to_tsquery_text("eau' || 1=1 --") == "eau:* & 1:* & 1:*"
    assert search.to_tsquery_text("!!!") is None
