"""Money out: the posting rules (supplier invoice, payment, floor-plan drawdown, payoff, accrual,
adjustment), the payables rulebook (payments, manual invoices, ledger) and the shared ageing."""

from __future__ import annotations

from datetime import date

import pytest

from marque_finance.domain import payables as ap
from marque_finance.domain.ageing import BUCKET_KEYS, age, bucket_of
from marque_finance.domain.floorplan import AccrualLine
from marque_finance.domain.ledger import EntryDraft
from marque_finance.domain.posting_rules import money_out as rules
from marque_kit.errors import Conflict, InvalidInput

VIN = "LGXCE4CB5R0123456"


def sides(draft: EntryDraft) -> list[tuple[str, int, int, str]]:
    return [(ln.account, ln.debit, ln.credit, ln.party) for ln in draft.checked().lines]


def test_supplier_invoice_debits_what_it_buys_and_input_vat() -> None:
    draft = rules.supplier_invoice(
        store_id="SH01",
        payable_id="p1",
        supplier="上海物业",
        reference="FP-0001",
        account="6602.02",
        net_fen=100_000,
        vat_fen=13_000,
        issued_on=date(2026, 11, 3),
        description="Office rent",
        created_by="sh.finance",
    )
    assert sides(draft) == [
        ("6602.02", 100_000, 0, "上海物业"),
        ("2221.01", 13_000, 0, "上海物业"),
        ("2202.02", 0, 113_000, "上海物业"),
    ]
    assert (draft.source_event_id, draft.rule, draft.source_id) == (
        "payable:p1",
        "supplier_invoice",
        "p1",
    )
    assert draft.entry_date == date(2026, 11, 3)


def test_payment_debits_the_payable_and_credits_the_bank_with_the_bank_reference() -> None:
    draft = rules.payable_payment(
        store_id="SH01",
        payment_id="pay-1",
        payable_account="2202.01",
        supplier="OEM:BYD",
        reference=VIN,
        amount_fen=5_000_000,
        paid_on=date(2026, 11, 5),
        bank_reference="CMB20261105-778",
        vin=VIN,
        model_code="BYD-HAN",
    )
    checked = draft.checked()
    assert sides(draft) == [
        ("2202.01", 5_000_000, 0, "OEM:BYD"),
        ("1002", 0, 5_000_000, "OEM:BYD"),
    ]
    assert checked.lines[1].memo == "CMB20261105-778"
    assert checked.lines[0].vin == VIN and checked.lines[0].model_code == "BYD-HAN"
    assert draft.source_event_id == "payment:pay-1" and draft.source_id == "pay-1"


def test_drawdown_moves_the_oem_debt_to_the_lender() -> None:
    draft = rules.floorplan_drawdown(
        store_id="SH01",
        loan_id="loan-1",
        oem="OEM:BYD",
        lender_name="比亚迪汽车金融",
        vin=VIN,
        model_code="BYD-HAN",
        principal_fen=21_583_000,
        drawn_on=date(2026, 10, 2),
    )
    assert sides(draft) == [
        ("2202.01", 21_583_000, 0, "OEM:BYD"),
        ("2001.01", 0, 21_583_000, "LENDER:比亚迪汽车金融"),
    ]
    assert draft.source_event_id == "floorplan:drawdown:loan-1"
    assert all(ln.vin == VIN for ln in draft.lines)


def test_payoff_repays_the_principal_from_the_bank() -> None:
    draft = rules.floorplan_payoff(
        store_id="SH01",
        loan_id="loan-1",
        lender_name="BYD Finance",
        vin=VIN,
        model_code="BYD-HAN",
        principal_fen=21_583_000,
        paid_on=date(2026, 11, 20),
        bank_reference="ICBC-99",
        created_by="sh.finance",
    )
    assert sides(draft) == [
        ("2001.01", 21_583_000, 0, "LENDER:BYD Finance"),
        ("1002", 0, 21_583_000, "LENDER:BYD Finance"),
    ]
    assert draft.checked().lines[1].memo == "ICBC-99"
    assert draft.source_event_id == "floorplan:payoff:loan-1"


def line(vin: str, fen: int, lender: str = "BYD Finance", days: int = 31) -> AccrualLine:
    return AccrualLine(f"loan-{vin}", vin, "BYD-HAN", "L", lender, days, fen)


