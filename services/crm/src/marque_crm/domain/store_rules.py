"""Each store's CRM rules, with the group's defaults: follow-up rhythm per intent grade, the
first-contact SLA, business hours, how new leads are assigned, and the reasons a lead may be
closed as lost or invalid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time

from marque_kit.errors import InvalidInput

GRADES = ("H", "A", "B", "C", "N")
# Days between follow-ups by intent grade (意向级别); N (no intent) gets none.
DEFAULT_FOLLOW_UP_DAYS = {"H": 1, "A": 3, "B": 7, "C": 15}
STRATEGIES = ("round_robin", "least_open", "by_channel", "by_model")
DEFAULT_LOST_REASONS = (
    "bought_competitor",  # 购买竞品
    "bought_elsewhere_same_brand",  # 同品牌他店购买
    "price",  # 价格原因
    "financing_declined",  # 贷款未通过
    "postponed",  # 暂缓购车
    "no_response",  # 联系不上
)
DEFAULT_INVALID_REASONS = ("wrong_number", "duplicate", "test_or_spam", "not_a_buyer")


@dataclass(frozen=True)
class BusinessHours:
    """Opening hours on the given ISO weekdays (1 = Monday); 4S stores open every day by default."""

    opens: time = time(9, 0)
    closes: time = time(18, 0)
    weekdays: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7)

    def __post_init__(self) -> None:
        if self.opens >= self.closes:
            raise InvalidInput(
                "Business hours must open before they close.",
                errors=[{"field": "business_hours", "rule": "order"}],
            )
        if not self.weekdays or any(d not in range(1, 8) for d in self.weekdays):
            raise InvalidInput(
                "Business days are ISO weekdays 1 (Monday) to 7 (Sunday).",
                errors=[{"field": "business_hours.weekdays", "rule": "range"}],
            )


@dataclass(frozen=True)
class StoreRules:
    store_id: str
    follow_up_days: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_FOLLOW_UP_DAYS))
    # First contact within this many business minutes, else the manager is told.
    sla_minutes: int = 30
    # Reassign to the next consultant when the SLA is missed.
    reassign_on_sla_breach: bool = False
    hours: BusinessHours = field(default_factory=BusinessHours)
    strategy: str = "round_robin"
    # For by_channel / by_model: channel or model code -> consultant subjects eligible.
    routes: dict[str, list[str]] = field(default_factory=dict)
    lost_reasons: tuple[str, ...] = DEFAULT_LOST_REASONS
    invalid_reasons: tuple[str, ...] = DEFAULT_INVALID_REASONS

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise InvalidInput(
                f"Assignment strategy {self.strategy!r} is not one of {', '.join(STRATEGIES)}.",
                errors=[{"field": "strategy", "rule": "enum"}],
            )
        for grade, days in self.follow_up_days.items():
            if grade not in GRADES or not isinstance(days, int) or not 1 <= days <= 365:
                raise InvalidInput(
                    f"Follow-up interval for grade {grade!r} must be 1-365 days ({days!r} given).",
                    errors=[{"field": "follow_up_days", "rule": "range", "grade": grade}],
                )
        if not 1 <= self.sla_minutes <= 7 * 24 * 60:
            raise InvalidInput(
                "The first-contact SLA is 1 minute to 7 days of business time.",
                errors=[{"field": "sla_minutes", "rule": "range"}],
            )
