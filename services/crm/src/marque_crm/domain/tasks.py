"""Follow-up tasks (跟进任务): who must call whom, and when.

The rulebook, in store time (Asia/Shanghai by default); every follow-up is due at
`FOLLOW_UP_AT` (10:00) on its day, so that a consultant's list for a day is stable:

- **New lead** → the first follow-up by its intent grade (意向级别): the store's
  `follow_up_days` (defaults H 1 day, A 3, B 7, C 15); grade N (no intent) gets none.
- **Grade changed** → the open grade follow-up moves to (today + the new grade's interval);
  changed to N, it is cancelled.
- **Completing a grade follow-up** → the next one, by the lead's grade at that moment (the rhythm),
  unless the lead is closed or graded N.
- **Test drive** (试驾) → "call tomorrow": the next day at 10:00.
- **Quote sent** (报价) → a follow-up in 2 days.
- **Won / lost / invalid** → every open task of that lead is cancelled.
- **Delivery** (交车, once sales exists) → care calls on day 3 and day 30 after the delivery date.
- **Birthday** → a yearly call on the day before the birthday, for the owning consultant; a
  29 February birthday is celebrated on 28 February in other years, so the call is on the 27th.
- **Maintenance due** (保养到期, once aftersales exists) → a call a week before the due date (not
  before today).

Status: `open`, `done` or `cancelled` are stored; `overdue` is derived: an open task whose due day
has passed in store time. "Due" lists are the open tasks due today or earlier.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from enum import StrEnum

from marque_crm.domain.store_rules import DEFAULT_FOLLOW_UP_DAYS
from marque_kit.errors import Conflict, InvalidInput


class TaskKind(StrEnum):
    GRADE_INTERVAL = "grade_interval"
    TEST_DRIVE = "test_drive"
    QUOTE_SENT = "quote_sent"
    DELIVERY_CARE = "delivery_care"
    BIRTHDAY = "birthday"
    MAINTENANCE_DUE = "maintenance_due"
    MANUAL = "manual"


class TaskStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"
    # Never stored: an open task whose due day has passed.
    OVERDUE = "overdue"


STORED_STATUSES = (TaskStatus.OPEN, TaskStatus.DONE, TaskStatus.CANCELLED)
# The hour of the day (store time) at which follow-ups fall due.
FOLLOW_UP_AT = time(10, 0)
QUOTE_FOLLOW_UP_DAYS = 2
DELIVERY_CARE_DAYS = (3, 30)
MAINTENANCE_NOTICE_DAYS = 7
# Lead statuses after which nobody follows the lead up any more.
CLOSED_LEAD_STATUSES = frozenset({"won", "lost", "invalid"})
# A snooze may move a task this far at most.
MAX_SNOOZE = timedelta(days=90)

TITLES = {
    TaskKind.GRADE_INTERVAL: "按意向级别跟进 Follow up ({grade} lead)",
    TaskKind.TEST_DRIVE: "试驾后回访 Call after the test drive",
    TaskKind.QUOTE_SENT: "报价后跟进 Follow up on the quote",
    TaskKind.DELIVERY_CARE: "交车关怀 Delivery care call (day {day})",
    TaskKind.BIRTHDAY: "生日关怀 Birthday call (tomorrow)",
    TaskKind.MAINTENANCE_DUE: "保养提醒 Maintenance due on {due_on}",
}


@dataclass(frozen=True)
class Planned:
    """A task a rule asks for: what, when, and the key that makes creating it idempotent."""

    kind: TaskKind
    due_at: datetime
    title: str
    dedupe_key: str


def follow_up_at(day: date, zone: tzinfo) -> datetime:
    """`day` at 10:00 store time (an aware datetime)."""
    return datetime.combine(day, FOLLOW_UP_AT, tzinfo=zone)


def local_day(at: datetime, zone: tzinfo) -> date:
    return at.astimezone(zone).date()


def grade_interval_days(grade: str, follow_up_days: dict[str, int] | None = None) -> int | None:
    """Days between follow-ups for an intent grade; None for N (no intent) or an unknown grade."""
    days = DEFAULT_FOLLOW_UP_DAYS if follow_up_days is None else follow_up_days
    return days.get(grade.strip().upper())


def grade_open_key(lead_id: str) -> str:
    """The one open grade follow-up of a lead holds this key; closing it frees the key."""
    return f"lead:{lead_id}:grade_interval"


def closed_key(key: str, task_id: str) -> str:
    """What an open grade follow-up's key becomes once it is done or cancelled."""
    return f"{key}:{task_id}"


def grade_follow_up(
    lead_id: str,
    grade: str,
    since: datetime,
    zone: tzinfo,
    follow_up_days: dict[str, int] | None = None,
) -> Planned | None:
    """The next follow-up by grade, counted in days from `since`; None for grade N."""
    days = grade_interval_days(grade, follow_up_days)
    if days is None:
        return None
    return Planned(
        kind=TaskKind.GRADE_INTERVAL,
        due_at=follow_up_at(local_day(since, zone) + timedelta(days=days), zone),
        title=TITLES[TaskKind.GRADE_INTERVAL].format(grade=grade.strip().upper()),
        dedupe_key=grade_open_key(lead_id),
    )


def status_follow_up(lead_id: str, status: str, at: datetime, zone: tzinfo) -> Planned | None:
    """The follow-up a move along the funnel asks for: test drive → tomorrow; quoted → in 2 days."""
    status = status.strip().lower()
    today = local_day(at, zone)
    if status == "test_drive":
        kind, day = TaskKind.TEST_DRIVE, today + timedelta(days=1)
    elif status == "quoted":
        kind, day = TaskKind.QUOTE_SENT, today + timedelta(days=QUOTE_FOLLOW_UP_DAYS)
    else:
        return None
    return Planned(
        kind=kind,
        due_at=follow_up_at(day, zone),
        title=TITLES[kind],
        dedupe_key=f"lead:{lead_id}:{kind.value}:{day.isoformat()}",
    )


