"""The MRZ of DG1: ICAO 9303 specimens, the Moroccan CNIE, and what is refused."""

from __future__ import annotations

from datetime import date

import pytest

from marfiq_identity.eid.errors import EidMalformed
from marfiq_identity.eid.lds import wrap
from marfiq_identity.eid.mrz import check_digit, read_dg1
from marfiq_identity.eid.testing import make_dg1, td1_mrz, td3_mrz

TODAY = date(2026, 1, 15)
# ICAO 9303 part 5 and part 4 specimens.
ICAO_TD1 = (
    "I<UTOD231458907<<<<<<<<<<<<<<<7408122F1204159UTO<<<<<<<<<<<6ERIKSSON<<ANNA<MARIA<<<<<<<<<<"
)
ICAO_TD3 = (
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<L898902C36UTO7408122F1204159ZE184226B<<<<<10"
)


def test_icao_td1_specimen_reads_field_by_field() -> None:
    mrz = read_dg1(make_dg1(ICAO_TD1), today=TODAY)

    assert mrz.document_code == "I"
    assert (mrz.issuing_state, mrz.nationality) == ("UTO", "UTO")
    assert mrz.document_number == "D23145890"
    assert (mrz.surname, mrz.given_names) == ("ERIKSSON", "ANNA MARIA")
    assert mrz.birth_date == date(1974, 8, 12)
    assert mrz.sex == "F"
    assert mrz.expiry == date(2012, 4, 15)
    assert mrz.cin is None  # not a Moroccan document


def test_icao_td3_specimen_reads_field_by_field() -> None:
    mrz = read_dg1(make_dg1(ICAO_TD3), today=TODAY)

    assert (mrz.document_code, mrz.document_number) == ("P", "L898902C3")
    assert (mrz.surname, mrz.given_names) == ("ERIKSSON", "ANNA MARIA")
    assert mrz.birth_date == date(1974, 8, 12)
    assert mrz.expiry == date(2012, 4, 15)


def test_moroccan_cnie_gives_the_cin_from_line_one() -> None:
    mrz = read_dg1(
        make_dg1(td1_mrz(cin="JC45021", document_number="ZK0012345", expiry=date(2031, 3, 9))),
        today=TODAY,
    )

    assert mrz.cin == "JC45021"
    assert mrz.document_number == "ZK0012345"
    assert mrz.expiry == date(2031, 3, 9)


def test_moroccan_optional_data_that_is_no_cin_gives_none() -> None:
    mrz = read_dg1(make_dg1(td1_mrz(cin="123<<ABC")), today=TODAY)

    assert mrz.cin is None


def test_document_number_longer_than_nine_continues_in_optional_data() -> None:
    number = "D23145890AB"
    line1 = "I<UTO" + number[:9] + "<" + number[9:] + check_digit(number) + "<" * 12
    line2 = "7408122F1204159UTO<<<<<<<<<<<"
    line2 += check_digit(line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29])

    mrz = read_dg1(make_dg1(line1 + line2 + "ERIKSSON<<ANNA" + "<" * 16), today=TODAY)

    assert mrz.document_number == number


def test_two_digit_birth_years_fall_in_the_past() -> None:
    recent = read_dg1(make_dg1(td1_mrz(birth_date=date(2020, 2, 29))), today=TODAY)
    old = read_dg1(make_dg1(td1_mrz(birth_date=date(1930, 2, 1))), today=TODAY)

    assert recent.birth_date == date(2020, 2, 29)
    assert old.birth_date == date(1930, 2, 1)


def test_unknown_birth_day_reads_as_none() -> None:
    line2 = "7408<<" + check_digit("7408<<") + ICAO_TD1[37:59]
    line1 = ICAO_TD1[:30]
    line2 += check_digit(line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29])

    assert read_dg1(make_dg1(line1 + line2 + ICAO_TD1[60:]), today=TODAY).birth_date is None


def test_passport_without_personal_number_has_no_cin() -> None:
    assert read_dg1(make_dg1(td3_mrz()), today=TODAY).cin is None


@pytest.mark.parametrize("position", [14, 36, 44, 59])
def test_wrong_check_digit_is_refused(position: int) -> None:
    text = list(ICAO_TD1)
    text[position] = str((int(text[position]) + 1) % 10)

    with pytest.raises(EidMalformed):
        read_dg1(make_dg1("".join(text)), today=TODAY)


def test_altered_field_breaks_its_check_digit() -> None:
    with pytest.raises(EidMalformed):
        read_dg1(make_dg1(ICAO_TD1.replace("D23145890", "D23145891")), today=TODAY)


@pytest.mark.parametrize(
    "text",
    [
        ICAO_TD1[:-1],  # neither TD1 nor TD3
        ICAO_TD1.lower(),
        ICAO_TD1[:60] + "ÉRIKSSON<<ANNA<MARIA<<<<<<<<<<",
        "",
    ],
)
def test_mrz_that_is_not_icao_text_is_refused(text: str) -> None:
    with pytest.raises(EidMalformed):
        read_dg1(wrap(0x61, wrap(0x5F1F, text.encode())), today=TODAY)


def test_impossible_date_is_refused() -> None:
    line2 = "740230" + check_digit("740230") + ICAO_TD1[37:59]
    line1 = ICAO_TD1[:30]
    line2 += check_digit(line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29])

    with pytest.raises(EidMalformed):
        read_dg1(make_dg1(line1 + line2 + ICAO_TD1[60:]), today=TODAY)


def test_dg1_with_the_wrong_tag_is_refused() -> None:
    with pytest.raises(EidMalformed):
        read_dg1(wrap(0x62, wrap(0x5F1F, ICAO_TD1.encode())), today=TODAY)
