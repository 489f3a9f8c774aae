"""Assignment rules: round robin is fair, leave and duty are respected, least-open, routing with a
fallback, and the first-contact SLA breached exactly at its business-minute boundary."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marque_crm.domain.assignment import (
    MAIN_ROTATION,
    RosterEntry,
    check_reassignment_target,
    check_sla,
    choose,
    managers_to_tell,
    next_in_rotation,
    sla_clock_start,
)
from marque_crm.domain.business_time import add_business_minutes
from marque_crm.domain.store_rules import BusinessHours, StoreRules

TODAY = date(2026, 3, 4)  # a Wednesday
SHANGHAI = ZoneInfo("Asia/Shanghai")


def staff(*subjects: str, **overrides: object) -> list[RosterEntry]:
    return [RosterEntry(subject=s, **overrides) for s in subjects]  # type: ignore[arg-type]


def run(
    rules: StoreRules,
    roster: list[RosterEntry],
    leads: list[tuple[str, str]],
    *,
    today: date = TODAY,
    track_open: bool = False,
) -> Counter[str]:
    """Assign leads (channel, model) one after another, moving the cursors as the service does."""
    cursors: dict[str, str] = {}
    got: Counter[str] = Counter()
    for channel, model in leads:
        pick = choose(
            rules,
            roster,
            today=today,
            channel=channel,
            model_code=model,
            cursors=cursors,
            open_leads=dict(got) if track_open else None,
        )
        assert pick.assignee is not None, pick.reason
        got[pick.assignee] += 1
        for key in pick.rotations:
            cursors[key] = pick.assignee
    return got


def test_round_robin_is_fair_over_1000_leads_and_leave_gets_nothing() -> None:
    roster = [
        *staff("c.chen", "c.li", "c.liu", "c.wang", "c.zhang", "c.zhao", "c.zhou"),
        RosterEntry("c.away", on_leave_from=TODAY - timedelta(days=2), on_leave_until=TODAY),
        RosterEntry("c.offduty", on_duty=False),
        RosterEntry("m.boss", role="manager"),
    ]
    got = run(StoreRules("RR1"), roster, [("website", "")] * 1000)
    assert sum(got.values()) == 1000
    assert set(got) == {"c.chen", "c.li", "c.liu", "c.wang", "c.zhang", "c.zhao", "c.zhou"}
    assert max(got.values()) - min(got.values()) <= 1
    assert "c.away" not in got and "c.offduty" not in got and "m.boss" not in got


@settings(max_examples=100, deadline=None)
@given(
    people=st.integers(1, 12),
    leads=st.integers(0, 400),
    start=st.integers(0, 11),
)
def test_round_robin_fair_whatever_the_team_and_starting_point(
    people: int, leads: int, start: int
) -> None:
    roster = staff(*(f"c{i:02d}" for i in range(people)))
    cursors = {MAIN_ROTATION: f"c{start % people:02d}"}
    got: Counter[str] = Counter()
    for _ in range(leads):
        pick = choose(StoreRules("RR2"), roster, today=TODAY, cursors=cursors)
        assert pick.assignee is not None
        got[pick.assignee] += 1
        cursors[MAIN_ROTATION] = pick.assignee
    counts = [got.get(e.subject, 0) for e in roster]
    assert max(counts) - min(counts) <= 1


def test_leave_boundaries_are_inclusive_and_open_ended() -> None:
    away = RosterEntry("c.a", on_leave_from=date(2026, 3, 1), on_leave_until=date(2026, 3, 4))
    assert away.on_leave(date(2026, 3, 1)) and away.on_leave(date(2026, 3, 4))
    assert not away.on_leave(date(2026, 2, 28)) and not away.on_leave(date(2026, 3, 5))
    assert RosterEntry("c.b", on_leave_from=date(2026, 3, 1)).on_leave(date(2027, 1, 1))
    assert RosterEntry("c.c", on_leave_until=date(2026, 3, 1)).on_leave(date(2026, 1, 1))
    assert not RosterEntry("c.d").on_leave(TODAY)
    # Back from leave the next day: they are in the rotation again.
    got = run(StoreRules("L1"), [away, *staff("c.x")], [("phone", "")] * 4, today=date(2026, 3, 5))
    assert got == Counter({"c.a": 2, "c.x": 2})


def test_nobody_on_duty_leaves_the_lead_unassigned_with_a_reason() -> None:
    roster = [
        RosterEntry("c.off", on_duty=False),
        RosterEntry("c.away", on_leave_from=TODAY, on_leave_until=TODAY),
        RosterEntry("m.boss", role="manager"),
    ]
    pick = choose(StoreRules("N1"), roster, today=TODAY)
    assert pick.assignee is None and pick.strategy == "unassigned"
    assert "Nobody is on duty" in pick.reason
    assert choose(StoreRules("N1"), [], today=TODAY).assignee is None


def test_cap_of_open_leads_is_respected() -> None:
    roster = [RosterEntry("c.capped", max_open_leads=2), *staff("c.free")]
    got = run(StoreRules("CAP"), roster, [("phone", "")] * 10, track_open=True)
    assert got == Counter({"c.capped": 2, "c.free": 8})


def test_least_open_goes_to_the_lightest_load_and_breaks_ties_in_rotation() -> None:
    rules = StoreRules("LO1", strategy="least_open")
    roster = staff("c.a", "c.b", "c.c")
    pick = choose(rules, roster, today=TODAY, open_leads={"c.a": 5, "c.b": 2, "c.c": 2})
    assert pick.assignee == "c.b"  # tie between b and c, rotation starts from the top
    pick = choose(
        rules,
        roster,
        today=TODAY,
        open_leads={"c.a": 5, "c.b": 2, "c.c": 2},
        cursors={MAIN_ROTATION: "c.b"},
    )
    assert pick.assignee == "c.c"
    assert "Fewest open leads (2)" in pick.reason
    # From uneven loads, new leads fill the gaps first and then stay level.
    got = run(rules, roster, [("website", "")] * 30, track_open=True)
    assert max(got.values()) - min(got.values()) <= 1


def test_least_open_skips_people_on_leave_even_with_no_leads() -> None:
    rules = StoreRules("LO2", strategy="least_open")
    roster = [RosterEntry("c.idle", on_leave_from=TODAY), *staff("c.busy")]
    pick = choose(rules, roster, today=TODAY, open_leads={"c.busy": 40})
    assert pick.assignee == "c.busy"


def test_by_channel_routes_then_falls_back_to_everyone_on_duty() -> None:
    rules = StoreRules(
        "BC1",
        strategy="by_channel",
        routes={"autohome": ["c.web1", "c.web2"], "walk_in": ["c.floor"]},
    )
    roster = [*staff("c.web1", "c.web2", "c.floor", "c.other")]
    got = run(rules, roster, [("autohome", "")] * 10)
    assert got == Counter({"c.web1": 5, "c.web2": 5})
    # No route for the channel: round robin over everyone on duty.
    got = run(rules, roster, [("phone", "")] * 8)
    assert got == Counter({"c.web1": 2, "c.web2": 2, "c.floor": 2, "c.other": 2})
    pick = choose(rules, roster, today=TODAY, channel="phone")
    assert "No route for channel 'phone'" in pick.reason
    # The routed consultant is away: fall back rather than leave the lead waiting.
    away = [RosterEntry("c.floor", on_duty=False), *staff("c.web1", "c.other")]
    pick = choose(rules, away, today=TODAY, channel="walk_in")
    assert pick.assignee in {"c.web1", "c.other"}
    assert "Nobody routed for channel 'walk_in' is on duty" in pick.reason


def test_by_model_routes_with_its_own_rotation() -> None:
    rules = StoreRules("BM1", strategy="by_model", routes={"HAN": ["c.ev1", "c.ev2"]})
    roster = staff("c.ev1", "c.ev2", "c.ice")
    got = run(rules, roster, [("website", "HAN"), ("website", "TANG")] * 6)
    # HAN alternates between its two (3 + 3); TANG goes round everyone in its own turn (2 each).
    assert got == Counter({"c.ev1": 5, "c.ev2": 5, "c.ice": 2})
    han = run(rules, roster, [("website", "HAN")] * 6)
    assert han == Counter({"c.ev1": 3, "c.ev2": 3})
    tang = run(rules, roster, [("website", "TANG")] * 6)
    assert tang == Counter({"c.ev1": 2, "c.ev2": 2, "c.ice": 2})


def test_sla_reassignment_excludes_who_missed_it() -> None:
    roster = staff("c.a", "c.b")
    pick = choose(StoreRules("X"), roster, today=TODAY, exclude=("c.a",))
    assert pick.assignee == "c.b"
    assert choose(StoreRules("X"), staff("c.a"), today=TODAY, exclude=("c.a",)).assignee is None


def test_manual_reassignment_target_rules() -> None:
    roster = [
        *staff("c.a", "c.b"),
        RosterEntry("c.away", on_leave_from=TODAY, on_leave_until=TODAY + timedelta(days=3)),
        RosterEntry("m.boss", role="manager"),
    ]
    assert check_reassignment_target(roster, "c.b", today=TODAY, current="c.a").subject == "c.b"
    with pytest.raises(ValueError, match="not on this store's roster"):
        check_reassignment_target(roster, "c.stranger", today=TODAY, current="c.a")
    with pytest.raises(ValueError, match="on leave until 2026-03-07"):
        check_reassignment_target(roster, "c.away", today=TODAY, current="c.a")
    with pytest.raises(ValueError, match="already assigned"):
        check_reassignment_target(roster, "c.a", today=TODAY, current="c.a")


def test_managers_told_are_those_present() -> None:
    roster = [
        RosterEntry("m.b", role="manager"),
        RosterEntry("m.a", role="manager", on_leave_from=TODAY),
        *staff("c.x"),
    ]
    assert managers_to_tell(roster, TODAY) == ["m.b"]
    everyone_away = [RosterEntry("m.a", role="manager", on_leave_from=TODAY)]
    assert managers_to_tell(everyone_away, TODAY) == ["m.a"]
    assert managers_to_tell(staff("c.x"), TODAY) == []


def test_next_in_rotation_wraps() -> None:
    assert next_in_rotation(["b", "a", "c"], "") == "a"
    assert next_in_rotation(["b", "a", "c"], "b") == "c"
    assert next_in_rotation(["b", "a", "c"], "c") == "a"
    assert next_in_rotation(["b", "a", "c"], "bb") == "c"  # last one left the team
    with pytest.raises(ValueError):
        next_in_rotation([], "a")


# ---- SLA -------------------------------------------------------------------------------------

HOURS = BusinessHours(opens=time(9), closes=time(18), weekdays=(1, 2, 3, 4, 5, 6, 7))


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)  # type: ignore[arg-type,misc]


def sla(started: datetime, now: datetime, *, status: str = "new", contacted: bool = False):  # type: ignore[no-untyped-def]
    return check_sla(
        status=status,
        first_contacted_at=started if contacted else None,
        started_at=started,
        now=now,
        rules=StoreRules("S1", sla_minutes=30, hours=HOURS),
        zone=SHANGHAI,
    )


def test_sla_breaches_exactly_at_the_boundary() -> None:
    start = at(2026, 3, 4, 10, 0)
    assert not sla(start, at(2026, 3, 4, 10, 29)).breached
    assert not sla(start, at(2026, 3, 4, 10, 29, 59)).breached
    boundary = sla(start, at(2026, 3, 4, 10, 30))
    assert boundary.breached and boundary.elapsed_minutes == 30
    assert boundary.deadline == at(2026, 3, 4, 10, 30)


def test_sla_counts_business_minutes_only() -> None:
    evening = at(2026, 3, 4, 17, 50)  # 10 minutes before closing
    assert not sla(evening, at(2026, 3, 5, 8, 59)).breached  # the night does not count
    assert sla(evening, at(2026, 3, 5, 9, 19)).elapsed_minutes == 29
    assert not sla(evening, at(2026, 3, 5, 9, 19)).breached
    assert sla(evening, at(2026, 3, 5, 9, 20)).breached


def test_contacted_or_moved_on_leads_never_breach() -> None:
    start = at(2026, 3, 4, 10, 0)
    late = at(2026, 3, 6, 10, 0)
    assert not sla(start, late, contacted=True).breached
    assert not sla(start, late, status="contacted").breached
    assert not sla(start, late, status="lost").breached


def test_sla_clock_starts_at_the_latest_assignment() -> None:
    created = at(2026, 3, 4, 10, 0)
    assert sla_clock_start(created, None) == created
    assert sla_clock_start(created, at(2026, 3, 4, 11, 0)) == at(2026, 3, 4, 11, 0)


@settings(max_examples=200, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 1, 1)),
    minutes=st.integers(1, 600),
)
def test_sla_boundary_matches_business_deadline(start: datetime, minutes: int) -> None:
    start = start.replace(tzinfo=SHANGHAI)
    rules = StoreRules("S2", sla_minutes=minutes, hours=HOURS)
    deadline = add_business_minutes(start, minutes, HOURS, SHANGHAI)

    def breached(now: datetime) -> bool:
        return check_sla(
            status="new",
            first_contacted_at=None,
            started_at=start,
            now=now,
            rules=rules,
            zone=SHANGHAI,
        ).breached

    assert breached(deadline)
    assert not breached(deadline - timedelta(seconds=1))
