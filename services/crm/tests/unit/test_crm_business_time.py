"""Business time: minutes the store is open, SLA deadlines, nights and closed days skipped."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marque_crm.domain.business_time import (
    add_business_minutes,
    business_minutes_between,
    is_business_time,
    next_opening,
)
from marque_crm.domain.store_rules import BusinessHours

SHANGHAI = ZoneInfo("Asia/Shanghai")  # no DST since 1991
EVERY_DAY = BusinessHours()  # 09:00-18:00, Monday to Sunday
WEEKDAYS = BusinessHours(opens=time(8, 30), closes=time(17, 30), weekdays=(1, 2, 3, 4, 5))
NIGHT_SHIFT_FREE = BusinessHours(opens=time(0, 0), closes=time(23, 59), weekdays=(2, 4, 6))


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)  # type: ignore[arg-type,misc]


instants = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)
hours_st = st.builds(
    lambda o, length, days: BusinessHours(
        opens=time(o // 60, o % 60),
        closes=time(min(o + length, 24 * 60 - 1) // 60, min(o + length, 24 * 60 - 1) % 60),
        weekdays=tuple(sorted(days)),
    ),
    st.integers(0, 20 * 60),
    st.integers(1, 12 * 60),
    st.sets(st.integers(1, 7), min_size=1),
)


def test_within_one_day() -> None:
    assert (
        business_minutes_between(
            local(2025, 3, 5, 10), local(2025, 3, 5, 10, 30), EVERY_DAY, SHANGHAI
        )
        == 30
    )


def test_evening_lead_counts_from_next_opening() -> None:
    start = local(2025, 3, 5, 17, 50)  # Wednesday, 10 minutes before closing
    deadline = add_business_minutes(start, 30, EVERY_DAY, SHANGHAI)
    assert deadline == local(2025, 3, 6, 9, 20)
    # Across midnight only the open minutes count.
    assert business_minutes_between(start, local(2025, 3, 6, 9, 0), EVERY_DAY, SHANGHAI) == 10
    assert business_minutes_between(start, deadline, EVERY_DAY, SHANGHAI) == 30


def test_weekend_is_skipped_when_closed() -> None:
    friday_evening = local(2025, 3, 7, 17, 20)
    deadline = add_business_minutes(friday_evening, 30, WEEKDAYS, SHANGHAI)
    assert deadline == local(2025, 3, 10, 8, 50)  # Monday
    assert (
        business_minutes_between(friday_evening, local(2025, 3, 10, 8, 30), WEEKDAYS, SHANGHAI)
        == 10
    )
    assert not is_business_time(local(2025, 3, 8, 11), WEEKDAYS, SHANGHAI)  # Saturday
    assert next_opening(local(2025, 3, 8, 11), WEEKDAYS, SHANGHAI) == local(2025, 3, 10, 8, 30)


def test_opening_counts_closing_does_not() -> None:
    assert is_business_time(local(2025, 3, 5, 9, 0), EVERY_DAY, SHANGHAI)
    assert not is_business_time(local(2025, 3, 5, 18, 0), EVERY_DAY, SHANGHAI)
    assert not is_business_time(local(2025, 3, 5, 8, 59, 59), EVERY_DAY, SHANGHAI)
    # A deadline that lands on closing time is the closing instant itself, not the next morning.
    assert add_business_minutes(local(2025, 3, 5, 17, 30), 30, EVERY_DAY, SHANGHAI) == local(
        2025, 3, 5, 18
    )


def test_reversed_or_empty_interval_is_zero() -> None:
    a, b = local(2025, 3, 5, 10), local(2025, 3, 5, 12)
    assert business_minutes_between(b, a, EVERY_DAY, SHANGHAI) == 0
    assert business_minutes_between(a, a, EVERY_DAY, SHANGHAI) == 0


def test_partial_minutes_round_down() -> None:
    start = local(2025, 3, 5, 10)
    assert business_minutes_between(start, start + timedelta(seconds=119), EVERY_DAY, SHANGHAI) == 1


def test_naive_datetimes_and_negative_minutes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        business_minutes_between(
            datetime(2025, 3, 5, 10), local(2025, 3, 5, 11), EVERY_DAY, SHANGHAI
        )
    with pytest.raises(ValueError, match="zero or more"):
        add_business_minutes(local(2025, 3, 5, 10), -1, EVERY_DAY, SHANGHAI)


def test_whole_week_of_a_weekday_store() -> None:
    monday = local(2025, 3, 3, 0, 0)
    assert (
        business_minutes_between(monday, monday + timedelta(days=7), WEEKDAYS, SHANGHAI)
        == 5 * 9 * 60
    )


@settings(max_examples=300, deadline=None)
@given(start=instants, minutes=st.integers(0, 7 * 24 * 60), hours=hours_st)
def test_add_then_measure_returns_the_minutes(
    start: datetime, minutes: int, hours: BusinessHours
) -> None:
    deadline = add_business_minutes(start, minutes, hours, SHANGHAI)
    assert deadline >= start
    assert business_minutes_between(start, deadline, hours, SHANGHAI) == minutes
    if minutes > 0:
        # ... and it is the earliest such instant: a minute earlier is one business minute short.
        assert (
            business_minutes_between(start, deadline - timedelta(minutes=1), hours, SHANGHAI)
            == minutes - 1
        )


@settings(max_examples=300, deadline=None)
@given(a=instants, b=instants, hours=hours_st)
def test_never_negative_and_bounded_by_wall_time(
    a: datetime, b: datetime, hours: BusinessHours
) -> None:
    measured = business_minutes_between(a, b, hours, SHANGHAI)
    assert measured >= 0
    assert measured <= max(0, (b - a) // timedelta(minutes=1))


@settings(max_examples=200, deadline=None)
@given(a=instants, gap1=st.integers(0, 20_000), gap2=st.integers(0, 20_000), hours=hours_st)
def test_additive_over_consecutive_intervals(
    a: datetime, gap1: int, gap2: int, hours: BusinessHours
) -> None:
    # Whole-minute boundaries keep rounding out of the way.
    a = a.replace(second=0, microsecond=0)
    b = a + timedelta(minutes=gap1)
    c = b + timedelta(minutes=gap2)
    assert business_minutes_between(a, c, hours, SHANGHAI) == business_minutes_between(
        a, b, hours, SHANGHAI
    ) + business_minutes_between(b, c, hours, SHANGHAI)


@settings(max_examples=200, deadline=None)
@given(at=instants)
def test_closed_days_never_count(at: datetime) -> None:
    # A store open only on Tue/Thu/Sat has no business time on the other days.
    day_start = datetime.combine(at.astimezone(SHANGHAI).date(), time(0), tzinfo=SHANGHAI)
    minutes = business_minutes_between(
        day_start, day_start + timedelta(days=1), NIGHT_SHIFT_FREE, SHANGHAI
    )
    expected = 23 * 60 + 59 if day_start.isoweekday() in (2, 4, 6) else 0
    assert minutes == expected
    assert is_business_time(at, NIGHT_SHIFT_FREE, SHANGHAI) == (
        at.astimezone(SHANGHAI).isoweekday() in (2, 4, 6)
        and at.astimezone(SHANGHAI).time() < time(23, 59)
    )
