"""The statements rulebook: trial balance, P&L, balance sheet, cash flow, gross profit, group."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from hypothesis import given, settings
from hypothesis import strategies as st

from marque_finance.domain.accounts import TEMPLATE, Category
from marque_finance.domain.statements import (
    AccountInfo,
    CashFlowClass,
    Chart,
    GrossProfitSum,
    InterStoreBalance,
    Movement,
    balance_sheet,
    cash_flow,
    cash_movements,
    classify_entry,
    consolidate,
    deciding_account,
    eliminate_inter_store,
    gross_profit_rows,
    profit_and_loss,
    trial_balance,
)

CHART = Chart.template()
Entry = dict[str, int]  # account -> debits minus credits


def movements(before: Iterable[Entry], within: Iterable[Entry]) -> dict[str, Movement]:
    """Sum entries the way the report queries do: balance before the range, debits and credits
    within it."""
    out: dict[str, Movement] = defaultdict(Movement)
    for entry in before:
        for code, amount in entry.items():
            out[code] = out[code] + Movement(opening=amount)
    for entry in within:
        for code, amount in entry.items():
            out[code] = out[code] + Movement(debit=max(amount, 0), credit=max(-amount, 0))
    return dict(out)


def closing(sums: dict[str, Movement]) -> dict[str, int]:
    return {c: m.closing for c, m in sums.items()}


CAPITAL = {"1002": 1_000_000, "4001": -1_000_000}
BUY_CAR = {"1405.01": 200_000, "2221.01": 26_000, "2202.01": -226_000}
PAY_OEM = {"2202.01": 226_000, "1002": -226_000}
INVOICE_CAR = {"1122": 282_500, "6001.01": -250_000, "2221.02": -32_500}
COST_CAR = {"6401.01": 200_000, "1405.01": -200_000}
RECEIPT = {"1002": 282_500, "1122": -282_500}
SERVICE_CASH_SALE = {"1001": 11_300, "6001.04": -10_000, "2221.02": -1_300}
COMMISSION = {"1122": 5_000, "6051.01": -5_000}
EXPENSE_CLAIM = {"6602.02": 3_000, "2221.01": 390, "2241.01": -3_390}
PAY_CLAIM = {"2241.01": 3_390, "1002": -3_390}
BANK_FEE = {"6603": 50, "1002": -50}
ADVERT = {"6601.01": 8_000, "1002": -8_000}
DRAWDOWN = {"1002": 150_000, "2001.01": -150_000}
CASH_TO_BANK = {"1002": 10_000, "1001": -10_000}


def test_trial_balance_rolls_parents_up_and_balances() -> None:
    sums = movements([CAPITAL, BUY_CAR], [PAY_OEM, INVOICE_CAR, COST_CAR, RECEIPT])
    tb = trial_balance(CHART, sums)
    rows = {r.code: r for r in tb.rows}
    assert tb.balanced
    assert rows["1405"].level == 1 and not rows["1405"].is_leaf
    assert rows["1405.01"].level == 2 and rows["1405.01"].is_leaf
    assert (rows["1405"].opening_debit, rows["1405"].credit, rows["1405"].closing_debit) == (
        200_000,
        200_000,
        0,
    )
    # Bank: 1,000,000 opening, +282,500 in, -226,000 out.
    assert rows["1002"].opening_debit == 1_000_000
    assert (rows["1002"].debit, rows["1002"].credit) == (282_500, 226_000)
    assert rows["1002"].closing_debit == 1_056_500
    # Payables have a credit balance before, nothing after.
    assert rows["2202"].opening_credit == 226_000 and rows["2202"].closing_credit == 0
    # Totals over top-level accounts only (a parent already holds its sub-accounts).
    assert tb.totals.debit == sum(
        a for e in (PAY_OEM, INVOICE_CAR, COST_CAR, RECEIPT) for a in e.values() if a > 0
    )
    assert tb.totals.opening_debit == tb.totals.opening_credit == 1_226_000


def test_trial_balance_leaves_out_accounts_that_never_moved() -> None:
    tb = trial_balance(CHART, movements([], [BANK_FEE]))
    assert [r.code for r in tb.rows] == ["1002", "6603"]


def test_profit_and_loss_reads_revenue_and_profit_positive() -> None:
    sums = movements(
        [CAPITAL],
        [INVOICE_CAR, COST_CAR, SERVICE_CASH_SALE, COMMISSION, EXPENSE_CLAIM, BANK_FEE, ADVERT],
    )
    pnl = profit_and_loss(CHART, sums)
    assert {r.code: r.amount for r in pnl.revenue} == {
        "6001.01": 250_000,
        "6001.04": 10_000,
        "6051.01": 5_000,
    }
    assert pnl.total_revenue == 265_000
    assert pnl.total_cost_of_sales == 200_000
    assert pnl.gross_profit == 65_000
    assert (pnl.selling_expenses, pnl.admin_expenses, pnl.finance_costs) == (8_000, 3_000, 50)
    assert pnl.other_expenses == 0
    assert pnl.net_profit == 65_000 - 11_050
    by_line = {b.business_line: (b.revenue, b.cost, b.gross_profit) for b in pnl.by_business_line}
    assert by_line == {
        "new_vehicles": (250_000, 200_000, 50_000),
        "service_labor": (10_000, 0, 10_000),
        "insurance_commission": (5_000, 0, 5_000),
    }


def test_a_refund_of_revenue_reduces_revenue() -> None:
    credit_note = {"6001.04": 2_000, "1122": -2_000}
    pnl = profit_and_loss(CHART, movements([], [SERVICE_CASH_SALE, credit_note]))
    assert pnl.total_revenue == 8_000


def test_store_sub_account_gets_its_own_line_and_head() -> None:
    chart = Chart(
        [*_template_infos(), AccountInfo("6602.20", "办公费", "Office", Category.EXPENSE, "6602")]
    )
    pnl = profit_and_loss(chart, movements([], [{"6602.20": 700, "1001": -700}]))
    assert [(e.code, e.name, e.amount) for e in pnl.expenses] == [("6602.20", "办公费", 700)]
    assert pnl.admin_expenses == 700


def _template_infos() -> list[AccountInfo]:
    return [AccountInfo(a.code, a.name, a.name_en, a.category, a.parent_code) for a in TEMPLATE]


def test_balance_sheet_holds_with_unclosed_profit_on_4103() -> None:
    entries = [CAPITAL, BUY_CAR, PAY_OEM, INVOICE_CAR, COST_CAR, RECEIPT, EXPENSE_CLAIM, DRAWDOWN]
    bs = balance_sheet(CHART, closing(movements(entries, [])))
    assert bs.balanced
    profit = 250_000 - 200_000 - 3_000
    assert bs.unclosed_profit == profit
    assert bs.current_year_profit == profit
    equity = {r.code: r.amount for r in bs.equity}
    assert equity == {"4001": 1_000_000, "4103": profit}
    liabilities = {r.code: r.amount for r in bs.liabilities}
    # Output VAT 32,500 less input VAT 26,390: a net 6,110 owed, with the inputs negative.
    assert liabilities["2221"] == 6_110 and liabilities["2221.01"] == -26_390
    assert liabilities["2001"] == 150_000 and liabilities["2241"] == 3_390
    assert bs.total_assets == 1_000_000 + 282_500 - 226_000 + 150_000


def test_balance_sheet_adds_profit_already_closed_to_4103() -> None:
    closing_entry = {"6001.04": 10_000, "4103": -10_000}
    bs = balance_sheet(CHART, closing(movements([SERVICE_CASH_SALE, closing_entry], [])))
    assert bs.unclosed_profit == 0
    assert bs.current_year_profit == 10_000
    assert bs.balanced


def test_empty_books_show_a_zero_profit_line_and_balance() -> None:
    bs = balance_sheet(CHART, {})
    assert bs.balanced and [r.code for r in bs.equity] == ["4103"] and not bs.assets


def test_cash_flow_classifies_by_counter_account_and_reconciles() -> None:
    before = [CAPITAL]
    within = [
        PAY_OEM,
        RECEIPT,
        SERVICE_CASH_SALE,
        PAY_CLAIM,
        BANK_FEE,
        ADVERT,
        DRAWDOWN,
        CASH_TO_BANK,
        INVOICE_CAR,  # no cash: not in the cash flow
        {"1002": -40_000, "1901": 40_000},  # sent to a sister store
    ]
    sums = movements(before, within)
    opening = sums["1002"].opening
    closing_cash = sums["1001"].closing + sums["1002"].closing
    flow = cash_flow(opening, closing_cash, cash_movements(within))
    lines = {line.category: (line.inflow, line.outflow) for line in flow.lines}
    assert lines[CashFlowClass.CUSTOMER_RECEIPTS] == (282_500 + 11_300, 0)
    assert lines[CashFlowClass.SUPPLIER_PAYMENTS] == (0, 226_000)
    assert lines[CashFlowClass.EXPENSES_PAID] == (0, 3_390 + 50 + 8_000)
    assert lines[CashFlowClass.FINANCING] == (150_000, 0)
    assert lines[CashFlowClass.INTER_STORE] == (0, 40_000)
    assert lines[CashFlowClass.OTHER] == (0, 0)
    assert flow.reconciles
    assert flow.opening_cash + flow.net_change == flow.closing_cash == 1_166_360


def test_cash_flow_reports_a_gap_when_entries_do_not_explain_the_closing_cash() -> None:
    flow = cash_flow(1_000, 1_500, cash_movements([{"1002": 400, "1122": -400}]))
    assert not flow.reconciles and flow.net_change == 400


def test_a_mixed_cash_entry_follows_its_largest_counter_line_vat_aside() -> None:
    assert classify_entry({"1002": -10_050, "2202.01": 10_000, "6603": 50}) == (
        CashFlowClass.SUPPLIER_PAYMENTS
    )
    assert classify_entry({"1001": 11_300, "2221.02": -1_300, "6001.04": -10_000}) == (
        CashFlowClass.CUSTOMER_RECEIPTS
    )
    assert classify_entry({"1002": -500, "2221.02": 500}) == CashFlowClass.OTHER
    # Equal lines: the lowest code decides, so the answer never depends on line order.
    assert deciding_account({"1002": 200, "2203": -100, "1122": -100}) == "1122"


def test_gross_profit_rows_by_store_line_model_and_month() -> None:
    sums = [
        GrossProfitSum("S1", "2026-01", "6001.01", "new_vehicles", "MY", 0, 250_000),
        GrossProfitSum("S1", "2026-01", "6401.01", "new_vehicles", "MY", 200_000, 0),
        GrossProfitSum("S1", "2026-02", "6001.01", "new_vehicles", "MY", 0, 100_000),
        GrossProfitSum("S1", "2026-01", "6001.01", "new_vehicles", "M3", 0, 50_000),
        # An untagged line takes its account's business line.
        GrossProfitSum("S1", "2026-01", "6001.03", "", "", 0, 8_000),
        GrossProfitSum("S1", "2026-01", "6401.03", "", "", 6_000, 0),
        GrossProfitSum("S2", "2026-01", "6401.01", "new_vehicles", "MY", 90_000, 0),
        GrossProfitSum("S1", "2026-01", "1122", "", "", 1, 0),  # not revenue or cost
    ]
    rows = gross_profit_rows(CHART, sums)
    got = [(r.store_id, r.business_line, r.model_code, r.period, r.revenue, r.cost) for r in rows]
    assert got == [
        ("S1", "new_vehicles", "M3", "2026-01", 50_000, 0),
        ("S1", "new_vehicles", "MY", "2026-01", 250_000, 200_000),
        ("S1", "new_vehicles", "MY", "2026-02", 100_000, 0),
        ("S1", "parts", "", "2026-01", 8_000, 6_000),
        ("S2", "new_vehicles", "MY", "2026-01", 0, 90_000),
    ]
    assert rows[1].gross_profit == 50_000 and rows[1].margin_pct == 20.0
    assert rows[3].margin_pct == 25.0
    assert rows[4].margin_pct is None


def test_group_consolidation_sums_stores_and_eliminates_inter_store() -> None:
    sent = {"1405.01": -100_000, "1901": 100_000}  # S1 ships a car to S2 at cost
    received = {"1405.01": 100_000, "1901": -100_000}
    group = consolidate({"S1": movements([], [sent]), "S2": movements([], [received])})
    assert group["1901"].net == 0 and group["1405.01"].net == 0
    elimination = eliminate_inter_store(
        [InterStoreBalance("S1", "S2", 100_000), InterStoreBalance("S2", "S1", -100_000)]
    )
    assert elimination.balanced
    assert (elimination.claims, elimination.debts, elimination.eliminated) == (
        100_000,
        100_000,
        100_000,
    )


def test_a_one_sided_inter_store_posting_is_flagged() -> None:
    elimination = eliminate_inter_store(
        [
            InterStoreBalance("S1", "S2", 100_000),
            InterStoreBalance("S2", "S1", -60_000),
            InterStoreBalance("S3", "S1", 5_000),
            InterStoreBalance("S4", "", -1_000),
        ]
    )
    assert not elimination.balanced
    assert elimination.difference == 105_000 - 61_000
    assert [
        (m.store_id, m.counterparty_store_id, m.difference) for m in elimination.mismatched_pairs
    ] == [
        ("S1", "S2", 40_000),
        ("S3", "S1", 5_000),
        ("S4", "", -1_000),
    ]


# --- properties ----------------------------------------------------------------------------

LEAVES = [a.code for a in TEMPLATE if not any(b.parent_code == a.code for b in TEMPLATE)]


@st.composite
def balanced_entry(draw: st.DrawFn) -> Entry:
    """A random balanced entry: some debits, and credits that add up to the same total."""
    debits = draw(st.lists(st.integers(1, 10_000_000), min_size=1, max_size=3))
    n_credits = draw(st.integers(1, 3))
    total = sum(debits)
    cuts = sorted(
        draw(st.lists(st.integers(0, total), min_size=n_credits - 1, max_size=n_credits - 1))
    )
    credits = [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]
    entry: Entry = defaultdict(int)
    for amount in debits:
        entry[draw(st.sampled_from(LEAVES))] += amount
    for amount in credits:
        entry[draw(st.sampled_from(LEAVES))] -= amount
    return dict(entry)


entry_lists = st.lists(balanced_entry(), max_size=12)


@settings(max_examples=150, deadline=None)
@given(before=entry_lists, within=entry_lists)
def test_any_balanced_books_give_a_balanced_trial_balance(
    before: list[Entry], within: list[Entry]
) -> None:
    sums = movements(before, within)
    tb = trial_balance(CHART, sums)
    assert tb.balanced
    # Parents hold exactly their sub-accounts.
    rows = {r.code: r for r in tb.rows}
    for row in tb.rows:
        if row.level == 1 and not row.is_leaf:
            kids = [r for r in tb.rows if r.code.startswith(row.code + ".")]
            assert row.debit == sum(k.debit for k in kids)
            assert rows[row.code].credit == sum(k.credit for k in kids)


@settings(max_examples=150, deadline=None)
@given(entries=entry_lists)
def test_any_balanced_books_give_a_balance_sheet_that_balances(entries: list[Entry]) -> None:
    bs = balance_sheet(CHART, closing(movements(entries, [])))
    assert bs.balanced
    pnl = profit_and_loss(CHART, movements([], entries))
    assert bs.unclosed_profit == pnl.net_profit


@settings(max_examples=100, deadline=None)
@given(before=entry_lists, within=entry_lists)
def test_cash_flow_always_reconciles_on_balanced_books(
    before: list[Entry], within: list[Entry]
) -> None:
    sums = movements(before, within)
    cash = [c for c in sums if c in ("1001", "1002")]
    opening, closing_cash = (sum(sums[c].opening for c in cash), sum(sums[c].closing for c in cash))
    flow = cash_flow(opening, closing_cash, cash_movements(within))
    assert flow.reconciles