def test_accrual_is_one_cost_line_per_vehicle_and_one_payable_line_per_lender() -> None:
    draft = rules.floorplan_accrual(
        store_id="SH01",
        month="2026-10",
        entry_date=date(2026, 10, 31),
        lines=[line("V1", 81_925), line("V2", 0), line("V3", 12_345, lender="ICBC")],
    )
    assert draft is not None
    checked = draft.checked()
    assert sides(draft) == [
        ("6603", 81_925, 0, "LENDER:BYD Finance"),
        ("6603", 12_345, 0, "LENDER:ICBC"),
        ("2231", 0, 81_925, "LENDER:BYD Finance"),
        ("2231", 0, 12_345, "LENDER:ICBC"),
    ]
    assert [ln.vin for ln in checked.lines[:2]] == ["V1", "V3"]
    assert checked.lines[0].model_code == "BYD-HAN"
    assert draft.source_event_id == "floorplan:SH01:2026-10"
    assert draft.entry_date == date(2026, 10, 31)


def test_accrual_keys_and_a_month_without_interest() -> None:
    assert rules.accrual_key("SH01", "2026-10") == "floorplan:SH01:2026-10"
    assert rules.accrual_key("SH01", "2026-10", 2) == "floorplan:SH01:2026-10:2"
    nothing = rules.floorplan_accrual(
        store_id="SH01", month="2026-10", entry_date=date(2026, 10, 31), lines=[line("V1", 0)]
    )
    assert nothing is None


def test_adjustment_gives_interest_back() -> None:
    draft = rules.floorplan_interest_adjustment(
        store_id="SH01",
        loan_id="loan-1",
        lender_name="BYD Finance",
        vin=VIN,
        model_code="BYD-HAN",
        amount_fen=2_731,
        on=date(2026, 11, 2),
        created_by="sh.finance",
    )
    assert sides(draft) == [
        ("2231", 2_731, 0, "LENDER:BYD Finance"),
        ("6603", 0, 2_731, "LENDER:BYD Finance"),
    ]
    assert draft.source_event_id == "floorplan:adjust:loan-1"


# --- payables rulebook ----------------------------------------------------------------------


def test_partial_payments_and_status() -> None:
    assert ap.status_of(1_000, 0) is ap.PayableStatus.OPEN
    assert ap.status_of(1_000, 400) is ap.PayableStatus.PARTIALLY_PAID
    assert ap.status_of(1_000, 1_000) is ap.PayableStatus.PAID
    assert ap.check_payment(reference="R", supplier="S", outstanding_fen=600, amount_fen=600) == 600


def test_a_payment_above_the_outstanding_amount_is_a_conflict_naming_it() -> None:
    with pytest.raises(Conflict, match=r"more than the 6\.00 CNY still outstanding") as caught:
        ap.check_payment(reference="FP-1", supplier="S", outstanding_fen=600, amount_fen=601)
    assert caught.value.errors == [
        {"field": "amount_fen", "rule": "at_most_outstanding", "outstanding_fen": 600}
    ]
    with pytest.raises(Conflict, match="already paid in full"):
        ap.check_payment(reference="FP-1", supplier="S", outstanding_fen=0, amount_fen=1)
    with pytest.raises(InvalidInput, match="more than zero"):
        ap.check_payment(reference="FP-1", supplier="S", outstanding_fen=600, amount_fen=0)
    with pytest.raises(InvalidInput, match="whole number of fen"):
        ap.check_payment(reference="FP-1", supplier="S", outstanding_fen=600, amount_fen=1.5)


def test_payment_dates_and_bank_reference() -> None:
    today = date(2026, 11, 27)
    assert ap.check_paid_on(today, issued_on=date(2026, 11, 1), today=today) == today
    with pytest.raises(InvalidInput, match="in the future"):
        ap.check_paid_on(date(2026, 11, 28), issued_on=date(2026, 11, 1), today=today)
    with pytest.raises(InvalidInput, match="before the payable was booked"):
        ap.check_paid_on(date(2026, 10, 31), issued_on=date(2026, 11, 1), today=today)
    with pytest.raises(InvalidInput, match="流水号"):
        ap.check_bank_reference("  ")