def closes_lead_tasks(status: str) -> bool:
    """Won, lost or invalid: the lead's open tasks are cancelled."""
    return status.strip().lower() in CLOSED_LEAD_STATUSES


def delivery_care(customer_id: str, delivered_on: date, zone: tzinfo) -> list[Planned]:
    """Care calls on day 3 and day 30 after the delivery (交车关怀)."""
    return [
        Planned(
            kind=TaskKind.DELIVERY_CARE,
            due_at=follow_up_at(delivered_on + timedelta(days=n), zone),
            title=TITLES[TaskKind.DELIVERY_CARE].format(day=n),
            dedupe_key=f"customer:{customer_id}:delivery_care:{delivered_on.isoformat()}:d{n}",
        )
        for n in DELIVERY_CARE_DAYS
    ]


def maintenance_reminder(
    customer_id: str, due_on: date, today: date, zone: tzinfo, vin: str = ""
) -> Planned:
    """A call a week before maintenance falls due, or today when that week has begun."""
    day = max(today, due_on - timedelta(days=MAINTENANCE_NOTICE_DAYS))
    return Planned(
        kind=TaskKind.MAINTENANCE_DUE,
        due_at=follow_up_at(day, zone),
        title=TITLES[TaskKind.MAINTENANCE_DUE].format(due_on=due_on.isoformat()),
        dedupe_key=f"customer:{customer_id}:maintenance_due:{vin}:{due_on.isoformat()}",
    )


# --- birthdays -----------------------------------------------------------------------------------


def celebrated_on(birthday: date, year: int) -> date:
    """The day the birthday falls on in `year`: 29 February becomes 28 February in common years."""
    if birthday.month == 2 and birthday.day == 29 and not calendar.isleap(year):
        return date(year, 2, 28)
    return birthday.replace(year=year)


def birthday_reminder_on(birthday: date, year: int) -> date:
    """The call is due the day before the birthday is celebrated in `year`."""
    return celebrated_on(birthday, year) - timedelta(days=1)


def birthdays_celebrated_on(day: date) -> list[tuple[int, int]]:
    """(month, day) of the birthdays celebrated on `day`: 28 Feb of a common year has two."""
    found = [(day.month, day.day)]
    if day.month == 2 and day.day == 28 and not calendar.isleap(day.year):
        found.append((2, 29))
    return found


def birthday_window(start: date, days: int) -> dict[tuple[int, int], int]:
    """Birthdays whose reminder day falls in [start, start + days): (month, day) → the year of
    the birthday being celebrated (a reminder on 31 December is for next year's 1 January)."""
    wanted: dict[tuple[int, int], int] = {}
    for offset in range(days):
        celebrated = start + timedelta(days=offset + 1)
        for month_day in birthdays_celebrated_on(celebrated):
            wanted.setdefault(month_day, celebrated.year)
    return wanted


def birthday_call(customer_id: str, birthday: date, year: int, zone: tzinfo) -> Planned:
    """The yearly birthday call (the day before), one per customer and year."""
    return Planned(
        kind=TaskKind.BIRTHDAY,
        due_at=follow_up_at(birthday_reminder_on(birthday, year), zone),
        title=TITLES[TaskKind.BIRTHDAY],
        dedupe_key=f"customer:{customer_id}:birthday:{year}",
    )


# --- a task's life -------------------------------------------------------------------------------


def shown_status(status: str, due_at: datetime, now: datetime, zone: tzinfo) -> TaskStatus:
    """The status a person sees: an open task whose due day has passed is overdue (逾期)."""
    stored = TaskStatus(status)
    if stored is TaskStatus.OPEN and local_day(due_at, zone) < local_day(now, zone):
        return TaskStatus.OVERDUE
    return stored


def require_open(status: str, action: str) -> None:
    """Only an open task can be completed, snoozed or cancelled (409 otherwise)."""
    if status != TaskStatus.OPEN:
        raise Conflict(
            f"This task is already {status}; only an open task can be {action}.",
            task_status=status,
        )


def check_snooze(until: datetime, now: datetime) -> datetime:
    """A snooze moves the task later, within 90 days (422 otherwise)."""
    if until.tzinfo is None:
        raise InvalidInput(
            "Give the new due time with its time zone, e.g. 2026-03-02T10:00:00+08:00.",
            errors=[{"field": "until", "rule": "timezone"}],
        )
    if until <= now:
        raise InvalidInput(
            "A task can only be snoozed to a time in the future.",
            errors=[{"field": "until", "rule": "future"}],
        )
    if until - now > MAX_SNOOZE:
        raise InvalidInput(
            "A task can be snoozed by 90 days at most; cancel it if it no longer applies.",
            errors=[{"field": "until", "rule": "max_90_days"}],
        )
    return until


def check_manual_due(due_at: datetime, now: datetime) -> datetime:
    """A manual task needs an aware due time no more than a day in the past and within a year."""
    if due_at.tzinfo is None:
        raise InvalidInput(
            "Give the due time with its time zone, e.g. 2026-03-02T10:00:00+08:00.",
            errors=[{"field": "due_at", "rule": "timezone"}],
        )
    if due_at < now - timedelta(days=1) or due_at > now + timedelta(days=366):
        raise InvalidInput(
            "A task must be due between yesterday and a year from now.",
            errors=[{"field": "due_at", "rule": "range"}],
        )
    return due_at
