"""The customer rulebook (domain/customers.py): profile fields, consent (latest statement wins,
none by default), VINs and plates, timeline kinds, and what a merge refuses and moves."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marque_crm.domain import customers as rules
from marque_kit.errors import Conflict, InvalidInput
from marque_kit.testing.vins import with_check_digit, with_wrong_check_digit

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
TODAY = date(2026, 3, 2)
VIN = with_check_digit("LSVAU2180N2183294")


def rule_of(exc: pytest.ExceptionInfo[InvalidInput]) -> str:
    assert exc.value.errors
    return str(exc.value.errors[0]["rule"])


# ---- profile ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "kept"), [("Male", "male"), (" female ", "female"), ("", "")])
def test_gender_is_male_female_or_not_told(typed: str, kept: str) -> None:
    assert rules.check_gender(typed) == kept


def test_an_unknown_gender_is_refused() -> None:
    with pytest.raises(InvalidInput, match="not male or female"):
        rules.check_gender("m")


def test_a_birthday_must_be_a_real_past_date() -> None:
    rules.check_birthday(date(1990, 5, 1), today=TODAY, national_id_birthday=None)
    rules.check_birthday(None, today=TODAY, national_id_birthday=date(1990, 5, 1))
    for bad in (date(1899, 12, 31), TODAY + timedelta(days=1)):
        with pytest.raises(InvalidInput) as refused:
            rules.check_birthday(bad, today=TODAY, national_id_birthday=None)
        assert rule_of(refused) == "range"


def test_a_birthday_that_contradicts_the_national_id_is_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        rules.check_birthday(date(1990, 5, 2), today=TODAY, national_id_birthday=date(1990, 5, 1))
    assert rule_of(refused) == "matches_national_id"
    assert "1990-05-01" in refused.value.detail


@pytest.mark.parametrize("wechat", ["zhangwei_88", "wxid_a1b2c3d4e5", "Li-Na2026", ""])
def test_wechat_ids_of_the_wechat_shape_are_kept(wechat: str) -> None:
    assert rules.check_wechat_id(wechat) == wechat


@pytest.mark.parametrize("wechat", ["8zhangwei", "abc", "a" * 21, "张伟微信", "li na 88"])
def test_wechat_ids_of_another_shape_are_refused(wechat: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        rules.check_wechat_id(wechat)
    assert rule_of(refused) == "wechat_format"


def test_city_address_and_name_lengths() -> None:
    assert rules.check_city(" 上海 ") == "上海"
    assert rules.check_name(" 张伟 ") == "张伟"
    for check, value in (
        (rules.check_city, "市" * 61),
        (rules.check_address, "路" * 301),
        (rules.check_name, ""),
        (rules.check_name, "名" * 201),
    ):
        with pytest.raises(InvalidInput):
            check(value)


def test_an_address_is_masked_after_its_start() -> None:
    assert rules.mask_address("上海市浦东新区世纪大道100号") == "上海市浦东新****"
    assert rules.mask_address("北京") == "****"
    assert rules.mask_address("") == ""


@given(st.text(min_size=1, max_size=300))
def test_a_masked_address_never_shows_half_of_it(address: str) -> None:
    masked = rules.mask_address(address)
    assert masked.endswith("****")
    assert len(masked) - 4 < max(len(address) / 2, 1)


# ---- consent ------------------------------------------------------------------------------------


def statement(channel: str, granted: bool, minutes: int, seq: int = 0) -> rules.ConsentStatement:
    return rules.ConsentStatement(
        channel, granted, "到店登记表", NOW + timedelta(minutes=minutes), "sh.consultant", seq
    )


def test_without_a_statement_no_channel_is_consented() -> None:
    states = rules.current_consents([])
    assert sorted(states) == sorted(rules.CONSENT_CHANNELS)
    assert all(s.status == "none" and not s.granted for s in states.values())


def test_the_latest_statement_per_channel_wins_whatever_order_they_arrive_in() -> None:
    states = rules.current_consents(
        [
            statement("sms", False, 30),  # withdrew later, recorded first
            statement("sms", True, 0),
            statement("wechat", True, 10),
        ]
    )
    assert states["sms"].status == "withdrawn" and not states["sms"].granted
    assert states["wechat"].granted and states["wechat"].source == "到店登记表"
    assert states["phone"].status == states["email"].status == "none"


def test_statements_of_the_same_instant_are_ordered_by_recording() -> None:
    states = rules.current_consents(
        [statement("sms", True, 0, seq=2), statement("sms", False, 0, 1)]
    )
    assert states["sms"].granted


def test_consent_needs_a_known_channel_a_source_and_no_future_date() -> None:
    assert rules.check_consent(" SMS ", " 电话 ", NOW, now=NOW) == ("sms", "电话")
    with pytest.raises(InvalidInput, match="not one of sms"):
        rules.check_consent("fax", "电话", NOW, now=NOW)
    with pytest.raises(InvalidInput, match="PIPL"):
        rules.check_consent("sms", " ", NOW, now=NOW)
    with pytest.raises(InvalidInput, match="future"):
        rules.check_consent("sms", "电话", NOW + timedelta(hours=1), now=NOW)
    rules.check_consent("sms", "电话", NOW + timedelta(minutes=2), now=NOW)  # clock skew


# ---- vehicles -----------------------------------------------------------------------------------


def test_a_vin_with_its_check_digit_is_accepted_and_upper_cased() -> None:
    assert rules.check_vin(VIN.lower()) == VIN
    assert rules.check_vin(f" {VIN[:8]}-{VIN[8:]} ") == VIN


@given(st.from_regex(r"[A-HJ-NPR-Z0-9]{17}", fullmatch=True))
def test_the_check_digit_agrees_with_the_independent_test_kit(raw: str) -> None:
    vin = with_check_digit(raw)
    assert rules.vin_check_digit(vin) == vin[8]
    assert rules.check_vin(vin) == vin
    with pytest.raises(InvalidInput):
        rules.check_vin(with_wrong_check_digit(vin))


@pytest.mark.parametrize(
    ("vin", "rule"),
    [
        (with_wrong_check_digit(VIN), "vin_check_digit"),
        (VIN[:16], "vin_length"),
        (VIN[:16] + "O", "vin_characters"),
        ("", "vin_length"),
    ],
)
def test_bad_vins_are_refused_with_the_reason(vin: str, rule: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        rules.check_vin(vin)
    assert rule_of(refused) == rule


@pytest.mark.parametrize(
    ("typed", "plate"),
    [("沪A12345", "沪A12345"), ("沪a·12345", "沪A12345"), ("粤B D12345", "粤BD12345"), ("", "")],
)
def test_chinese_plates_are_normalised(typed: str, plate: str) -> None:
    assert rules.normalise_plate(typed) == plate


@pytest.mark.parametrize("typed", ["A12345", "沪112345", "沪A1234", "沪AO1234", "XX-1234"])
def test_other_plates_are_refused(typed: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        rules.normalise_plate(typed)
    assert rule_of(refused) == "plate_format"


def test_bought_here_or_elsewhere_and_sensible_dates() -> None:
    assert rules.check_bought(" Here ") == "here"
    with pytest.raises(InvalidInput):
        rules.check_bought("online")
    rules.check_ownership_dates(date(2020, 1, 1), date(2024, 1, 1), today=TODAY)
    with pytest.raises(InvalidInput, match="future"):
        rules.check_ownership_dates(TODAY + timedelta(days=1), None, today=TODAY)
    with pytest.raises(InvalidInput, match="before it was bought"):
        rules.check_ownership_dates(date(2024, 1, 1), date(2020, 1, 1), today=TODAY)


# ---- timeline -----------------------------------------------------------------------------------


def test_staff_log_calls_visits_wechat_and_notes_but_not_system_entries() -> None:
    assert rules.check_timeline_entry("Call", " 回访 ", by_staff=True) == ("call", "回访")
    with pytest.raises(InvalidInput, match="written by Marque itself"):
        rules.check_timeline_entry("system", "quote sent", by_staff=True)
    assert rules.check_timeline_entry("system", "Quote sent", by_staff=False)[0] == "system"
    with pytest.raises(InvalidInput):
        rules.check_timeline_entry("note", "", by_staff=True)


# ---- merging ------------------------------------------------------------------------------------


def side(id: str, **kw: object) -> rules.MergeSide:
    base: dict[str, object] = {"id": id, "kind": "person", "live": True}
    base.update(kw)
    return rules.MergeSide(**base)  # type: ignore[arg-type]


def test_two_live_records_of_one_kind_can_be_merged() -> None:
    rules.check_merge(side("a"), side("b", national_id_index="idx-b"))


def test_a_record_cannot_be_merged_into_itself() -> None:
    with pytest.raises(InvalidInput, match="into itself"):
        rules.check_merge(side("a"), side("a"))


@pytest.mark.parametrize(
    ("survivor", "merged", "words"),
    [
        (side("a", live=False), side("b"), "already merged"),
        (side("a"), side("b", live=False), "already merged"),
        (side("a"), side("b", kind="company"), "person and a company"),
        (side("a", national_id_index="x"), side("b", national_id_index="y"), "two people"),
    ],
)
def test_merges_that_cannot_be_right_are_refused(
    survivor: rules.MergeSide, merged: rules.MergeSide, words: str
) -> None:
    with pytest.raises(Conflict, match=words):
        rules.check_merge(survivor, merged)


def test_the_survivor_keeps_its_fields_and_fills_blanks_from_the_duplicate() -> None:
    survivor = side("a", wechat_id="zhangwei_88", city="上海", owner="")
    merged = side(
        "b",
        wechat_id="other_id",
        city="苏州",
        gender="male",
        birthday=date(1990, 5, 1),
        has_address=True,
        owner="sh.consultant",
        national_id_index="idx",
    )
    fill = rules.profile_fill(survivor, merged)
    assert (fill.wechat_id, fill.city) == (False, False)
    assert fill.gender and fill.birthday and fill.address and fill.owner and fill.national_id
    assert fill.any
    # The other way round nothing is blank that the other record could fill.
    assert not rules.profile_fill(merged, survivor).any


def test_vehicles_move_and_a_vin_both_had_collapses_into_the_survivors_row() -> None:
    other = with_check_digit("LFV2A21K6N3000001")
    plan = rules.plan_vehicle_move(
        [rules.OwnedCar("s1", VIN, plate="", model_code="VW-LAVIDA")],
        [
            rules.OwnedCar("m1", VIN, plate="沪A12345", purchased_on=date(2022, 5, 1)),
            rules.OwnedCar("m2", other),
        ],
    )
    assert plan.move == ("m2",)
    ((gone, kept, filled),) = plan.collapse
    assert (gone, kept) == ("m1", "s1")
    assert (filled.plate, filled.model_code, filled.purchased_on) == (
        "沪A12345",
        "VW-LAVIDA",
        date(2022, 5, 1),
    )
