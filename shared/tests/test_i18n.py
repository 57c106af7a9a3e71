import pytest

from marfiq_shared.i18n import negotiate_language, register_messages, translate


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "fr"),
        ("", "fr"),
        ("ar", "ar"),
        ("ar-MA,fr;q=0.8", "ar"),
        ("de-DE,en;q=0.5,fr;q=0.7", "fr"),
        ("en-GB", "en"),
        ("es,de", "fr"),
        ("fr;q=0,en;q=0.1", "en"),
        ("ar;q=abc,en", "en"),
    ],
)
def test_language_negotiation(header: str | None, expected: str) -> None:
    assert negotiate_language(header) == expected


def test_a_message_needs_all_three_languages() -> None:
    with pytest.raises(ValueError, match="lacks"):
        register_messages({"x-only-french": {"fr": "x"}})


def test_registered_message_is_translated() -> None:
    register_messages({"x-sample": {"ar": "عينة", "fr": "échantillon", "en": "sample"}})
    assert translate("x-sample", "ar") == "عينة"
    assert translate("x-sample", "en") == "sample"
