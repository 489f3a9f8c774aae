"""Ageing (账龄分析) of receivables and payables: how long past its due date each open amount is.

One rulebook for both sides of the books, so that AR ageing and AP ageing always use the same
buckets:

| bucket     | days past due (as of the report date)        |
|------------|-----------------------------------------------|
| `current`  | not yet due (due today or later) 未到期        |
| `1_30`     | 1-30 days overdue                              |
| `31_60`    | 31-60                                          |
| `61_90`    | 61-90                                          |
| `91_180`   | 91-180                                         |
| `over_180` | more than 180                                  |

`age(items, as_of)` sums open amounts per party (customer or supplier) and bucket. An item is
anything with `party`, `due_on` and `outstanding_fen` (what was still open on the report date);
items with nothing outstanding are left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol


@dataclass(frozen=True)
class Bucket:
    key: str
    label: str
    # Inclusive bounds on days past due; None = unbounded.
    low: int | None
    high: int | None

    def holds(self, days_past_due: int) -> bool:
        return (self.low is None or days_past_due >= self.low) and (
            self.high is None or days_past_due <= self.high
        )


BUCKETS: tuple[Bucket, ...] = (
    Bucket("current", "未到期 Current", None, 0),
    Bucket("1_30", "1-30天 1-30 days", 1, 30),
    Bucket("31_60", "31-60天 31-60 days", 31, 60),
    Bucket("61_90", "61-90天 61-90 days", 61, 90),
    Bucket("91_180", "91-180天 91-180 days", 91, 180),
    Bucket("over_180", "180天以上 Over 180 days", 181, None),
)
BUCKET_KEYS: tuple[str, ...] = tuple(b.key for b in BUCKETS)


def days_past_due(due_on: date, as_of: date) -> int:
    """Whole days between the due date and the report date; zero or less means not yet overdue."""
    return (as_of - due_on).days


def bucket_of(days_overdue: int) -> str:
    """The bucket key for a number of days past due (`0` or less is `current`)."""
    for bucket in BUCKETS:
        if bucket.holds(days_overdue):
            return bucket.key
    raise AssertionError(f"no ageing bucket holds {days_overdue} days")  # the buckets tile Z


class Ageable(Protocol):
    """What ageing needs to know of an open document."""

    @property
    def party(self) -> str: ...

    @property
    def due_on(self) -> date: ...

    @property
    def outstanding_fen(self) -> int: ...


def _zero() -> dict[str, int]:
    return dict.fromkeys(BUCKET_KEYS, 0)


@dataclass
class PartyAgeing:
    """One customer's or supplier's open amounts per bucket."""

    party: str
    buckets: dict[str, int] = field(default_factory=_zero)
    documents: int = 0

    @property
    def total_fen(self) -> int:
        return sum(self.buckets.values())


@dataclass
class Ageing:
    as_of: date
    parties: list[PartyAgeing]
    totals: dict[str, int]

    @property
    def total_fen(self) -> int:
        return sum(self.totals.values())


def age(items: Iterable[Ageable], as_of: date) -> Ageing:
    """Open amounts per party and bucket as of `as_of`; parties sorted by name."""
    by_party: dict[str, PartyAgeing] = {}
    totals = _zero()
    for item in items:
        if item.outstanding_fen == 0:
            continue
        key = bucket_of(days_past_due(item.due_on, as_of))
        row = by_party.setdefault(item.party, PartyAgeing(item.party))
        row.buckets[key] += item.outstanding_fen
        row.documents += 1
        totals[key] += item.outstanding_fen
    return Ageing(
        as_of=as_of, parties=sorted(by_party.values(), key=lambda p: p.party), totals=totals
    )
