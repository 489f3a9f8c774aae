"""Who gets a new lead (线索分配), and when a late first contact goes to the manager.

The store's roster lists its consultants (销售顾问) and managers. A consultant is *available* when
they are on duty, not on leave today (on_leave_from..on_leave_until, both days included) and below
their cap of open leads, if they have one. Managers are told about breaches; they receive no leads
by rotation.

Strategies (StoreRules.strategy):
- round_robin: the next available consultant after the last one served, in a fixed order (by
  subject). Over any run of leads with the same people available, counts differ by at most one.
- least_open: the available consultant with the fewest open leads; ties go to whoever comes next
  in the round-robin order.
- by_channel / by_model: StoreRules.routes maps a channel (autohome, walk_in, ...) or a model code
  to the consultants eligible for it; round robin among those available. No route, or nobody of
  the route available: round robin over everyone available (the fallback is said in the reason).

Nobody available: the lead stays unassigned and the manager is told; it is assigned as soon as
somebody is (the SLA sweep retries).

First-contact SLA: a lead still `new` with no first contact `sla_minutes` business minutes after it
was assigned (or created, while unassigned) is breached. It escalates to the store's managers once
per assignee, and moves to the next consultant when the store says so (`reassign_on_sla_breach`).

Pure: no database, no clock; callers pass "today", "now", the roster and the cursors.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from marque_crm.domain.business_time import add_business_minutes, business_minutes_between
from marque_crm.domain.store_rules import StoreRules

ROLES = ("consultant", "manager")
# Strategies recorded in the assignment history besides the store strategies.
MANUAL = "manual"
SLA_REASSIGNMENT = "sla_reassignment"
UNASSIGNED = "unassigned"
# The rotation every strategy falls back on; routes have their own (ROUTE_PREFIX + key).
MAIN_ROTATION = ""
CLOSED_STATUSES = frozenset({"won", "lost", "invalid"})


@dataclass(frozen=True)
class RosterEntry:
    """One person of a store's sales floor, as assignment sees them."""

    subject: str
    role: str = "consultant"
    on_duty: bool = True
    on_leave_from: date | None = None
    on_leave_until: date | None = None
    max_open_leads: int | None = None

    def on_leave(self, today: date) -> bool:
        """On leave today. An open start means "until", an open end means "from ... on"."""
        if self.on_leave_from is None and self.on_leave_until is None:
            return False
        starts = self.on_leave_from or date.min
        ends = self.on_leave_until or date.max
        return starts <= today <= ends

    def available(self, today: date, open_leads: int = 0) -> bool:
        """Can take a new lead today: a consultant, on duty, not on leave, below their cap."""
        return (
            self.role == "consultant"
            and self.on_duty
            and not self.on_leave(today)
            and (self.max_open_leads is None or open_leads < self.max_open_leads)
        )


@dataclass(frozen=True)
class Pick:
    """The outcome of a choice: who (None: nobody available), by which rule, and why."""

    assignee: str | None
    strategy: str
    reason: str
    # Rotations whose "last served" moves to the assignee (cursor keys).
    rotations: tuple[str, ...] = ()


def route_key(strategy: str, channel: str, model_code: str) -> str | None:
    """The key a routing strategy looks up in StoreRules.routes, or None for other strategies."""
    if strategy == "by_channel":
        return channel
    if strategy == "by_model":
        return model_code
    return None


def rotation_of(strategy: str, key: str) -> str:
    """The cursor key of a route's own rotation (e.g. "by_channel:autohome")."""
    return f"{strategy}:{key}"


def rotations_needed(rules: StoreRules, channel: str, model_code: str) -> tuple[str, ...]:
    """Cursor keys a choice for this lead may read and move; the main rotation first."""
    key = route_key(rules.strategy, channel, model_code)
    if key and key in rules.routes:
        return (MAIN_ROTATION, rotation_of(rules.strategy, key))
    return (MAIN_ROTATION,)


def next_in_rotation(candidates: Iterable[str], last: str) -> str:
    """The first candidate after `last` in subject order, wrapping around. Candidates non-empty."""
    ordered = sorted(set(candidates))
    if not ordered:
        raise ValueError("next_in_rotation needs at least one candidate")
    for subject in ordered:
        if subject > last:
            return subject
    return ordered[0]


def available_consultants(
    roster: Iterable[RosterEntry], today: date, open_leads: Mapping[str, int] | None = None
) -> list[str]:
    counts = open_leads or {}
    return sorted(e.subject for e in roster if e.available(today, counts.get(e.subject, 0)))


