"""Business time (营业时间): the minutes a store is open, for first-contact SLAs and response times.

A store is open from `hours.opens` to `hours.closes` (local wall time in `zone`) on the ISO
weekdays `hours.weekdays`. Business minutes between two instants are the minutes of that
interval that fall inside opening hours, rounded down to whole minutes. Nothing counts at night,
on closed days, or when the interval is empty or reversed (never negative).

`add_business_minutes(start, n)` is the earliest instant whose business distance from `start` is
`n` minutes: the SLA deadline. The two agree: `business_minutes_between(s, add(s, n)) == n`.

Pure: stdlib only. Instants are timezone-aware; naive datetimes are refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from marque_crm.domain.store_rules import BusinessHours

MINUTE = timedelta(minutes=1)
# Every week holds a business day (BusinessHours refuses an empty weekday list); two weeks
# without one means the hours are unusable here, and the search stops instead of looping.
_MAX_CLOSED_DAYS = 14


def _aware(at: datetime, name: str) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (got a naive datetime {at!r}).")
    return at.astimezone(UTC)


def _window(day: date, hours: BusinessHours, zone: ZoneInfo) -> tuple[datetime, datetime] | None:
    """The UTC instants the store opens and closes on local `day`, or None when closed."""
    if day.isoweekday() not in hours.weekdays:
        return None
    opens = datetime.combine(day, hours.opens, tzinfo=zone).astimezone(UTC)
    closes = datetime.combine(day, hours.closes, tzinfo=zone).astimezone(UTC)
    if closes <= opens:  # only where a DST jump swallows the whole window
        return None
    return opens, closes


def _windows_from(
    start: datetime, hours: BusinessHours, zone: ZoneInfo
) -> Iterator[tuple[datetime, datetime]]:
    """Opening windows (UTC) that end after `start`, in order, starting with start's local day."""
    day = start.astimezone(zone).date() - timedelta(days=1)
    closed = 0
    while closed < _MAX_CLOSED_DAYS:
        window = _window(day, hours, zone)
        day += timedelta(days=1)
        closed = closed + 1 if window is None else 0
        if window is not None and window[1] > start:
            yield window


def is_business_time(at: datetime, hours: BusinessHours, zone: ZoneInfo) -> bool:
    """Is the store open at instant `at`? Opening time counts as open, closing time as closed."""
    at = _aware(at, "at")
    window = _window(at.astimezone(zone).date(), hours, zone)
    return window is not None and window[0] <= at < window[1]


def business_time_between(
    start: datetime, end: datetime, hours: BusinessHours, zone: ZoneInfo
) -> timedelta:
    """Opening time in [start, end); zero when end is not after start."""
    start, end = _aware(start, "start"), _aware(end, "end")
    if end <= start:
        return timedelta()
    total = timedelta()
    day = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date() + timedelta(days=1)
    while day <= last:
        window = _window(day, hours, zone)
        day += timedelta(days=1)
        if window is None:
            continue
        lo, hi = max(window[0], start), min(window[1], end)
        if hi > lo:
            total += hi - lo
    return total


def business_minutes_between(
    start: datetime, end: datetime, hours: BusinessHours, zone: ZoneInfo
) -> int:
    """Whole business minutes in [start, end) (rounded down; never negative)."""
    return business_time_between(start, end, hours, zone) // MINUTE


def add_business_minutes(
    start: datetime, minutes: int, hours: BusinessHours, zone: ZoneInfo
) -> datetime:
    """The earliest instant `minutes` business minutes after `start` (UTC).

    Zero minutes from a closed moment is `start` itself; otherwise the count begins at the next
    opening and skips nights and closed days. Negative minutes are refused.
    """
    if minutes < 0:
        raise ValueError(f"minutes must be zero or more (got {minutes}).")
    start = _aware(start, "start")
    if minutes == 0:
        return start
    left = timedelta(minutes=minutes)
    for opens, closes in _windows_from(start, hours, zone):
        lo = max(opens, start)
        span = closes - lo
        if left <= span:
            return lo + left
        left -= span
    raise ValueError("No business hours found; check the store's opening days.")


def next_opening(at: datetime, hours: BusinessHours, zone: ZoneInfo) -> datetime:
    """`at` when the store is open then, else the next instant it opens (UTC)."""
    at = _aware(at, "at")
    for opens, _closes in _windows_from(at, hours, zone):
        return max(opens, at)
    raise ValueError("No business hours found; check the store's opening days.")
