"""The follow-up rulebook (domain.tasks): due times in store time, the grade rhythm, closing,
birthdays (29 February included), overdue, snoozing."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from marque_crm.domain import tasks as rules
from marque_crm.domain.tasks import TaskKind, TaskStatus
from marque_kit.errors import Conflict, InvalidInput

SH = ZoneInfo("Asia/Shanghai")


def sh(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SH)


@pytest.mark.parametrize(("grade", "days"), [("H", 1), ("A", 3), ("B", 7), ("C", 15)])
def test_a_new_lead_is_followed_up_by_its_grade_at_ten_store_time(grade: str, days: int) -> None:
    created = sh(2026, 3, 2, 15, 40)
    planned = rules.grade_follow_up("L1", grade, created, SH)
    assert planned is not None
    assert planned.kind is TaskKind.GRADE_INTERVAL
    assert planned.due_at == sh(2026, 3, 2 + days, 10, 0)
    assert planned.dedupe_key == "lead:L1:grade_interval"
    assert grade in planned.title


def test_grade_n_gets_no_follow_up_and_grades_are_case_insensitive() -> None:
    assert rules.grade_follow_up("L1", "N", sh(2026, 3, 2), SH) is None
    a = rules.grade_follow_up("L1", "a", sh(2026, 3, 2, 9), SH)
    assert a is not None and a.due_at == sh(2026, 3, 5, 10)


def test_the_day_counts_in_store_time_not_utc() -> None:
    # 17:30 UTC on 1 March is 01:30 on 2 March in Shanghai: H → due 3 March 10:00 Shanghai.
    created = datetime(2026, 3, 1, 17, 30, tzinfo=UTC)
    planned = rules.grade_follow_up("L1", "H", created, SH)
    assert planned is not None
    assert planned.due_at == sh(2026, 3, 3, 10)
    assert planned.due_at.astimezone(UTC) == datetime(2026, 3, 3, 2, 0, tzinfo=UTC)


def test_store_intervals_override_the_defaults() -> None:
    planned = rules.grade_follow_up("L1", "B", sh(2026, 3, 2), SH, {"H": 1, "A": 2, "B": 4})
    assert planned is not None and planned.due_at == sh(2026, 3, 6, 10)
    # A grade the store left out has no rhythm there.
    assert rules.grade_follow_up("L1", "C", sh(2026, 3, 2), SH, {"H": 1}) is None


def test_the_rhythm_counts_from_each_completion_by_the_grade_then() -> None:
    first = rules.grade_follow_up("L9", "A", sh(2026, 3, 2, 11), SH)
    assert first is not None and first.due_at == sh(2026, 3, 5, 10)
    # Done a day late, the lead now H: the next is a day after the completion.
    second = rules.grade_follow_up("L9", "H", sh(2026, 3, 6, 16), SH)
    assert second is not None and second.due_at == sh(2026, 3, 7, 10)
    # The open key is the lead's one slot; a closed task's key frees it.
    assert second.dedupe_key == first.dedupe_key
    assert rules.closed_key(first.dedupe_key, "T1") == "lead:L9:grade_interval:T1"


def test_test_drive_means_call_tomorrow_at_ten() -> None:
    planned = rules.status_follow_up("L1", "test_drive", sh(2026, 3, 2, 23, 50), SH)
    assert planned is not None
    assert (planned.kind, planned.due_at) == (TaskKind.TEST_DRIVE, sh(2026, 3, 3, 10))
    assert planned.dedupe_key == "lead:L1:test_drive:2026-03-03"


def test_a_quote_is_followed_up_in_two_days() -> None:
    planned = rules.status_follow_up("L1", "quoted", sh(2026, 2, 27, 9), SH)
    assert planned is not None
    assert (planned.kind, planned.due_at) == (TaskKind.QUOTE_SENT, sh(2026, 3, 1, 10))


@pytest.mark.parametrize("status", ["new", "contacted", "invited", "visited", "won", "lost"])
def test_other_moves_ask_for_no_status_follow_up(status: str) -> None:
    assert rules.status_follow_up("L1", status, sh(2026, 3, 2), SH) is None


@pytest.mark.parametrize(
    ("status", "closes"),
    [("won", True), ("lost", True), ("invalid", True), ("quoted", False), ("new", False)],
)
def test_closing_a_lead_cancels_its_tasks(status: str, closes: bool) -> None:
    assert rules.closes_lead_tasks(status) is closes


def test_delivery_care_on_day_3_and_day_30() -> None:
    planned = rules.delivery_care("C1", date(2026, 3, 30), SH)
    assert [p.due_at for p in planned] == [sh(2026, 4, 2, 10), sh(2026, 4, 29, 10)]
    assert {p.kind for p in planned} == {TaskKind.DELIVERY_CARE}
    assert len({p.dedupe_key for p in planned}) == 2


def test_maintenance_is_called_a_week_ahead_but_never_in_the_past() -> None:
    ahead = rules.maintenance_reminder("C1", date(2026, 5, 20), date(2026, 5, 1), SH, "VIN1")
    assert ahead.due_at == sh(2026, 5, 13, 10)
    late = rules.maintenance_reminder("C1", date(2026, 5, 20), date(2026, 5, 18), SH, "VIN1")
    assert late.due_at == sh(2026, 5, 18, 10)
    assert ahead.dedupe_key == late.dedupe_key  # one reminder per VIN and due date


def test_birthday_call_is_the_day_before() -> None:
    planned = rules.birthday_call("C1", date(1988, 7, 15), 2026, SH)
    assert planned.due_at == sh(2026, 7, 14, 10)
    assert planned.dedupe_key == "customer:C1:birthday:2026"


def test_a_leap_day_birthday_is_celebrated_on_28_february_in_common_years() -> None:
    born = date(1996, 2, 29)
    assert rules.celebrated_on(born, 2027) == date(2027, 2, 28)
    assert rules.birthday_reminder_on(born, 2027) == date(2027, 2, 27)
    assert rules.celebrated_on(born, 2028) == date(2028, 2, 29)
    assert rules.birthday_reminder_on(born, 2028) == date(2028, 2, 28)


def test_the_birthday_window_finds_leap_day_birthdays_in_common_years_only() -> None:
    common = rules.birthday_window(date(2027, 2, 27), 1)  # reminders on 27 Feb 2027
    assert common == {(2, 28): 2027, (2, 29): 2027}
    leap_28 = rules.birthday_window(date(2028, 2, 27), 1)
    assert leap_28 == {(2, 28): 2028}
    leap_29 = rules.birthday_window(date(2028, 2, 28), 1)
    assert leap_29 == {(2, 29): 2028}


def test_a_reminder_on_new_years_eve_is_for_next_years_birthday() -> None:
    window = rules.birthday_window(date(2026, 12, 30), 3)
    assert window == {(12, 31): 2026, (1, 1): 2027, (1, 2): 2027}
    planned = rules.birthday_call("C1", date(1990, 1, 1), window[(1, 1)], SH)
    assert planned.due_at == sh(2026, 12, 31, 10)


def test_an_open_task_is_overdue_once_its_day_has_passed_in_store_time() -> None:
    due = sh(2026, 3, 2, 10)
    assert rules.shown_status("open", due, sh(2026, 3, 2, 23, 59), SH) is TaskStatus.OPEN
    assert rules.shown_status("open", due, sh(2026, 3, 3, 0, 0), SH) is TaskStatus.OVERDUE
    assert rules.shown_status("done", due, sh(2026, 4, 1), SH) is TaskStatus.DONE
    assert rules.shown_status("cancelled", due, sh(2026, 4, 1), SH) is TaskStatus.CANCELLED


def test_only_open_tasks_can_be_acted_on() -> None:
    rules.require_open("open", "completed")
    with pytest.raises(Conflict, match="already done"):
        rules.require_open("done", "completed")


def test_snooze_goes_forward_within_90_days_with_a_time_zone() -> None:
    now = sh(2026, 3, 2, 12)
    assert rules.check_snooze(sh(2026, 3, 3, 10), now) == sh(2026, 3, 3, 10)
    with pytest.raises(InvalidInput, match="future"):
        rules.check_snooze(now - timedelta(minutes=1), now)
    with pytest.raises(InvalidInput, match="90 days"):
        rules.check_snooze(now + timedelta(days=91), now)
    with pytest.raises(InvalidInput, match="time zone"):
        rules.check_snooze(datetime.combine(date(2026, 3, 3), time(10)), now)


def test_manual_tasks_are_due_between_yesterday_and_a_year_ahead() -> None:
    now = sh(2026, 3, 2, 12)
    assert rules.check_manual_due(now + timedelta(hours=2), now) == now + timedelta(hours=2)
    for bad in (now - timedelta(days=2), now + timedelta(days=400)):
        with pytest.raises(InvalidInput, match="between yesterday"):
            rules.check_manual_due(bad, now)