def choose(
    rules: StoreRules,
    roster: Sequence[RosterEntry],
    *,
    today: date,
    channel: str = "",
    model_code: str = "",
    cursors: Mapping[str, str] | None = None,
    open_leads: Mapping[str, int] | None = None,
    exclude: Iterable[str] = (),
) -> Pick:
    """Pick the consultant for a lead by the store's strategy (see the module docstring).

    `cursors` maps a rotation key to the subject served last; `open_leads` counts each
    consultant's open leads (needed for least_open and for caps); `exclude` removes people (the
    consultant who just missed the SLA).
    """
    cursors = cursors or {}
    counts = open_leads or {}
    excluded = set(exclude)
    everyone = [s for s in available_consultants(roster, today, counts) if s not in excluded]
    if not everyone:
        return Pick(None, UNASSIGNED, "Nobody is on duty (all off duty, on leave or at their cap).")
    last = cursors.get(MAIN_ROTATION, "")
    strategy = rules.strategy
    if strategy == "least_open":
        fewest = min(counts.get(s, 0) for s in everyone)
        tied = [s for s in everyone if counts.get(s, 0) == fewest]
        chosen = next_in_rotation(tied, last)
        return Pick(
            chosen,
            strategy,
            f"Fewest open leads ({fewest}) among {len(everyone)} on duty.",
            (MAIN_ROTATION,),
        )
    key = route_key(strategy, channel, model_code)
    if key is not None:
        what = "channel" if strategy == "by_channel" else "model"
        route = rules.routes.get(key)
        if route is not None:
            eligible = [s for s in everyone if s in set(route)]
            if eligible:
                rotation = rotation_of(strategy, key)
                chosen = next_in_rotation(eligible, cursors.get(rotation, ""))
                return Pick(
                    chosen,
                    strategy,
                    f"Routed by {what} {key!r}: round robin among {len(eligible)} on duty.",
                    (rotation,),
                )
            fallback = f"Nobody routed for {what} {key!r} is on duty"
        else:
            fallback = f"No route for {what} {key or '(none)'!r}"
        chosen = next_in_rotation(everyone, last)
        return Pick(
            chosen,
            strategy,
            f"{fallback}: round robin over everyone on duty ({len(everyone)}).",
            (MAIN_ROTATION,),
        )
    chosen = next_in_rotation(everyone, last)
    return Pick(
        chosen, "round_robin", f"Round robin among {len(everyone)} on duty.", (MAIN_ROTATION,)
    )


def managers_to_tell(roster: Iterable[RosterEntry], today: date) -> list[str]:
    """The store's managers to escalate to: those not on leave, else all of them."""
    managers = [e for e in roster if e.role == "manager"]
    present = [e.subject for e in managers if not e.on_leave(today)]
    return sorted(present or [e.subject for e in managers])


# ---- First-contact SLA ----------------------------------------------------------------------


@dataclass(frozen=True)
class SlaCheck:
    breached: bool
    elapsed_minutes: int
    deadline: datetime


def sla_clock_start(created_at: datetime, assigned_at: datetime | None) -> datetime:
    """The SLA runs from the (latest) assignment; an unassigned lead's from its creation."""
    return assigned_at or created_at


def check_sla(
    *,
    status: str,
    first_contacted_at: datetime | None,
    started_at: datetime,
    now: datetime,
    rules: StoreRules,
    zone: ZoneInfo,
) -> SlaCheck:
    """Breached when the lead is still `new`, nobody has contacted the customer, and at least
    `rules.sla_minutes` business minutes have passed since `started_at` (the boundary counts)."""
    deadline = add_business_minutes(started_at, rules.sla_minutes, rules.hours, zone)
    elapsed = business_minutes_between(started_at, now, rules.hours, zone)
    waiting = status == "new" and first_contacted_at is None
    return SlaCheck(waiting and now >= deadline, elapsed, deadline)


def check_reassignment_target(
    roster: Iterable[RosterEntry], to: str, *, today: date, current: str
) -> RosterEntry:
    """The roster entry a manager may hand a lead to, or ValueError with the reason."""
    entry = next((e for e in roster if e.subject == to), None)
    if entry is None:
        raise ValueError(f"{to!r} is not on this store's roster of consultants.")
    if entry.on_leave(today):
        until = f" until {entry.on_leave_until.isoformat()}" if entry.on_leave_until else ""
        raise ValueError(f"{to!r} is on leave{until} and receives no leads while away.")
    if to == current:
        raise ValueError(f"The lead is already assigned to {to!r}.")
    return entry
