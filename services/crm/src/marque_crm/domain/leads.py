"""Leads (线索): what a lead holds, and the funnel it moves through.

The funnel (销售漏斗)::

    new → contacted → invited → visited (到店) → test_drive (试驾) → quoted (报价) → won (成交)
                                                            any open status → lost / invalid

Rules of movement (the store's staff live by these; the API refuses anything else with 409):

- **Forward only, skipping allowed.** An open lead may move to any LATER funnel step: a customer
  may walk in without an invitation (contacted → visited) or test-drive on the first visit. It
  never moves back (a quoted customer is not "invited" again).
- **Walk-ins start at `visited`**: the customer is standing in the showroom, so first contact
  happens at creation. Every other channel starts at `new`.
- **Won** needs the customer to have been contacted: from any open status except `new`.
- **Lost** (战败) and **invalid** (无效) close the lead from any open status and need a reason from
  the store's lists (`StoreRules.lost_reasons`, `StoreRules.invalid_reasons`).
- **Closed is final**, with one exception: a manager may reopen a `lost` or `invalid` lead to
  `contacted` (the customer came back, or it was closed by mistake), giving a reason. `won` is
  never reopened: a cancelled sale is the sales order's business, and a new enquiry is a new lead.
- Every move is timestamped and kept (`Transition`), never rewritten.

First response (首次响应): the first move out of `new`, or a logged call or visit, is the first
contact. Its delay is counted in the store's business minutes from the lead's creation (a lead
arriving at 22:00 and called at 09:10 next morning was answered in 10 minutes), and the lead is
flagged `after_hours` when it arrived while the store was closed.

Pure Python: no framework, no database.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from marque_crm.domain.business_time import business_minutes_between, is_business_time
from marque_crm.domain.store_rules import GRADES, BusinessHours, StoreRules
from marque_kit.errors import Conflict, Forbidden, InvalidInput

# ---- Vocabulary -------------------------------------------------------------------------------

CHANNELS = (
    "walk_in",  # 到店
    "phone",  # 来电
    "website",
    "autohome",  # 汽车之家
    "yiche",  # 易车
    "dongchedi",  # 懂车帝
    "referral",  # 转介绍
    "campaign",
    "event",
)
# Lead portals that push leads with a partner API key; their leads carry the portal's own id.
PARTNER_CHANNELS = ("autohome", "yiche", "dongchedi")

FUNNEL = ("new", "contacted", "invited", "visited", "test_drive", "quoted")
WON, LOST, INVALID = "won", "lost", "invalid"
CLOSED = (WON, LOST, INVALID)
STATUSES = (*FUNNEL, *CLOSED)
OPEN = FUNNEL
# Where a manager may reopen a lost or invalid lead.
REOPEN_TO = "contacted"

# Purchase timeframe (购车时间); the intent grade follows from it unless the consultant says
# otherwise: H within 7 days, A 15, B 30, C 90.
TIMEFRAMES = (
    "within_7_days",
    "within_15_days",
    "within_30_days",
    "within_90_days",
    "over_90_days",
    "unknown",
)
GRADE_BY_TIMEFRAME = {
    "within_7_days": "H",
    "within_15_days": "A",
    "within_30_days": "B",
    "within_90_days": "C",
    "over_90_days": "C",
}
DEFAULT_GRADE = "B"
PAYMENT_INTENTIONS = ("cash", "loan", "lease")  # 全款 / 贷款 / 租赁; "" when not known yet

MAX_BUDGET_FEN = 100_000_000_000  # ¥1 billion: anything above is a typo
MAX_MILEAGE_KM = 2_000_000


def _bad(field_name: str, rule: str, message: str) -> InvalidInput:
    return InvalidInput(message, errors=[{"field": field_name, "rule": rule}])


def check_channel(channel: str) -> str:
    if channel not in CHANNELS:
        raise _bad(
            "channel",
            "enum",
            f"Lead channel {channel!r} is not one of {', '.join(CHANNELS)}.",
        )
    return channel


def check_grade(grade: str) -> str:
    if grade not in GRADES:
        raise _bad(
            "grade",
            "enum",
            f"Intent grade {grade!r} is not one of {', '.join(GRADES)} (意向级别).",
        )
    return grade


def check_status(status: str) -> str:
    if status not in STATUSES:
        raise _bad("status", "enum", f"Lead status {status!r} is not one of {', '.join(STATUSES)}.")
    return status


def initial_status(channel: str) -> str:
    """Walk-ins are in the showroom already (到店); every other lead starts as new."""
    return "visited" if channel == "walk_in" else "new"


# ---- What a lead holds ------------------------------------------------------------------------


@dataclass(frozen=True)
class TradeIn:
    """The car the customer wants to trade in (置换); every part may still be unknown."""

    brand: str = ""
    model: str = ""
    year: int | None = None
    mileage_km: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "brand": self.brand,
            "model": self.model,
            "year": self.year,
            "mileage_km": self.mileage_km,
        }


@dataclass(frozen=True)
class LeadDetails:
    """What the customer wants: model/trim, budget, timeframe, payment, trade-in, intent grade."""

    model_code: str = ""
    trim_code: str = ""
    budget_min_fen: int | None = None
    budget_max_fen: int | None = None
    timeframe: str = "unknown"
    payment_intention: str = ""
    trade_in: TradeIn | None = None
    grade: str = ""
    comments: str = ""

    def checked(self, today: date | None = None) -> LeadDetails:
        """These details with the grade filled in from the timeframe; 422 naming the bad field."""
        for name in ("model_code", "trim_code"):
            value = getattr(self, name)
            if len(value) > 60:
                raise _bad(name, "length", f"{name} is at most 60 characters.")
        for name in ("budget_min_fen", "budget_max_fen"):
            amount = getattr(self, name)
            if amount is not None and not 0 <= amount <= MAX_BUDGET_FEN:
                raise _bad(
                    name,
                    "range",
                    f"{name} is an amount in fen (分) from 0 to {MAX_BUDGET_FEN}; got {amount}.",
                )
        if (
            self.budget_min_fen is not None
            and self.budget_max_fen is not None
            and self.budget_min_fen > self.budget_max_fen
        ):
            raise _bad(
                "budget_min_fen",
                "order",
                f"The budget's minimum ({self.budget_min_fen} fen) is above its maximum "
                f"({self.budget_max_fen} fen).",
            )
        if self.timeframe not in TIMEFRAMES:
            raise _bad(
                "timeframe",
                "enum",
                f"Purchase timeframe {self.timeframe!r} is not one of {', '.join(TIMEFRAMES)}.",
            )
        if self.payment_intention and self.payment_intention not in PAYMENT_INTENTIONS:
            raise _bad(
                "payment_intention",
                "enum",
                f"Payment intention {self.payment_intention!r} is not one of "
                f"{', '.join(PAYMENT_INTENTIONS)} (or empty when not known).",
            )
        if self.trade_in is not None:
            _check_trade_in(self.trade_in, today)
        if len(self.comments) > 2000:
            raise _bad("comments", "length", "Comments are at most 2000 characters.")
        grade = self.grade or GRADE_BY_TIMEFRAME.get(self.timeframe, DEFAULT_GRADE)
        return replace(self, grade=check_grade(grade))


def _check_trade_in(trade_in: TradeIn, today: date | None) -> None:
    if len(trade_in.brand) > 60 or len(trade_in.model) > 60:
        raise _bad(
            "trade_in", "length", "The trade-in's brand and model are at most 60 characters."
        )
    latest = (today.year if today else 2100) + 1
    if trade_in.year is not None and not 1950 <= trade_in.year <= latest:
        raise _bad(
            "trade_in.year",
            "range",
            f"The trade-in's model year must be 1950 to {latest}; got {trade_in.year}.",
        )
    if trade_in.mileage_km is not None and not 0 <= trade_in.mileage_km <= MAX_MILEAGE_KM:
        raise _bad(
            "trade_in.mileage_km",
            "range",
            f"The trade-in's mileage is 0 to {MAX_MILEAGE_KM} km; got {trade_in.mileage_km}.",
        )


def trade_in_of(data: dict[str, Any] | None) -> TradeIn | None:
    if not data:
        return None
    return TradeIn(
        brand=str(data.get("brand") or ""),
        model=str(data.get("model") or ""),
        year=data.get("year"),
        mileage_km=data.get("mileage_km"),
    )


# ---- The funnel -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Transition:
    """One timestamped move; `from_status` is "" for the lead's creation."""

    from_status: str
    to_status: str
    at: datetime
    actor: str
    reason: str = ""


