"""The catalog's values and the purchase tax (购置税), in whole fen."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marque_inventory.domain.catalog import (
    NEV_EXEMPT_2024_2025,
    NEV_HALVED_2026_2027,
    NEV_NO_RELIEF,
    EnergyType,
    Option,
    Trim,
    purchase_tax,
)
from marque_inventory.domain.money import format_cny, round_half_up, yuan
from marque_kit.errors import InvalidInput


@pytest.mark.parametrize("energy", [EnergyType.ICE, EnergyType.HEV])
def test_fuel_car_pays_ten_percent_of_the_price_without_vat(energy: EnergyType) -> None:
    tax = purchase_tax(yuan(226_000), energy)
    assert tax.taxable_price_fen == yuan(200_000)
    assert tax.standard_tax_fen == yuan(20_000)
    assert tax.relief_fen == 0
    assert format_cny(tax.tax_fen) == "20,000.00 CNY"


@pytest.mark.parametrize("energy", [EnergyType.PHEV, EnergyType.BEV])
def test_nev_pays_half_by_default_2026_2027(energy: EnergyType) -> None:
    tax = purchase_tax(yuan(226_000), energy)
    assert (tax.standard_tax_fen, tax.relief_fen, tax.tax_fen) == (
        yuan(20_000),
        yuan(10_000),
        yuan(10_000),
    )


def test_nev_relief_is_capped_at_15000_yuan_per_vehicle() -> None:
    tax = purchase_tax(yuan(452_000), EnergyType.BEV)
    assert tax.standard_tax_fen == yuan(40_000)
    assert tax.relief_fen == yuan(15_000)
    assert tax.tax_fen == yuan(25_000)


def test_nev_exemption_2024_2025_is_capped_at_30000_yuan() -> None:
    assert purchase_tax(yuan(339_000), EnergyType.PHEV, NEV_EXEMPT_2024_2025).tax_fen == 0
    assert purchase_tax(yuan(452_000), EnergyType.BEV, NEV_EXEMPT_2024_2025).tax_fen == yuan(10_000)


def test_nev_without_relief_pays_like_a_fuel_car() -> None:
    assert purchase_tax(yuan(226_000), EnergyType.BEV, NEV_NO_RELIEF).tax_fen == yuan(20_000)


def test_each_step_rounds_half_up_to_the_fen() -> None:
    # 28 fen / 1.13 = 24.78 -> 25 fen taxable; 10% = 2.5 -> 3 fen tax.
    tax = purchase_tax(28, EnergyType.ICE)
    assert (tax.taxable_price_fen, tax.standard_tax_fen) == (25, 3)
    assert round_half_up(Fraction(5, 2)) == 3
    assert round_half_up(Fraction(-5, 2)) == -3
    assert round_half_up(Fraction(249, 100)) == 2


@pytest.mark.parametrize("price", [226_000.0, -1, True, "226000"])
def test_price_must_be_whole_non_negative_fen(price: object) -> None:
    with pytest.raises(InvalidInput):
        purchase_tax(price, EnergyType.ICE)  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=10_000_000_000), st.sampled_from(list(EnergyType)))
def test_tax_is_never_negative_and_relief_never_beyond_its_cap(
    price: int, energy: EnergyType
) -> None:
    tax = purchase_tax(price, energy, NEV_HALVED_2026_2027)
    assert 0 <= tax.relief_fen <= 1_500_000
    assert tax.tax_fen == tax.standard_tax_fen - tax.relief_fen >= 0
    assert abs(tax.taxable_price_fen * 113 - price * 100) <= 113 // 2 + 1
    if not energy.is_new_energy:
        assert tax.relief_fen == 0


def test_only_phev_and_bev_are_new_energy() -> None:
    assert {e for e in EnergyType if e.is_new_energy} == {EnergyType.PHEV, EnergyType.BEV}


def test_trim_knows_its_list_margin_and_tax() -> None:
    trim = Trim("T1", "M1", "1.5T Luxury", yuan(226_000), yuan(198_000), EnergyType.ICE)
    assert trim.list_margin_fen == yuan(28_000)
    assert trim.purchase_tax_at_msrp().tax_fen == yuan(20_000)


def test_catalog_money_refuses_floats() -> None:
    with pytest.raises(InvalidInput):
        Option("NAV", "Navigation", 1999.5)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        Trim("T1", "M1", "x", 100, -1, EnergyType.BEV)


def test_money_helpers() -> None:
    assert yuan("1234.56") == 123_456
    assert format_cny(-5) == "-0.05 CNY"
    with pytest.raises(InvalidInput):
        yuan("0.001")
