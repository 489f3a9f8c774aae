"""The marketing rulebook: auto-tag rules, segment filter validation, who a campaign may message
(consent, address, frequency cap), templates, and the complaint routing / status rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marque_crm.domain import campaigns as c
from marque_crm.domain import complaints as comp
from marque_crm.domain.tags import (
    CustomerFacts,
    TagRuleParams,
    applicable_rules,
    check_colour,
    check_tag_name,
    months_before,
    parse_segment_filter,
    reconcile,
)
from marque_kit.errors import Conflict, InvalidInput

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
DEFAULTS = TagRuleParams()


def facts(**kw: object) -> CustomerFacts:
    values: dict[str, object] = {
        "customer_id": "C1",
        "known_since": NOW - timedelta(days=30),
        "last_visit_at": NOW - timedelta(days=10),
    }
    values.update(kw)
    return CustomerFacts(**values)  # type: ignore[arg-type]


# ---- auto-tag rules -------------------------------------------------------------------------


def test_a_loan_or_lease_intention_tags_loan_intention_and_cash_does_not() -> None:
    assert "loan_intention" in applicable_rules(facts(payment_intentions={"loan"}), DEFAULTS, NOW)
    assert "loan_intention" in applicable_rules(
        facts(payment_intentions=frozenset({"cash", "lease"})), DEFAULTS, NOW
    )
    assert "loan_intention" not in applicable_rules(
        facts(payment_intentions=frozenset({"cash"})), DEFAULTS, NOW
    )


def test_first_car_needs_no_vehicle_and_the_customer_saying_so() -> None:
    assert "first_car" in applicable_rules(facts(first_purchase=True), DEFAULTS, NOW)
    assert "first_car" not in applicable_rules(
        facts(first_purchase=True, vehicles_owned=1), DEFAULTS, NOW
    )
    assert "first_car" not in applicable_rules(facts(first_purchase=None), DEFAULTS, NOW)
    assert "first_car" not in applicable_rules(facts(first_purchase=False), DEFAULTS, NOW)


def test_vip_is_strictly_above_the_configured_spend() -> None:
    params = TagRuleParams(vip_lifetime_spend_fen=50_000_000)
    assert "vip" not in applicable_rules(facts(lifetime_spend_fen=50_000_000), params, NOW)
    assert "vip" in applicable_rules(facts(lifetime_spend_fen=50_000_001), params, NOW)
    # The same spend is VIP under the lower default threshold.
    assert "vip" in applicable_rules(facts(lifetime_spend_fen=50_000_000), DEFAULTS, NOW)


def test_churn_risk_after_twelve_months_without_a_visit() -> None:
    a_year_ago = months_before(NOW, 12)
    assert "churn_risk" not in applicable_rules(facts(last_visit_at=a_year_ago), DEFAULTS, NOW)
    assert "churn_risk" in applicable_rules(
        facts(last_visit_at=a_year_ago - timedelta(minutes=1)), DEFAULTS, NOW
    )
    # Never visited: counted from when they became known.
    assert "churn_risk" in applicable_rules(
        facts(last_visit_at=None, known_since=NOW - timedelta(days=400)), DEFAULTS, NOW
    )
    assert "churn_risk" not in applicable_rules(
        facts(last_visit_at=None, known_since=NOW - timedelta(days=100)), DEFAULTS, NOW
    )
    # The period is configurable.
    six = TagRuleParams(churn_months=6)
    assert "churn_risk" in applicable_rules(
        facts(last_visit_at=NOW - timedelta(days=200)), six, NOW
    )


def test_a_disabled_rule_tags_nobody() -> None:
    params = TagRuleParams(enabled=("vip",))
    found = applicable_rules(
        facts(payment_intentions=frozenset({"loan"}), lifetime_spend_fen=10**9), params, NOW
    )
    assert found == {"vip"}


def test_months_before_clamps_to_the_end_of_a_shorter_month() -> None:
    assert months_before(datetime(2026, 3, 31, tzinfo=UTC), 1) == datetime(2026, 2, 28, tzinfo=UTC)
    assert months_before(datetime(2024, 3, 31, tzinfo=UTC), 1) == datetime(2024, 2, 29, tzinfo=UTC)
    assert months_before(datetime(2026, 1, 15, tzinfo=UTC), 13) == datetime(
        2024, 12, 15, tzinfo=UTC
    )


def test_rule_parameters_are_checked() -> None:
    with pytest.raises(InvalidInput) as bad:
        TagRuleParams(vip_lifetime_spend_fen=0, churn_months=0, enabled=("vip", "gold"))
    fields = {e["field"] for e in bad.value.errors or []}
    assert fields == {"vip_lifetime_spend_fen", "churn_months", "enabled"}


def test_reconcile_adds_missing_removes_stale_rule_tags_and_leaves_manual_ones() -> None:
    change = reconcile(
        rule_tagged={"vip", "churn_risk"},
        manual_tagged={"loan_intention"},
        wanted={"vip", "loan_intention", "first_car"},
    )
    assert change.add == {"first_car"}  # loan_intention is already there, by hand
    assert change.remove == {"churn_risk"}
    # A manual tag whose rule no longer applies stays: people put it there.
    assert reconcile(set(), {"vip"}, set()).remove == frozenset()


@given(
    have_rule=st.sets(st.sampled_from(("loan_intention", "first_car", "vip", "churn_risk"))),
    have_manual=st.sets(st.sampled_from(("loan_intention", "first_car", "vip", "churn_risk"))),
    wanted=st.sets(st.sampled_from(("loan_intention", "first_car", "vip", "churn_risk"))),
)
def test_reconciling_twice_changes_nothing_the_second_time(
    have_rule: set[str], have_manual: set[str], wanted: set[str]
) -> None:
    have_rule -= have_manual  # a customer carries a tag once, from one source
    first = reconcile(have_rule, have_manual, wanted)
    after = (have_rule | first.add) - first.remove
    second = reconcile(after, have_manual, wanted)
    assert second.add == frozenset() and second.remove == frozenset()
    assert (after | have_manual) >= wanted


def test_tag_names_and_colours() -> None:
    assert check_tag_name("  试驾未成交 ") == "试驾未成交"
    assert check_colour("#2f80ed") == "#2F80ED"
    assert check_colour("") == ""
    with pytest.raises(InvalidInput, match="1 to 40"):
        check_tag_name(" ")
    with pytest.raises(InvalidInput, match="#RRGGBB"):
        check_colour("blue")


# ---- segment filters ------------------------------------------------------------------------


def test_a_segment_filter_is_parsed_and_stored_in_a_stable_form() -> None:
    spec = parse_segment_filter(
        {
            "stores": ["SH01", "SH01", "SH02"],
            "model_interest": ["BYD-HAN"],
            "lead_grade": ["H", "A"],
            "consent_channel": "sms",
            "created_from": "2026-01-01",
            "created_to": "2026-02-28",
        }
    )
    assert spec.stores == ("SH01", "SH02")
    assert spec.created_from == date(2026, 1, 1)
    assert spec.has_lead_conditions
    assert parse_segment_filter(spec.to_json()) == spec
    assert spec.within(["SH02", "GZ01"]).stores == ("SH02",)


def test_unknown_filter_fields_are_refused_by_name() -> None:
    with pytest.raises(InvalidInput) as bad:
        parse_segment_filter({"stores": ["SH01"], "colour": ["red"], "grade": ["H"]})
    assert "colour" in bad.value.detail and "grade" in bad.value.detail
    assert "lead_grade" in bad.value.detail  # the message lists what may be used
    unknown = [e["field"] for e in bad.value.errors or [] if e["rule"] == "unknown field"]
    assert unknown == ["colour", "grade"]


def test_every_bad_value_is_reported_at_once() -> None:
    with pytest.raises(InvalidInput) as bad:
        parse_segment_filter(
            {
                "stores": [],
                "lead_status": ["new", "hot"],
                "lead_grade": "H",
                "consent_channel": "fax",
                "created_from": "2026-02-30",
                "tags_any": [""],
            }
        )
    fields = {e["field"] for e in bad.value.errors or []}
    assert fields == {
        "stores",
        "lead_status",
        "lead_grade",
        "consent_channel",
        "created_from",
        "tags_any",
    }
    status_error = next(e for e in bad.value.errors or [] if e["field"] == "lead_status")
    assert status_error["unknown"] == ["hot"]


def test_a_reversed_date_range_and_a_non_object_are_refused() -> None:
    with pytest.raises(InvalidInput, match="cannot be used"):
        parse_segment_filter(
            {"stores": ["SH01"], "created_from": "2026-03-01", "created_to": "2026-02-01"}
        )
    with pytest.raises(InvalidInput, match="is an object"):
        parse_segment_filter(["SH01"])  # type: ignore[arg-type]


# ---- campaigns: who is messaged -------------------------------------------------------------

CAP = c.FrequencyCap(max_messages=2, per_days=7)


def candidate(**kw: object) -> c.Candidate:
    values: dict[str, object] = {
        "customer_id": "C1",
        "name": "王芳",
        "consented": True,
        "address": "+8613800138000",
        "recent_sends": 0,
    }
    values.update(kw)
    return c.Candidate(**values)  # type: ignore[arg-type]


def test_a_consented_reachable_customer_under_the_cap_is_sent_to() -> None:
    assert c.decide(candidate(recent_sends=1), CAP) == c.Decision("C1", True, "")


def test_no_consent_excludes_whatever_else_holds() -> None:
    decision = c.decide(candidate(consented=False, address="", recent_sends=9), CAP)
    assert (decision.send, decision.reason) == (False, c.NO_CONSENT)


def test_no_address_comes_before_the_cap() -> None:
    decision = c.decide(candidate(address="  ", recent_sends=9), CAP)
    assert (decision.send, decision.reason) == (False, c.NO_ADDRESS)


def test_the_frequency_cap_excludes_at_the_limit() -> None:
    decision = c.decide(candidate(recent_sends=2), CAP)
    assert (decision.send, decision.reason) == (False, c.FREQUENCY_CAPPED)
    assert c.FrequencyCap(1, 30).window_start(NOW) == NOW - timedelta(days=30)
    with pytest.raises(InvalidInput, match="1-100 messages per 1-365 days"):
        c.FrequencyCap(0, 7)


def test_templates_take_only_the_name() -> None:
    text = c.check_template("{name}您好，汉EV品鉴会周六14:00 {{限时}} 回T退订")
    assert c.render(text, name="王芳") == "王芳您好，汉EV品鉴会周六14:00 {限时} 回T退订"
    with pytest.raises(InvalidInput, match=r"\{mobile\}"):
        c.check_template("Hi {name}, your number {mobile}")
    with pytest.raises(InvalidInput, match="braces"):
        c.check_template("Hi {name")
    with pytest.raises(InvalidInput, match="only use the placeholder"):
        c.check_template("Hi {name!r}")
    with pytest.raises(InvalidInput, match="1 to 500"):
        c.check_template("x" * 501)
    with pytest.raises(InvalidInput, match="not one of sms, wechat"):
        c.check_channel("email")


def test_a_running_send_blocks_another_until_it_stalls() -> None:
    c.check_can_send("sent", NOW, NOW)  # a resend
    with pytest.raises(Conflict, match="being sent right now"):
        c.check_can_send("sending", NOW - timedelta(minutes=1), NOW)
    c.check_can_send("sending", NOW - c.STALE_SENDING - timedelta(seconds=1), NOW)


def test_summary_counts_outcomes_and_reasons() -> None:
    summary = c.summarise(
        [("sent", ""), ("excluded", "no_consent"), ("excluded", "no_consent"), ("failed", "")]
    )
    assert summary["sent"] == 1 and summary["failed"] == 1 and summary["excluded"] == 2
    assert summary["excluded_by_reason"] == {
        "no_consent": 2,
        "no_address": 0,
        "frequency_capped": 0,
    }


# ---- complaints -----------------------------------------------------------------------------


def test_complaints_route_by_category_with_a_severity_sla() -> None:
    assert comp.route("repair_quality", "high") == comp.Routing("service", 240)
    assert comp.route("billing", "critical").department == "finance"
    assert comp.route("pricing", "low", department="other").department == "other"
    with pytest.raises(InvalidInput) as bad:
        comp.route("noise", "urgent")
    assert {e["field"] for e in bad.value.errors or []} == {"category", "severity"}


def test_complaint_status_moves() -> None:
    comp.check_move("received", "acknowledged", "")
    comp.check_move("resolved", "in_progress", "first fix did not hold")
    with pytest.raises(InvalidInput, match="how the complaint was resolved"):
        comp.check_move("in_progress", "resolved", " ")
    with pytest.raises(Conflict, match="nothing"):
        comp.check_move("closed", "in_progress", "")
    with pytest.raises(Conflict, match="cannot become closed"):
        comp.check_move("received", "closed", "")
    assert comp.is_response("received", "in_progress")
    assert not comp.is_response("acknowledged", "in_progress")