def allowed_moves(status: str, *, manager: bool = False) -> tuple[str, ...]:
    """Where a lead in `status` may go next (see the module docstring)."""
    if status in FUNNEL:
        later = FUNNEL[FUNNEL.index(status) + 1 :]
        won = (WON,) if status != "new" else ()
        return (*later, *won, LOST, INVALID)
    if status in (LOST, INVALID) and manager:
        return (REOPEN_TO,)
    return ()


def check_move(
    status: str, to: str, reason: str, rules: StoreRules, *, manager: bool = False
) -> str:
    """The reason to record for moving `status` → `to`; raises when the move is not allowed.

    422 for an unknown status or a missing / unlisted reason, 403 when only a manager may do it,
    409 when the move is impossible from where the lead stands.
    """
    check_status(to)
    reason = (reason or "").strip()
    if to == status:
        raise Conflict(f"The lead is already {status}.")
    if status in (LOST, INVALID) and to == REOPEN_TO and not manager:
        raise Forbidden(
            f"Only a sales or store manager can reopen a {status} lead; ask your manager."
        )
    if to not in allowed_moves(status, manager=manager):
        raise Conflict(_refusal(status, to))
    if to == LOST:
        _check_reason("lost", reason, rules.lost_reasons)
    elif to == INVALID:
        _check_reason("invalid", reason, rules.invalid_reasons)
    elif status in (LOST, INVALID) and not reason:
        raise _bad("reason", "required", f"Say why the {status} lead is being reopened.")
    if len(reason) > 200:
        raise _bad("reason", "length", "A reason is at most 200 characters.")
    return reason


