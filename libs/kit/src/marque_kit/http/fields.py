"""Request field types with the range every service can store and compute with.

Python and JSON accept 0001-01-01 and 9999-12-31, but 0001-01-01T00:00+14:00 is before year 1
in UTC, 9999-12-31 plus one day does not exist, and PostgreSQL's `timestamptz` cannot be handed
either: such values fail deep in a handler or the driver (OverflowError, "date value out of
range") and would answer 500. `Day` and `Instant` refuse them at the edge with a 422 naming the
field. Business rules (not in the future, after the issue date, ...) stay in each domain.

`FormText` refuses NUL in a multipart form field, which `RefuseNulMiddleware` does not parse.

    class TaskIn(BaseModel):
        due_at: Instant
    async def report(from_date: Annotated[Day | None, Query(alias="from")] = None): ...
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from marque_kit.http.nul_guard import NUL, NUL_MESSAGE

EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2999, 12, 31)
_RANGE = f"between {EARLIEST_DAY.isoformat()} and {LATEST_DAY.isoformat()}"


def _context(value: date) -> dict[str, str]:
    return {"range": _RANGE, "value": value.isoformat()}


def day_in_range(value: date) -> date:
    if not EARLIEST_DAY <= value <= LATEST_DAY:
        raise PydanticCustomError(
            "date_out_of_range", "must be a day {range}; got {value}", _context(value)
        )
    return value


def instant_in_range(value: datetime) -> datetime:
    # Compare the calendar day as written (naive or aware): a day in range stays representable
    # after any time-zone shift and a day either side.
    if not EARLIEST_DAY <= value.date() <= LATEST_DAY:
        raise PydanticCustomError(
            "date_out_of_range", "must be a moment {range}; got {value}", _context(value)
        )
    return value


Day = Annotated[date, AfterValidator(day_in_range)]
Instant = Annotated[datetime, AfterValidator(instant_in_range)]


def without_nul(value: str) -> str:
    if NUL in value:
        raise PydanticCustomError("string_nul", NUL_MESSAGE)
    return value


# Text the JSON/query guard (`RefuseNulMiddleware`) does not see: multipart form fields.
FormText = Annotated[str, AfterValidator(without_nul)]
