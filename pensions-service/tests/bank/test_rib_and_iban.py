"""Moroccan RIB control key, MA IBAN check digits, and the conversions between them."""

import pytest

from marfiq_pensions.bank import (
    ForeignIban,
    InvalidIban,
    InvalidRib,
    Rib,
    iban_to_rib,
    parse_iban,
    parse_rib,
    rib_key,
    rib_to_iban,
)
from marfiq_shared.i18n import translate
from marfiq_shared.problems import ValidationFailed, problem_response

# The Moroccan example of the IBAN registries: MA64 0115 1900 0001 2050 0053 4921.
PUBLISHED_IBAN = "MA64011519000001205000534921"
PUBLISHED_RIB = "011519000001205000534921"


def test_the_key_makes_the_24_digits_divisible_by_97() -> None:
    # 22 digits 0077800001234567890123, reduced mod 97 nine digits at a time:
    #   7,780,000 mod 97 = 18 ; 18,123,456,789 mod 97 = 69 ; 690,123 mod 97 = 65
    #   x 100: 6,500 mod 97 = 6,500 - 67 x 97 = 1 ; key = 97 - 1 = 96
    assert rib_key("0077800001234567890123") == "96"
    assert int("007780000123456789012396") % 97 == 0


def test_a_valid_rib_is_split_into_its_parts() -> None:
    rib = parse_rib("007780000123456789012396")
    assert rib == Rib(bank="007", city="780", account="0001234567890123", key="96")
    assert str(rib) == "007780000123456789012396"


def test_the_published_rib_has_a_valid_key() -> None:
    # 0115190000012050005349: mod 97 -> 56, 30, 90 by chunks ; x 100 = 9,000 mod 97 = 76
    # key = 97 - 76 = 21, the last two digits of the published RIB
    assert parse_rib(PUBLISHED_RIB).key == "21"


def test_a_zero_remainder_gives_the_key_97() -> None:
    # 0077800001234567890058 = 97 x 802,061,868,397,607,114 -> remainder 0 ; key 97 - 0 = 97
    assert str(parse_rib("007780000123456789005897")).endswith("97")


def test_spaces_are_tolerated_in_a_rib() -> None:
    assert str(parse_rib(" 007 780 0001234567890123 96 ")) == "007780000123456789012396"


@pytest.mark.parametrize(
    "value",
    [
        "007780000123456789012397",  # wrong key
        "007780000123456789005800",  # divisible by 97, but a zero remainder's key is 97
        "00778000012345678901239",  # 23 digits
        "0077800001234567890123960",  # 25 digits
        "00778000012345678901A396",  # a letter
        "٠٠٧٧٨٠٠٠٠١٢٣٤٥٦٧٨٩٠١٢٣٩٦",  # Arabic-Indic digits are not bank digits
        "",
    ],
)
def test_an_invalid_rib_is_refused(value: str) -> None:
    with pytest.raises(InvalidRib):
        parse_rib(value)


def test_a_valid_moroccan_iban_gives_its_rib() -> None:
    assert str(parse_iban(PUBLISHED_IBAN)) == PUBLISHED_RIB


def test_spaces_and_lower_case_are_tolerated_in_an_iban() -> None:
    assert str(parse_iban("ma64 0115 1900 0001 2050 0053 4921")) == PUBLISHED_RIB


def test_wrong_check_digits_are_refused() -> None:
    with pytest.raises(InvalidIban, match="check digits"):
        parse_iban("MA65011519000001205000534921")


def test_a_valid_iban_hiding_a_rib_with_a_wrong_key_is_refused() -> None:
    iban = Rib("011", "519", "0000012050005349", "22").iban  # right IBAN digits, wrong key
    with pytest.raises(InvalidIban, match="control key"):
        parse_iban(iban)


def test_a_french_iban_is_refused_as_foreign() -> None:
    with pytest.raises(ForeignIban) as refused:
        parse_iban("FR14 2004 1010 0505 0001 3M02 606")
    assert refused.value.extensions == {"country": "FR"}


@pytest.mark.parametrize(
    "value", ["MA6401151900000120500053492", "MA64011519000001205000534921X", "12345", "MA"]
)
def test_a_malformed_iban_is_refused(value: str) -> None:
    with pytest.raises(InvalidIban):
        parse_iban(value)


def test_rib_and_iban_convert_both_ways() -> None:
    # "MA" -> 22 10 ; 011519000001205000534921 221000 mod 97 = 34 ; 98 - 34 = 64
    assert rib_to_iban(PUBLISHED_RIB) == PUBLISHED_IBAN
    assert iban_to_rib(PUBLISHED_IBAN) == PUBLISHED_RIB
    assert rib_to_iban(parse_rib("007780000123456789012396")) == "MA64007780000123456789012396"


def test_an_invalid_rib_is_not_converted() -> None:
    with pytest.raises(InvalidRib):
        rib_to_iban("007780000123456789012397")


@pytest.mark.parametrize("error", [InvalidRib, InvalidIban, ForeignIban])
def test_bank_errors_are_validation_problems_titled_in_three_languages(
    error: type[ValidationFailed],
) -> None:
    assert issubclass(error, ValidationFailed)
    titles = {translate(error.code, language) for language in ("ar", "fr", "en")}
    assert len(titles) == 3
    response = problem_response(error.status, error.code)
    assert response.status_code == 422
    assert f'"type":"https://marfiq.ma/problems/{error.code}"'.encode() in response.body