def invoice(**overrides: object) -> ap.SupplierInvoice:
    values: dict[str, object] = dict(
        supplier=" 上海物业 ",
        reference="FP-0001",
        net_fen=10_001,
        vat_fen=None,
        account="6602.02",
        issued_on=date(2026, 11, 3),
        due_on=None,
        terms_days=30,
    )
    values.update(overrides)
    return ap.supplier_invoice(**values)  # type: ignore[arg-type]


def test_a_manual_invoice_defaults_vat_to_13_percent_and_the_due_date_to_the_terms() -> None:
    inv = invoice()
    assert (inv.supplier, inv.net_fen, inv.vat_fen, inv.gross_fen) == (
        "上海物业",
        10_001,
        1_300,
        11_301,
    )
    assert inv.due_on == date(2026, 12, 3)
    assert invoice(vat_fen=0).vat_fen == 0  # e.g. a small-scale taxpayer's invoice
    assert invoice(account="1405.05").account == "1405.05"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"account": "2202.02"}, "cannot be bought on a supplier invoice"),
        ({"account": "1002"}, "cannot be bought on a supplier invoice"),
        ({"supplier": "OEM:BYD"}, "booked when the vehicle arrives"),
        ({"supplier": " "}, "Name the supplier"),
        ({"reference": ""}, "invoice number"),
        ({"net_fen": 0}, "more than zero"),
        ({"due_on": date(2026, 11, 2)}, "before the invoice date"),
    ],
)
def test_bad_manual_invoices_are_refused(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        invoice(**overrides)


def test_the_supplier_ledger_runs_a_balance() -> None:
    def mv(on: date, kind: str, credit: int = 0, debit: int = 0) -> ap.Movement:
        return ap.Movement(on, kind, "d", "p", "SH01", "R", "", credit_fen=credit, debit_fen=debit)

    rows = ap.running_balance(
        500,
        [
            mv(date(2026, 11, 5), "payment", debit=300),
            mv(date(2026, 11, 5), "invoice", credit=1_000),
            mv(date(2026, 11, 1), "invoice", credit=200),
        ],
    )
    assert [(r.movement.on.day, r.movement.kind, r.balance_fen) for r in rows] == [
        (1, "invoice", 700),
        (5, "invoice", 1_700),
        (5, "payment", 1_400),
    ]


def test_oem_supplier_name() -> None:
    assert ap.oem_supplier(" byd ") == "OEM:BYD"
    with pytest.raises(InvalidInput):
        ap.oem_supplier("")


# --- ageing (shared with AR) ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "bucket"),
    [
        (-10, "current"),
        (0, "current"),
        (1, "1_30"),
        (30, "1_30"),
        (31, "31_60"),
        (60, "31_60"),
        (61, "61_90"),
        (90, "61_90"),
        (91, "91_180"),
        (180, "91_180"),
        (181, "over_180"),
        (5_000, "over_180"),
    ],
)
def test_bucket_boundaries(days: int, bucket: str) -> None:
    assert bucket_of(days) == bucket


def test_ageing_sums_per_supplier_and_bucket() -> None:
    as_of = date(2026, 11, 27)

    def open_(party: str, due: date, fen: int) -> ap.OpenPayable:
        return ap.OpenPayable("p", "SH01", party, "R", due, fen)

    result = age(
        [
            open_("OEM:BYD", date(2026, 12, 1), 1_000),  # not due yet
            open_("OEM:BYD", date(2026, 11, 20), 2_000),  # 7 days
            open_("SUPPLIER:PARTS", date(2026, 5, 1), 300),  # 210 days
            open_("SUPPLIER:PARTS", date(2026, 5, 1), 0),  # settled: left out
        ],
        as_of,
    )
    assert [p.party for p in result.parties] == ["OEM:BYD", "SUPPLIER:PARTS"]
    byd, parts = result.parties
    assert byd.buckets == {**dict.fromkeys(BUCKET_KEYS, 0), "current": 1_000, "1_30": 2_000}
    assert (byd.total_fen, byd.documents) == (3_000, 2)
    assert (parts.buckets["over_180"], parts.documents) == (300, 1)
    assert result.totals["current"] == 1_000 and result.total_fen == 3_300
