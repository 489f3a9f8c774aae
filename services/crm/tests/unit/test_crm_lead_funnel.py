"""The lead funnel's rules (domain.leads): every allowed and refused move, reasons from the store's
lists, timestamps, first-response business minutes and the after-hours flag, and intake checks."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from marque_crm.domain.leads import (
    CLOSED,
    FUNNEL,
    STATUSES,
    Funnel,
    LeadDetails,
    TradeIn,
    allowed_moves,
    check_move,
    funnel_stage,
    initial_status,
)
from marque_crm.domain.store_rules import BusinessHours, StoreRules
from marque_kit.errors import Conflict, Forbidden, InvalidInput

SHANGHAI = ZoneInfo("Asia/Shanghai")
RULES = StoreRules("LDU1", hours=BusinessHours(time(9, 0), time(18, 0)))
# Monday 2026-03-02, 10:00 Shanghai: the store is open.
OPEN_AT = datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)


def a_lead(status: str = "new", at: datetime = OPEN_AT) -> Funnel:
    funnel = Funnel.start("phone", at, "tester", RULES.hours, SHANGHAI)
    funnel.status = status
    return funnel


def reason_for(to: str) -> str:
    return {"lost": "price", "invalid": "wrong_number"}.get(to, "")


# ---- Which moves exist ---------------------------------------------------------------------


EXPECTED = {
    "new": {"contacted", "invited", "visited", "test_drive", "quoted", "lost", "invalid"},
    "contacted": {"invited", "visited", "test_drive", "quoted", "won", "lost", "invalid"},
    "invited": {"visited", "test_drive", "quoted", "won", "lost", "invalid"},
    "visited": {"test_drive", "quoted", "won", "lost", "invalid"},
    "test_drive": {"quoted", "won", "lost", "invalid"},
    "quoted": {"won", "lost", "invalid"},
    "won": set(),
    "lost": set(),
    "invalid": set(),
}


@pytest.mark.parametrize("status", STATUSES)
def test_allowed_moves_are_forward_or_closing(status: str) -> None:
    assert set(allowed_moves(status)) == EXPECTED[status]


@pytest.mark.parametrize("frm", STATUSES)
@pytest.mark.parametrize("to", STATUSES)
def test_every_move_is_allowed_or_refused_by_the_table(frm: str, to: str) -> None:
    funnel = a_lead(frm)
    if to in EXPECTED[frm]:
        t = funnel.move(
            to, at=OPEN_AT, actor="c1", reason=reason_for(to), rules=RULES, zone=SHANGHAI
        )
        assert (t.from_status, t.to_status, funnel.status) == (frm, to, to)
    else:
        with pytest.raises((Conflict, Forbidden)):
            funnel.move(
                to, at=OPEN_AT, actor="c1", reason=reason_for(to), rules=RULES, zone=SHANGHAI
            )
        assert funnel.status == frm


def test_backwards_is_refused_with_the_allowed_next_steps() -> None:
    with pytest.raises(Conflict, match="never back: quoted cannot become invited"):
        check_move("quoted", "invited", "", RULES)


def test_staying_put_is_a_conflict() -> None:
    with pytest.raises(Conflict, match="already contacted"):
        check_move("contacted", "contacted", "", RULES)


def test_won_needs_a_contact_first() -> None:
    with pytest.raises(Conflict, match="contacted before it can be won"):
        check_move("new", "won", "", RULES)


def test_won_is_final_even_for_a_manager() -> None:
    assert allowed_moves("won", manager=True) == ()
    with pytest.raises(Conflict, match="closed for good"):
        check_move("won", "contacted", "came back", RULES, manager=True)


def test_unknown_status_is_422_naming_the_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        check_move("new", "hot", "", RULES)
    assert caught.value.errors == [{"field": "status", "rule": "enum"}]


# ---- Reasons -------------------------------------------------------------------------------


@pytest.mark.parametrize("to", ["lost", "invalid"])
def test_closing_without_a_reason_is_422_listing_the_choices(to: str) -> None:
    with pytest.raises(InvalidInput, match="needs a reason, one of") as caught:
        check_move("contacted", to, "  ", RULES)
    assert caught.value.errors == [{"field": "reason", "rule": "required"}]


def test_lost_reason_must_be_in_the_stores_list() -> None:
    with pytest.raises(InvalidInput, match="not one of this store's lost reasons"):
        check_move("quoted", "lost", "bad weather", RULES)
    custom = StoreRules("LDU2", lost_reasons=("预算不足",))
    assert check_move("quoted", "lost", "预算不足", custom) == "预算不足"
    with pytest.raises(InvalidInput):
        check_move("quoted", "lost", "price", custom)  # a default reason, not this store's


def test_invalid_reason_must_be_in_the_stores_list() -> None:
    assert check_move("new", "invalid", "test_or_spam", RULES) == "test_or_spam"
    with pytest.raises(InvalidInput, match="invalid reasons"):
        check_move("new", "invalid", "price", RULES)


# ---- Reopening -----------------------------------------------------------------------------


@pytest.mark.parametrize("closed", ["lost", "invalid"])
def test_a_manager_reopens_lost_or_invalid_to_contacted_with_a_reason(closed: str) -> None:
    funnel = a_lead("contacted")
    funnel.move(
        closed, at=OPEN_AT, actor="c1", reason=reason_for(closed), rules=RULES, zone=SHANGHAI
    )
    assert funnel.closed_reason == reason_for(closed) and funnel.closed_at == OPEN_AT
    later = OPEN_AT + timedelta(days=20)
    with pytest.raises(InvalidInput, match="Say why"):
        funnel.move(
            "contacted", at=later, actor="m1", reason="", rules=RULES, zone=SHANGHAI, manager=True
        )
    t = funnel.move(
        "contacted",
        at=later,
        actor="m1",
        reason="customer called back",
        rules=RULES,
        zone=SHANGHAI,
        manager=True,
    )
    assert (t.from_status, t.to_status, t.reason) == (closed, "contacted", "customer called back")
    assert funnel.is_open and funnel.closed_at is None and funnel.closed_reason == ""


def test_a_consultant_cannot_reopen() -> None:
    with pytest.raises(Forbidden, match="Only a sales or store manager"):
        check_move("lost", "contacted", "came back", RULES)


def test_a_manager_reopens_only_to_contacted() -> None:
    with pytest.raises(Conflict, match="only to contacted"):
        check_move("lost", "quoted", "came back", RULES, manager=True)


# ---- Timestamps and first response -------------------------------------------------------------


def test_every_move_is_timestamped_in_order() -> None:
    funnel = a_lead()
    times = [OPEN_AT + timedelta(hours=h) for h in (1, 2, 30)]
    for to, at in zip(("contacted", "visited", "quoted"), times, strict=True):
        funnel.move(to, at=at, actor="c1", reason="", rules=RULES, zone=SHANGHAI)
    assert [(t.from_status, t.to_status, t.at) for t in funnel.transitions] == [
        ("", "new", OPEN_AT),
        ("new", "contacted", times[0]),
        ("contacted", "visited", times[1]),
        ("visited", "quoted", times[2]),
    ]


def test_first_contact_is_the_first_move_out_of_new_in_business_minutes() -> None:
    funnel = a_lead()
    funnel.move(
        "invited",
        at=OPEN_AT + timedelta(minutes=42, seconds=30),
        actor="c1",
        reason="",
        rules=RULES,
        zone=SHANGHAI,
    )
    assert funnel.first_contacted_at == OPEN_AT + timedelta(minutes=42, seconds=30)
    assert funnel.first_response_business_minutes == 42
    assert funnel.after_hours is False
    # Later moves do not change it.
    funnel.move(
        "visited",
        at=OPEN_AT + timedelta(hours=5),
        actor="c1",
        reason="",
        rules=RULES,
        zone=SHANGHAI,
    )
    assert funnel.first_response_business_minutes == 42


def test_a_lead_arriving_at_night_is_after_hours_and_the_night_does_not_count() -> None:
    night = datetime(2026, 3, 2, 22, 30, tzinfo=SHANGHAI)
    funnel = a_lead(at=night)
    assert funnel.after_hours is True
    called = datetime(2026, 3, 3, 9, 10, tzinfo=SHANGHAI)
    funnel.move("contacted", at=called, actor="c1", reason="", rules=RULES, zone=SHANGHAI)
    assert funnel.first_response_business_minutes == 10


def test_closing_a_new_lead_is_its_first_response() -> None:
    funnel = a_lead()
    funnel.move(
        "invalid",
        at=OPEN_AT + timedelta(minutes=5),
        actor="c1",
        reason="wrong_number",
        rules=RULES,
        zone=SHANGHAI,
    )
    assert funnel.first_response_business_minutes == 5


def test_a_logged_call_is_first_contact_once() -> None:
    funnel = a_lead()
    assert funnel.contact(OPEN_AT + timedelta(minutes=3), RULES.hours, SHANGHAI) is True
    assert funnel.contact(OPEN_AT + timedelta(minutes=9), RULES.hours, SHANGHAI) is False
    assert funnel.first_response_business_minutes == 3


def test_a_walk_in_starts_visited_and_is_contacted_on_arrival() -> None:
    assert initial_status("walk_in") == "visited"
    assert initial_status("autohome") == "new"
    at = datetime(2026, 3, 7, 14, 0, tzinfo=UTC)  # 22:00 Shanghai, closed
    funnel = Funnel.start("walk_in", at, "c1", RULES.hours, SHANGHAI)
    assert funnel.status == "visited"
    assert funnel.first_contacted_at == at and funnel.first_response_business_minutes == 0
    assert funnel.after_hours is True
    assert [(t.from_status, t.to_status) for t in funnel.transitions] == [("", "visited")]


def test_an_unknown_channel_is_422() -> None:
    with pytest.raises(InvalidInput, match="Lead channel 'fax'") as caught:
        Funnel.start("fax", OPEN_AT, "c1", RULES.hours, SHANGHAI)
    assert caught.value.errors == [{"field": "channel", "rule": "enum"}]


def test_funnel_stage_orders_the_funnel_and_won() -> None:
    assert [funnel_stage(s) for s in FUNNEL] == list(range(len(FUNNEL)))
    assert funnel_stage("won") == len(FUNNEL)
    assert {funnel_stage(s) for s in CLOSED if s != "won"} == {None}


# ---- What a lead holds -----------------------------------------------------------------------


def test_details_fill_the_grade_from_the_timeframe() -> None:
    assert LeadDetails(timeframe="within_7_days").checked().grade == "H"
    assert LeadDetails(timeframe="within_15_days").checked().grade == "A"
    assert LeadDetails(timeframe="within_90_days").checked().grade == "C"
    assert LeadDetails().checked().grade == "B"
    assert LeadDetails(timeframe="within_7_days", grade="N").checked().grade == "N"


@pytest.mark.parametrize(
    ("details", "field_name"),
    [
        (LeadDetails(budget_min_fen=30_000_000, budget_max_fen=20_000_000), "budget_min_fen"),
        (LeadDetails(budget_max_fen=-1), "budget_max_fen"),
        (LeadDetails(grade="X"), "grade"),
        (LeadDetails(timeframe="someday"), "timeframe"),
        (LeadDetails(payment_intention="barter"), "payment_intention"),
        (LeadDetails(trade_in=TradeIn("Toyota", "Corolla", 1900)), "trade_in.year"),
        (LeadDetails(trade_in=TradeIn("Toyota", "Corolla", 2018, -5)), "trade_in.mileage_km"),
        (LeadDetails(model_code="M" * 61), "model_code"),
    ],
)
def test_bad_details_are_422_naming_the_field(details: LeadDetails, field_name: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        details.checked(date(2026, 3, 2))
    assert caught.value.errors is not None
    assert caught.value.errors[0]["field"] == field_name


def test_a_trade_in_from_next_year_is_fine_but_not_the_year_after() -> None:
    LeadDetails(trade_in=TradeIn(year=2027)).checked(date(2026, 3, 2))
    with pytest.raises(InvalidInput, match="1950 to 2027"):
        LeadDetails(trade_in=TradeIn(year=2028)).checked(date(2026, 3, 2))


def test_good_details_pass_unchanged() -> None:
    details = LeadDetails(
        model_code="ID4",
        trim_code="ID4-PRO",
        budget_min_fen=20_000_000,
        budget_max_fen=20_000_000,
        timeframe="within_30_days",
        payment_intention="loan",
        trade_in=TradeIn("Toyota", "Corolla", 2018, 86_000),
        grade="A",
    )
    assert details.checked(date(2026, 3, 2)) == details
