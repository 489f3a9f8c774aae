"""Contact facts (domain/contact.py): mobiles normalised to E.164 so one person typed two ways is
one customer, national IDs (身份证) checked by date and check digit, and both masked for display."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marque_crm.domain.contact import (
    birthday_of,
    check_national_id,
    mask_mobile,
    mask_national_id,
    normalise_mobile,
    with_id_check_digit,
)
from marque_kit.errors import InvalidInput

VALID_ID = "11010519491231002X"  # the example of GB 11643, check character X


@pytest.mark.parametrize(
    "typed",
    [
        "13800138000",
        "138 0013 8000",
        "138-0013-8000",
        "+86 138 0013 8000",
        "+8613800138000",
        "8613800138000",
        "0086 138 0013 8000",
        "0086-13800138000",
        "(+86) 138.0013.8000",
        "  13800138000  ",
    ],
)
def test_every_way_of_typing_a_chinese_mobile_gives_one_e164_number(typed: str) -> None:
    assert normalise_mobile(typed) == "+8613800138000"


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("+1 415 555 2671", "+14155552671"),
        ("+852 9123 4567", "+85291234567"),
        ("0044 7911 123456", "+447911123456"),
    ],
)
def test_foreign_numbers_with_their_country_code_are_kept_in_e164(typed: str, e164: str) -> None:
    assert normalise_mobile(typed) == e164


@pytest.mark.parametrize(
    ("typed", "rule", "words"),
    [
        ("", "required", "required"),
        ("12800138000", "mobile_format", "11 digits starting 13-19"),
        ("1380013800", "mobile_format", "11 digits starting 13-19"),
        ("010-6552 9988", "mobile_format", "country code"),
        ("+86 10 6552 9988", "mobile_format", "Chinese number but not a mobile"),
        ("+44 123", "mobile_invalid", "not a valid phone number"),
        ("+999 1234567", "mobile_invalid", "not a valid phone number"),
    ],
)
def test_malformed_mobiles_and_landlines_are_refused_with_the_reason(
    typed: str, rule: str, words: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        normalise_mobile(typed)
    assert words in refused.value.detail
    assert refused.value.errors == [{"field": "mobile", "rule": rule}]


def test_the_field_named_in_the_error_is_the_callers() -> None:
    with pytest.raises(InvalidInput) as refused:
        normalise_mobile("123", field="q")
    assert refused.value.errors == [{"field": "q", "rule": "mobile_format"}]


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
def test_any_chinese_mobile_survives_prefix_and_spacing(national: str) -> None:
    spaced = f"{national[:3]} {national[3:7]} {national[7:]}"
    assert normalise_mobile(spaced) == normalise_mobile("0086" + national) == "+86" + national


def test_mobiles_are_masked_to_the_first_three_and_last_four_digits() -> None:
    assert mask_mobile("+8613800138000") == "+86 138****8000"
    masked = mask_mobile("+14155552671")
    assert masked.startswith("+14") and masked.endswith("2671") and "555" not in masked


def test_a_valid_national_id_is_accepted_and_upper_cased() -> None:
    assert check_national_id(VALID_ID) == VALID_ID
    assert check_national_id(VALID_ID.lower()) == VALID_ID
    assert check_national_id(f"  {VALID_ID} ") == VALID_ID
    assert birthday_of(VALID_ID) == date(1949, 12, 31)


def test_a_wrong_check_digit_is_refused_with_the_expected_one() -> None:
    wrong = VALID_ID[:17] + "5"
    with pytest.raises(InvalidInput) as refused:
        check_national_id(wrong)
    assert refused.value.errors == [{"field": "national_id", "rule": "id_checksum"}]
    assert "expected X" in refused.value.detail
    assert wrong not in refused.value.detail  # the message masks the number it quotes


@pytest.mark.parametrize("birth", ["19490230", "18991231", "20261399"])
def test_an_id_whose_birth_date_is_not_a_date_is_refused(birth: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_national_id(with_id_check_digit("110105" + birth + "002"))
    assert refused.value.errors == [{"field": "national_id", "rule": "id_birth_date"}]


@pytest.mark.parametrize(
    "typed", ["", "1101051949123100", "11010519491231002Y", "X1010519491231002"]
)
def test_an_id_of_the_wrong_shape_is_refused(typed: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_national_id(typed)
    assert refused.value.errors == [{"field": "national_id", "rule": "id_format"}]


@given(
    st.dates(min_value=date(1900, 1, 1), max_value=date(2025, 12, 31)),
    st.from_regex(r"[0-9]{3}", fullmatch=True),
)
def test_every_computed_check_digit_passes_and_any_other_fails(born: date, seq: str) -> None:
    full = with_id_check_digit("310101" + born.strftime("%Y%m%d") + seq)
    assert check_national_id(full) == full
    other = "0" if full[17] != "0" else "1"
    with pytest.raises(InvalidInput):
        check_national_id(full[:17] + other)


def test_national_ids_are_masked_to_region_and_last_four() -> None:
    assert mask_national_id(VALID_ID) == "1101**********002X"
    assert mask_national_id("123") == "***"
