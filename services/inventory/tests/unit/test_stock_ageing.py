"""Stock age (库龄) buckets and alerts that fire once per bucket."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from marque_inventory.domain.ageing import (
    AgeBuckets,
    check_stock_age,
    stock_age_days,
)
from marque_inventory.domain.vehicles import Vehicle, VehicleStatus
from marque_kit.errors import InvalidInput

NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
ARRIVED = date(2026, 1, 1)


def in_stock(arrived_on: date = ARRIVED) -> Vehicle:
    return Vehicle.register(
        vin="LSVAU218XN2183294",
        store_id="S1",
        model_code="LAVIDA",
        trim_code="T1",
        colour_code="WHITE",
        model_year=2026,
        cost_fen=9_800_000,
        status=VehicleStatus.IN_STOCK,
        arrived_on=arrived_on,
        now=NOW,
    )


def test_age_counts_whole_days_from_arrival() -> None:
    assert stock_age_days(ARRIVED, ARRIVED) == 0
    assert stock_age_days(ARRIVED, date(2026, 1, 31)) == 30
    assert stock_age_days(ARRIVED, date(2025, 12, 30)) == 0  # arrival typed in the future


@pytest.mark.parametrize(
    ("age", "bucket"),
    [
        (0, "0-30"),
        (30, "0-30"),
        (31, "31-60"),
        (60, "31-60"),
        (61, "61-90"),
        (90, "61-90"),
        (91, "90+"),
        (400, "90+"),
    ],
)
def test_default_buckets(age: int, bucket: str) -> None:
    assert AgeBuckets().bucket_of(age) == bucket


def test_buckets_are_configurable() -> None:
    buckets = AgeBuckets((15, 45))
    assert buckets.labels == ("0-15", "16-45", "45+")
    assert buckets.bucket_of(46) == "45+"


@pytest.mark.parametrize("thresholds", [(), (30, 30), (60, 30), (0, 30), (30.5,)])
def test_buckets_need_increasing_positive_days(thresholds: tuple[int, ...]) -> None:
    with pytest.raises(InvalidInput):
        AgeBuckets(thresholds)


def test_daily_checks_raise_one_alert_per_threshold() -> None:
    vehicle = in_stock()
    alerts = []
    for day in range(1, 121):
        today = ARRIVED + timedelta(days=day)
        alert = check_stock_age(
            vehicle, last_checked_on=today - timedelta(days=1), business_date=today, now=NOW
        )
        if alert:
            alerts.append((day, alert.threshold_days, alert.bucket))
    assert alerts == [(31, 30, "31-60"), (61, 60, "61-90"), (91, 90, "90+")]


def test_missed_checks_raise_one_alert_for_the_bucket_reached() -> None:
    alert = check_stock_age(
        in_stock(), last_checked_on=date(2026, 1, 21), business_date=date(2026, 4, 6), now=NOW
    )
    assert alert is not None
    assert (alert.age_days, alert.threshold_days, alert.bucket) == (95, 90, "90+")
    assert (alert.vin, alert.store_id, alert.model_code, alert.cost_fen) == (
        "LSVAU218XN2183294",
        "S1",
        "LAVIDA",
        9_800_000,
    )


def test_first_check_counts_from_arrival() -> None:
    alert = check_stock_age(in_stock(), last_checked_on=None, business_date=date(2026, 2, 15))
    assert alert is not None and alert.threshold_days == 30
    assert check_stock_age(in_stock(), last_checked_on=None, business_date=ARRIVED) is None


def test_sold_and_on_order_vehicles_do_not_age() -> None:
    sold = in_stock()
    sold.reserve("ORD-1", "REQ-1", NOW + timedelta(days=1), NOW)
    sold.mark_sold("ORD-1", now=NOW)
    assert check_stock_age(sold, last_checked_on=None, business_date=date(2026, 12, 1)) is None
    on_order = Vehicle.register(
        vin="LSVAU218XN2183294",
        store_id="S1",
        model_code="M",
        trim_code="T",
        colour_code="C",
        model_year=2026,
        cost_fen=1,
    )
    assert check_stock_age(on_order, last_checked_on=None, business_date=date(2026, 12, 1)) is None