def _refusal(status: str, to: str) -> str:
    if status == WON:
        return "The lead is won (成交) and closed for good; a new enquiry is a new lead."
    if status in CLOSED:
        return (
            f"The lead is {status} and closed; only a manager can reopen it, and only to "
            f"{REOPEN_TO}."
        )
    if to == WON:
        return "A lead must be contacted before it can be won; record the contact first."
    return (
        f"A lead moves forward through the funnel, never back: {status} cannot become {to}. "
        f"Allowed next: {', '.join(allowed_moves(status))}."
    )


def _check_reason(kind: str, reason: str, allowed: tuple[str, ...]) -> None:
    if not reason:
        raise _bad(
            "reason",
            "required",
            f"Closing a lead as {kind} needs a reason, one of: {', '.join(allowed)}.",
        )
    if reason not in allowed:
        raise _bad(
            "reason",
            "enum",
            f"{reason!r} is not one of this store's {kind} reasons: {', '.join(allowed)}.",
        )


@dataclass
class Funnel:
    """A lead's position in the funnel and its first-response facts: the aggregate the rules act
    on. The service loads it from the row, lets it move, and writes the fields back."""

    status: str
    created_at: datetime
    first_contacted_at: datetime | None = None
    first_response_business_minutes: int | None = None
    after_hours: bool = False
    closed_at: datetime | None = None
    closed_reason: str = ""
    transitions: list[Transition] = field(default_factory=list)

    @classmethod
    def start(
        cls,
        channel: str,
        at: datetime,
        actor: str,
        hours: BusinessHours,
        zone: ZoneInfo,
    ) -> Funnel:
        """A new lead arriving at `at` through `channel` (walk-ins are contacted on arrival)."""
        status = initial_status(check_channel(channel))
        funnel = cls(
            status=status, created_at=at, after_hours=not is_business_time(at, hours, zone)
        )
        funnel.transitions.append(Transition("", status, at, actor))
        if status != "new":
            funnel.contact(at, hours, zone)
        return funnel

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    def contact(self, at: datetime, hours: BusinessHours, zone: ZoneInfo) -> bool:
        """Record the first contact at `at` (later ones change nothing); True if it was first."""
        if self.first_contacted_at is not None:
            return False
        at = max(at, self.created_at)
        self.first_contacted_at = at
        self.first_response_business_minutes = business_minutes_between(
            self.created_at, at, hours, zone
        )
        return True

    def move(
        self,
        to: str,
        *,
        at: datetime,
        actor: str,
        reason: str,
        rules: StoreRules,
        zone: ZoneInfo,
        manager: bool = False,
    ) -> Transition:
        """Move to `to` (see `check_move`); the first move out of `new` is the first contact."""
        reason = check_move(self.status, to, reason, rules, manager=manager)
        previous = self.status
        if previous == "new":
            self.contact(at, rules.hours, zone)
        if to in CLOSED:
            self.closed_at, self.closed_reason = at, reason
        else:
            self.closed_at, self.closed_reason = None, ""
        self.status = to
        transition = Transition(previous, to, at, actor, reason)
        self.transitions.append(transition)
        return transition


def funnel_stage(status: str) -> int | None:
    """How far along the funnel a status is (won is past quoted); None for lost / invalid."""
    if status in FUNNEL:
        return FUNNEL.index(status)
    if status == WON:
        return len(FUNNEL)
    return None
