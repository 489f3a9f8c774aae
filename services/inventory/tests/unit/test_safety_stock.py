"""Safety stock (安全库存): an alert when a store drops below its minimum for a model."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from marque_inventory.domain.safety_stock import (
    SafetyStockRule,
    check_safety_stock,
    in_stock_count,
)
from marque_inventory.domain.vehicles import Vehicle, VehicleStatus
from marque_inventory.domain.vin import with_check_digit
from marque_kit.errors import InvalidInput

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
RULE = SafetyStockRule("S1", "LAVIDA", minimum=3)


def test_dropping_below_the_minimum_raises_the_alert() -> None:
    alert = check_safety_stock(RULE, in_stock_before=3, in_stock_after=2, now=NOW)
    assert alert is not None
    assert (alert.store_id, alert.model_code, alert.minimum, alert.in_stock) == (
        "S1",
        "LAVIDA",
        3,
        2,
    )


@pytest.mark.parametrize(("before", "after"), [(4, 3), (2, 1), (2, 3), (5, 5), (1, 0)])
def test_no_alert_without_crossing_below(before: int, after: int) -> None:
    assert check_safety_stock(RULE, before, after, now=NOW) is None


def test_a_zero_minimum_never_alerts() -> None:
    assert check_safety_stock(SafetyStockRule("S1", "M", 0), 1, 0) is None


def test_minimum_is_a_whole_number_not_negative() -> None:
    with pytest.raises(InvalidInput):
        SafetyStockRule("S1", "LAVIDA", -1)


def test_only_free_cars_of_the_model_count() -> None:
    def car(n: int, model: str = "LAVIDA") -> Vehicle:
        return Vehicle.register(
            vin=with_check_digit(f"LSVAU2180N21832{n:02d}"),
            store_id="S1",
            model_code=model,
            trim_code="T",
            colour_code="C",
            model_year=2026,
            cost_fen=1,
            status=VehicleStatus.IN_STOCK,
            arrived_on=date(2026, 1, 1),
        )

    free, reserved, demo, other_model = car(1), car(2), car(3), car(4, "TIGUAN")
    reserved.reserve("ORD-1", "REQ-1", NOW + timedelta(days=1), NOW)
    demo.assign_demo()
    assert in_stock_count([free, reserved, demo, other_model], "LAVIDA") == 1
