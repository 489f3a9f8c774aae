"""Small input rules every aggregate shares: names, quantities, UTC instants."""

from __future__ import annotations

from datetime import UTC, datetime

from marque_kit.errors import InvalidInput


def require_text(value: object, field: str) -> str:
    """A non-blank identifier such as a store id or an order reference."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{field} is required.", errors=[{"field": field, "rule": "required"}])
    return value.strip()


def require_quantity(value: object, field: str = "quantity") -> int:
    """A quantity of parts: a whole number above zero."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidInput(
            f"{field} must be a whole number above zero, not {value!r}.",
            errors=[{"field": field, "rule": "positive_integer"}],
        )
    return value


def require_utc(value: datetime, field: str) -> datetime:
    """An instant with a time zone, converted to UTC; a naive time is ambiguous across stores."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(
            f"{field} must carry a time zone.", errors=[{"field": field, "rule": "timezone_aware"}]
        )
    return value.astimezone(UTC)


def utc_now(now: datetime | None = None) -> datetime:
    """The given instant in UTC, or the current one; commands take `now` so tests can pin it."""
    return datetime.now(UTC) if now is None else require_utc(now, "now")
