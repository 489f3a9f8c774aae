"""VIN rules: ISO 3779 length, alphabet and the position-9 check digit."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marque_inventory.domain.errors import InvalidVin
from marque_inventory.domain.vin import (
    ALLOWED_CHARACTERS,
    TRANSLITERATION,
    check_digit,
    normalize_vin,
    validate_vin,
    with_check_digit,
)
from marque_kit.errors import InvalidInput

ALPHABET = "".join(sorted(ALLOWED_CHARACTERS))
stems = st.text(alphabet=ALPHABET, min_size=16, max_size=16)


@pytest.mark.parametrize(
    "vin",
    [
        "1M8GDM9AXKP042788",  # the textbook example, check digit X
        "1HGCM82633A004352",  # a Honda Accord
        "LSVAU218XN2183294",  # a Chinese (SAIC-VW) pattern with its correct check digit
    ],
)
def test_real_vins_pass(vin: str) -> None:
    assert validate_vin(vin) == vin


def test_vin_is_normalized_before_checking() -> None:
    assert normalize_vin("  1m8gdm9axkp042788\n") == "1M8GDM9AXKP042788"
    assert validate_vin(" 1m8gdm9axkp042788 ") == "1M8GDM9AXKP042788"


def test_mistyped_check_digit_names_expected_and_actual() -> None:
    # LSVAU2180N2183294 is often quoted as a sample, but its check digit should be X.
    with pytest.raises(InvalidVin) as caught:
        validate_vin("LSVAU2180N2183294")
    assert "check digit in position 9 should be 'X' but is '0'" in caught.value.detail
    assert caught.value.errors == [
        {"field": "vin", "rule": "check_digit", "position": 9, "expected": "X", "actual": "0"}
    ]


@pytest.mark.parametrize("vin", ["1M8GDM9AXKP04278", "1M8GDM9AXKP0427888", ""])
def test_wrong_length_is_refused(vin: str) -> None:
    with pytest.raises(InvalidVin) as caught:
        validate_vin(vin)
    assert caught.value.errors is not None
    assert caught.value.errors[0]["rule"] == "length"
    assert "exactly 17" in caught.value.detail


@pytest.mark.parametrize(
    ("vin", "letter", "position"),
    [("IM8GDM9AXKP042788", "I", 1), ("1M8GDO9AXKP042788", "O", 6), ("1M8GDM9AXKP04278Q", "Q", 17)],
)
def test_letters_i_o_q_are_refused_with_their_position(
    vin: str, letter: str, position: int
) -> None:
    with pytest.raises(InvalidVin) as caught:
        validate_vin(vin)
    assert caught.value.errors == [
        {"field": "vin", "rule": "forbidden_letter", "position": position}
    ]
    assert f"letter {letter} in position {position}" in caught.value.detail


@pytest.mark.parametrize(("vin", "position"), [("1M8GDM9AXKP04278-", 17), ("1M8 DM9AXKP042788", 4)])
def test_illegal_characters_are_refused_with_their_position(vin: str, position: int) -> None:
    with pytest.raises(InvalidVin) as caught:
        validate_vin(vin)
    assert caught.value.errors == [
        {"field": "vin", "rule": "illegal_character", "position": position}
    ]


def test_invalid_vin_is_an_invalid_input_422() -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_vin("123")
    assert caught.value.http_status == 422


def test_transliteration_follows_the_standard() -> None:
    assert [TRANSLITERATION[c] for c in "ABCDEFGH"] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert [TRANSLITERATION[c] for c in "JKLMN"] == [1, 2, 3, 4, 5]
    assert (TRANSLITERATION["P"], TRANSLITERATION["R"]) == (7, 9)
    assert [TRANSLITERATION[c] for c in "STUVWXYZ"] == [2, 3, 4, 5, 6, 7, 8, 9]
    assert set("IOQ").isdisjoint(TRANSLITERATION)


def test_check_digit_ignores_what_position_9_holds() -> None:
    assert check_digit("1M8GDM9A0KP042788") == "X"
    assert check_digit("1M8GDM9A7KP042788") == "X"


def test_with_check_digit_accepts_a_stem_or_a_placeholder() -> None:
    assert with_check_digit("1M8GDM9AKP042788") == "1M8GDM9AXKP042788"
    assert with_check_digit("1M8GDM9A?KP042788") == "1M8GDM9AXKP042788"
    assert with_check_digit("lsvau2180n2183294") == "LSVAU218XN2183294"


@settings(max_examples=300, deadline=None)
@given(stems)
def test_with_check_digit_always_gives_a_valid_vin(stem: str) -> None:
    vin = with_check_digit(stem)
    assert len(vin) == 17
    assert validate_vin(vin) == vin
    assert vin[:8] + vin[9:] == stem


@settings(max_examples=500, deadline=None)
@given(stems, st.integers(min_value=0, max_value=16).filter(lambda i: i != 8), st.data())
def test_single_substitution_breaks_the_check_unless_the_value_is_the_same(
    stem: str, index: int, data: st.DataObject
) -> None:
    vin = with_check_digit(stem)
    new_char = data.draw(st.sampled_from([c for c in ALPHABET if c != vin[index]]))
    changed = vin[:index] + new_char + vin[index + 1 :]
    # Every weight outside position 9 is non-zero mod 11 (a prime), so only an equal value hides.
    if TRANSLITERATION[new_char] == TRANSLITERATION[vin[index]]:
        assert validate_vin(changed) == changed
    else:
        with pytest.raises(InvalidVin) as caught:
            validate_vin(changed)
        assert caught.value.errors is not None
        assert caught.value.errors[0]["rule"] == "check_digit"
