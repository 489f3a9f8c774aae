"""Financial statements (财务报表) from the books: the rules that turn account sums into reports.

Everything here is pure arithmetic on integer fen. The caller sums the journal (per account:
the balance before the range, and the debits and credits within it) and hands the sums over;
these functions arrange them into:

- the trial balance (科目余额表): opening, period debits and credits, closing, per account with
  its parents rolled up; the totals of the top-level accounts balance, always;
- the profit and loss statement (利润表): revenue by business line, cost of sales, gross profit,
  selling, administrative and finance costs, net profit. Revenue and profit read positive;
- the balance sheet (资产负债表) as at the end of a period: assets = liabilities + equity, where
  equity carries the profit not yet closed to it on the 4103 本年利润 line;
- the cash-flow summary (现金流量表摘要): movements on cash and bank (1001, 1002) classified by
  what each entry's other lines say the money was for; opening cash + net = closing cash;
- gross profit by store x business line x model x month (毛利分析);
- group consolidation (合并): the stores' sums added up, with the inter-store account (1901)
  eliminated; it must net to zero across the group, and a pair that does not mirror is flagged.

Balances are "debit-positive" (debits minus credits) on the way in; each statement states its own
sign convention on the way out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from marque_finance.domain.accounts import (
    COST_ACCOUNT,
    COST_OF_SALES,
    CURRENT_YEAR_PROFIT,
    INTER_STORE,
    REVENUE_ACCOUNT,
    TEMPLATE,
    Category,
    Side,
    covers,
)

# --- the chart the reports read ------------------------------------------------------------


@dataclass(frozen=True)
class AccountInfo:
    """An account as the reports see it: code, names, category and parent."""

    code: str
    name: str
    name_en: str
    category: Category
    parent_code: str = ""

    @property
    def normal_side(self) -> Side:
        return Side.DEBIT if self.category in (Category.ASSET, Category.EXPENSE) else Side.CREDIT


def _category_from_code(code: str) -> Category:
    """A last resort for an account missing from the chart: the code's class (1 asset, 2
    liability, 4 equity, 60xx revenue, other 6xxx expense), as the national chart numbers them."""
    head = code[:1]
    if head == "1":
        return Category.ASSET
    if head == "2":
        return Category.LIABILITY
    if head in ("3", "4"):
        return Category.EQUITY
    return Category.REVENUE if code.startswith("60") else Category.EXPENSE


class Chart:
    """The accounts of one store (or the union of every store's, for the group)."""

    def __init__(self, accounts: Iterable[AccountInfo]) -> None:
        self._by_code: dict[str, AccountInfo] = {a.code: a for a in accounts}

    @classmethod
    def template(cls) -> Chart:
        return cls(
            AccountInfo(a.code, a.name, a.name_en, a.category, a.parent_code) for a in TEMPLATE
        )

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def codes(self) -> list[str]:
        return sorted(self._by_code)

    def info(self, code: str) -> AccountInfo:
        """The account; one the chart does not know takes its parent's (or its code's) class."""
        known = self._by_code.get(code)
        if known is not None:
            return known
        parent = code.rsplit(".", 1)[0] if "." in code else ""
        category = self.info(parent).category if parent else _category_from_code(code)
        return AccountInfo(code, code, code, category, parent)

    def ancestors(self, code: str) -> list[str]:
        """The account itself, then its parent, its parent's parent ... up to the top level."""
        chain = [code]
        seen = {code}
        parent = self.info(code).parent_code
        while parent and parent not in seen:
            chain.append(parent)
            seen.add(parent)
            parent = self.info(parent).parent_code
        return chain

    def level(self, code: str) -> int:
        return len(self.ancestors(code))

    def has_children(self, code: str) -> bool:
        return any(a.parent_code == code for a in self._by_code.values())

    def under(self, parent: str) -> list[str]:
        """The codes a balance of `parent` includes: itself and its sub-accounts."""
        return [c for c in self.codes() if covers(parent, c)]

    def of_category(self, *categories: Category) -> list[str]:
        return [c for c in self.codes() if self._by_code[c].category in categories]


@dataclass(frozen=True)
class Movement:
    """One account's sums: the balance before the range, and the range's debits and credits."""

    opening: int = 0  # debits minus credits before the first period of the range
    debit: int = 0
    credit: int = 0

    @property
    def closing(self) -> int:
        return self.opening + self.debit - self.credit

    @property
    def net(self) -> int:
        """Debits minus credits within the range."""
        return self.debit - self.credit

    def __add__(self, other: Movement) -> Movement:
        return Movement(
            self.opening + other.opening, self.debit + other.debit, self.credit + other.credit
        )


def roll_up(chart: Chart, sums: Mapping[str, Movement]) -> dict[str, Movement]:
    """Each account's own sums plus its sub-accounts', for every account on the way up."""
    out: dict[str, Movement] = defaultdict(Movement)
    for code, movement in sums.items():
        for account in chart.ancestors(code):
            out[account] = out[account] + movement
    return dict(out)


def _sides(balance: int) -> tuple[int, int]:
    """A debit-positive balance written in the debit or the credit column (借/贷)."""
    return (balance, 0) if balance >= 0 else (0, -balance)


# --- trial balance -------------------------------------------------------------------------


@dataclass(frozen=True)
class TrialBalanceRow:
    code: str
    name: str
    name_en: str
    category: Category
    level: int  # 1 for a top-level (一级) account, 2 for its sub-accounts
    is_leaf: bool
    opening_debit: int
    opening_credit: int
    debit: int
    credit: int
    closing_debit: int
    closing_credit: int


@dataclass(frozen=True)
class TrialBalanceTotals:
    opening_debit: int = 0
    opening_credit: int = 0
    debit: int = 0
    credit: int = 0
    closing_debit: int = 0
    closing_credit: int = 0

    @property
    def balanced(self) -> bool:
        return (
            self.opening_debit == self.opening_credit
            and self.debit == self.credit
            and self.closing_debit == self.closing_credit
        )


@dataclass(frozen=True)
class TrialBalance:
    rows: tuple[TrialBalanceRow, ...]
    totals: TrialBalanceTotals

    @property
    def balanced(self) -> bool:
        return self.totals.balanced


def trial_balance(chart: Chart, sums: Mapping[str, Movement]) -> TrialBalance:
    """Opening, movements and closing per account, parents rolled up; all-zero accounts left out.

    Balances are written in the debit or credit column by their sign. The totals add up the
    top-level accounts only (a parent already holds its sub-accounts), so debits equal credits in
    each pair of columns whenever every entry balanced.
    """
    rolled = roll_up(chart, sums)
    rows = []
    for code in sorted(rolled):
        m = rolled[code]
        if not (m.opening or m.debit or m.credit):
            continue
        info = chart.info(code)
        od, oc = _sides(m.opening)
        cd, cc = _sides(m.closing)
        rows.append(
            TrialBalanceRow(
                code=code,
                name=info.name,
                name_en=info.name_en,
                category=info.category,
                level=chart.level(code),
                is_leaf=not chart.has_children(code),
                opening_debit=od,
                opening_credit=oc,
                debit=m.debit,
                credit=m.credit,
                closing_debit=cd,
                closing_credit=cc,
            )
        )
    top = [r for r in rows if r.level == 1]
    totals = TrialBalanceTotals(
        opening_debit=sum(r.opening_debit for r in top),
        opening_credit=sum(r.opening_credit for r in top),
        debit=sum(r.debit for r in top),
        credit=sum(r.credit for r in top),
        closing_debit=sum(r.closing_debit for r in top),
        closing_credit=sum(r.closing_credit for r in top),
    )
    return TrialBalance(tuple(rows), totals)


# --- profit and loss -----------------------------------------------------------------------

SELLING = "6601"
ADMIN = "6602"
FINANCE = "6603"
EXPENSE_HEADS = (SELLING, ADMIN, FINANCE)

_LINE_OF_ACCOUNT = {
    **{code: line.value for line, code in REVENUE_ACCOUNT.items()},
    **{code: line.value for line, code in COST_ACCOUNT.items()},
}


def business_line_of_account(code: str) -> str:
    """The business line a revenue or cost account belongs to ("" when it names none)."""
    for account, line in _LINE_OF_ACCOUNT.items():
        if covers(account, code):
            return line
    return ""


def is_cost_of_sales(code: str) -> bool:
    return covers(COST_OF_SALES, code)


@dataclass(frozen=True)
class PnlLine:
    """One account's figure on the P&L: revenue credit-positive, costs debit-positive."""

    code: str
    name: str
    name_en: str
    business_line: str
    amount: int


@dataclass(frozen=True)
class LineProfit:
    """Gross profit of one business line, read off its revenue and cost-of-sales accounts."""

    business_line: str
    revenue: int
    cost: int

    @property
    def gross_profit(self) -> int:
        return self.revenue - self.cost


@dataclass(frozen=True)
class ProfitAndLoss:
    revenue: tuple[PnlLine, ...]
    cost_of_sales: tuple[PnlLine, ...]
    expenses: tuple[PnlLine, ...]
    by_business_line: tuple[LineProfit, ...]
    total_revenue: int
    total_cost_of_sales: int
    selling_expenses: int
    admin_expenses: int
    finance_costs: int
    other_expenses: int

    @property
    def gross_profit(self) -> int:
        return self.total_revenue - self.total_cost_of_sales

    @property
    def total_expenses(self) -> int:
        return (
            self.selling_expenses + self.admin_expenses + self.finance_costs + self.other_expenses
        )

    @property
    def net_profit(self) -> int:
        return self.gross_profit - self.total_expenses


def profit_and_loss(chart: Chart, sums: Mapping[str, Movement]) -> ProfitAndLoss:
    """The range's revenue and expenses: revenue (6001, 6051) reads credit minus debit, costs and
    expenses (6401, 66xx) debit minus credit, so revenue and a profit read positive.

    Each account posted to has its own line (a store's own sub-account shows separately); the
    opening balance plays no part: the P&L is what happened within the range.
    """
    revenue: list[PnlLine] = []
    cost: list[PnlLine] = []
    expenses: list[PnlLine] = []
    heads: dict[str, int] = defaultdict(int)
    lines: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for code in sorted(sums):
        info = chart.info(code)
        if info.category not in (Category.REVENUE, Category.EXPENSE):
            continue
        m = sums[code]
        if not (m.debit or m.credit):
            continue
        line = business_line_of_account(code)
        if info.category is Category.REVENUE:
            amount = m.credit - m.debit
            revenue.append(PnlLine(code, info.name, info.name_en, line, amount))
            if line:
                lines[line][0] += amount
            continue
        amount = m.debit - m.credit
        entry = PnlLine(code, info.name, info.name_en, line, amount)
        if is_cost_of_sales(code):
            cost.append(entry)
            if line:
                lines[line][1] += amount
            continue
        expenses.append(entry)
        head = next((h for h in EXPENSE_HEADS if covers(h, code)), "other")
        heads[head] += amount
    order = {line.value: n for n, line in enumerate(REVENUE_ACCOUNT)}
    by_line = tuple(
        LineProfit(line, rev, cst)
        for line, (rev, cst) in sorted(lines.items(), key=lambda kv: order.get(kv[0], 99))
    )
    return ProfitAndLoss(
        revenue=tuple(revenue),
        cost_of_sales=tuple(cost),
        expenses=tuple(expenses),
        by_business_line=by_line,
        total_revenue=sum(r.amount for r in revenue),
        total_cost_of_sales=sum(c.amount for c in cost),
        selling_expenses=heads[SELLING],
        admin_expenses=heads[ADMIN],
        finance_costs=heads[FINANCE],
        other_expenses=heads["other"],
    )


# --- balance sheet -------------------------------------------------------------------------


@dataclass(frozen=True)
class BalanceSheetRow:
    """An account's balance on its normal side: assets debit-positive, the rest credit-positive.

    A contra balance reads negative (e.g. input VAT under taxes payable, or an inter-store debt).
    """

    code: str
    name: str
    name_en: str
    level: int
    amount: int


@dataclass(frozen=True)
class BalanceSheet:
    assets: tuple[BalanceSheetRow, ...]
    liabilities: tuple[BalanceSheetRow, ...]
    equity: tuple[BalanceSheetRow, ...]
    total_assets: int
    total_liabilities: int
    total_equity: int
    # Revenue minus expenses still sitting on the P&L accounts (not closed to equity yet).
    unclosed_profit: int
    # The 4103 本年利润 line: what was closed to it plus the unclosed profit.
    current_year_profit: int

    @property
    def balanced(self) -> bool:
        """The accounting equation: assets = liabilities + equity (资产 = 负债 + 所有者权益)."""
        return self.total_assets == self.total_liabilities + self.total_equity


def balance_sheet(chart: Chart, balances: Mapping[str, int]) -> BalanceSheet:
    """Balances as at the end of a period (debit-positive in) arranged as a balance sheet.

    The revenue and expense accounts are not listed: their net (revenue minus expenses, all
    periods up to the date) is the profit not yet closed to equity, shown with whatever was
    closed to 4103 on the 4103 本年利润 line. With every entry balanced, assets equal
    liabilities plus equity exactly.
    """
    rolled = roll_up(chart, {c: Movement(opening=b) for c, b in balances.items()})
    unclosed = -sum(
        b
        for c, b in balances.items()
        if chart.info(c).category in (Category.REVENUE, Category.EXPENSE)
    )
    sections: dict[Category, list[BalanceSheetRow]] = {
        Category.ASSET: [],
        Category.LIABILITY: [],
        Category.EQUITY: [],
    }
    codes = set(rolled) | {CURRENT_YEAR_PROFIT}
    for code in sorted(codes):
        info = chart.info(code)
        if info.category not in sections:
            continue
        balance = rolled.get(code, Movement()).opening
        amount = balance if info.category is Category.ASSET else -balance
        if code == CURRENT_YEAR_PROFIT:
            amount += unclosed
        elif not amount:
            continue
        sections[info.category].append(
            BalanceSheetRow(code, info.name, info.name_en, chart.level(code), amount)
        )

    def total(rows: list[BalanceSheetRow]) -> int:
        return sum(r.amount for r in rows if r.level == 1)

    profit_row = next(r for r in sections[Category.EQUITY] if r.code == CURRENT_YEAR_PROFIT)
    return BalanceSheet(
        assets=tuple(sections[Category.ASSET]),
        liabilities=tuple(sections[Category.LIABILITY]),
        equity=tuple(sections[Category.EQUITY]),
        total_assets=total(sections[Category.ASSET]),
        total_liabilities=total(sections[Category.LIABILITY]),
        total_equity=total(sections[Category.EQUITY]),
        unclosed_profit=unclosed,
        current_year_profit=profit_row.amount,
    )


# --- cash flow -----------------------------------------------------------------------------

CASH_ACCOUNTS = ("1001", "1002")  # 库存现金, 银行存款
TAX_ACCOUNTS = ("2221",)  # VAT rides along with whatever it is charged on


class CashFlowClass(StrEnum):
    CUSTOMER_RECEIPTS = "customer_receipts"  # 销售商品、提供劳务收到的现金
    SUPPLIER_PAYMENTS = "supplier_payments"  # 购买商品、接受劳务支付的现金
    EXPENSES_PAID = "expenses_paid"  # 支付的费用 (报销, 薪酬, 手续费)
    FINANCING = "financing"  # 筹资: loans, floor-plan, interest, capital
    INTER_STORE = "inter_store"  # 内部往来 settlements between stores
    OTHER = "other"  # anything else (tax payments, fixed assets, ...)


CASH_FLOW_LABELS = {
    CashFlowClass.CUSTOMER_RECEIPTS: "Receipts from customers 销售收款",
    CashFlowClass.SUPPLIER_PAYMENTS: "Payments to suppliers 采购付款",
    CashFlowClass.EXPENSES_PAID: "Expenses paid 费用支出",
    CashFlowClass.FINANCING: "Financing 筹资",
    CashFlowClass.INTER_STORE: "Inter-store settlements 内部往来",
    CashFlowClass.OTHER: "Other 其他",
}

# The counter-account that decides what a cash movement was for, by top-level account.
_CLASS_OF_ACCOUNT = {
    "1122": CashFlowClass.CUSTOMER_RECEIPTS,  # 应收账款
    "2203": CashFlowClass.CUSTOMER_RECEIPTS,  # 预收账款 (deposits)
    "2202": CashFlowClass.SUPPLIER_PAYMENTS,  # 应付账款
    "1123": CashFlowClass.SUPPLIER_PAYMENTS,  # 预付账款
    "1402": CashFlowClass.SUPPLIER_PAYMENTS,
    "1405": CashFlowClass.SUPPLIER_PAYMENTS,
    "2241": CashFlowClass.EXPENSES_PAID,  # 其他应付款 (employee claims)
    "2211": CashFlowClass.EXPENSES_PAID,  # 应付职工薪酬
    "2001": CashFlowClass.FINANCING,  # 短期借款 (floor-plan)
    "2231": CashFlowClass.FINANCING,  # 应付利息
    "4001": CashFlowClass.FINANCING,  # 实收资本
    INTER_STORE: CashFlowClass.INTER_STORE,  # 内部往来
}


def is_cash(code: str) -> bool:
    return any(covers(c, code) for c in CASH_ACCOUNTS)


def class_of_account(code: str) -> CashFlowClass:
    """What a cash movement against this counter-account was for."""
    top = code.split(".", 1)[0]
    if top in _CLASS_OF_ACCOUNT:
        return _CLASS_OF_ACCOUNT[top]
    if top.startswith("60"):  # revenue taken straight in cash
        return CashFlowClass.CUSTOMER_RECEIPTS
    if top.startswith("66"):  # selling, admin and finance costs paid straight from the bank
        return CashFlowClass.EXPENSES_PAID
    return CashFlowClass.OTHER


def is_tax(code: str) -> bool:
    return any(covers(t, code) for t in TAX_ACCOUNTS)


def deciding_account(lines: Mapping[str, int]) -> str | None:
    """The line that says what an entry's cash was for: the largest other line, VAT aside
    (ties to the lowest code); None when only cash and tax lines move.

    `lines` maps each account of the entry to its net (debits minus credits). A cash entry is
    one payment or receipt with one purpose: a receipt settling an invoice and taking a deposit
    is a customer receipt; paying the OEM and a bank fee together is a supplier payment.
    """
    counter = [
        (abs(amount), code)
        for code, amount in lines.items()
        if amount and not is_cash(code) and not is_tax(code)
    ]
    if not counter:
        return None
    return min(counter, key=lambda item: (-item[0], item[1]))[1]


def classify_entry(lines: Mapping[str, int]) -> CashFlowClass:
    """What one entry's cash movement was for (see `deciding_account`)."""
    code = deciding_account(lines)
    return class_of_account(code) if code else CashFlowClass.OTHER


def cash_movement(lines: Mapping[str, int]) -> int:
    """Cash in (positive) or out (negative) of one entry: its net on 1001 and 1002."""
    return sum(amount for code, amount in lines.items() if is_cash(code))


@dataclass(frozen=True)
class CashMovement:
    """Cash moved by entries that the same account decides (one entry, or many summed)."""

    deciding_account: str | None
    inflow: int = 0
    outflow: int = 0


def cash_movements(entries: Iterable[Mapping[str, int]]) -> list[CashMovement]:
    """One movement per entry that moved cash in or out (cash to bank and back moves none)."""
    out = []
    for lines in entries:
        moved = cash_movement(lines)
        if moved:
            out.append(CashMovement(deciding_account(lines), max(moved, 0), max(-moved, 0)))
    return out


@dataclass(frozen=True)
class CashFlowLine:
    category: CashFlowClass
    label: str
    inflow: int
    outflow: int

    @property
    def net(self) -> int:
        return self.inflow - self.outflow


@dataclass(frozen=True)
class CashFlow:
    opening_cash: int
    lines: tuple[CashFlowLine, ...]
    closing_cash: int

    @property
    def net_change(self) -> int:
        return sum(line.net for line in self.lines)

    @property
    def reconciles(self) -> bool:
        """Opening cash plus the classified movements is the closing cash (期初 + 净额 = 期末)."""
        return self.opening_cash + self.net_change == self.closing_cash


def cash_flow(opening_cash: int, closing_cash: int, movements: Iterable[CashMovement]) -> CashFlow:
    """Put each movement in the class of its deciding account; every class is listed.

    `opening_cash` and `closing_cash` are the balances of 1001 + 1002 before and at the end of
    the range, summed independently of the entries, so `reconciles` is a real check.
    """
    inflow: dict[CashFlowClass, int] = defaultdict(int)
    outflow: dict[CashFlowClass, int] = defaultdict(int)
    for m in movements:
        category = (
            class_of_account(m.deciding_account) if m.deciding_account else (CashFlowClass.OTHER)
        )
        inflow[category] += m.inflow
        outflow[category] += m.outflow
    rows = tuple(CashFlowLine(c, CASH_FLOW_LABELS[c], inflow[c], outflow[c]) for c in CashFlowClass)
    return CashFlow(opening_cash, rows, closing_cash)


# --- gross profit by store x business line x model x month ---------------------------------


@dataclass(frozen=True)
class GrossProfitSum:
    """Journal sums of one revenue or cost-of-sales account, as tagged on the lines."""

    store_id: str
    period: str
    account: str
    business_line: str  # the line's tag ("" when the posting rule set none)
    model_code: str
    debit: int
    credit: int


@dataclass(frozen=True)
class GrossProfitRow:
    store_id: str
    business_line: str
    model_code: str
    period: str
    revenue: int
    cost: int

    @property
    def gross_profit(self) -> int:
        return self.revenue - self.cost

    @property
    def margin_pct(self) -> float | None:
        """Gross margin in percent, two decimals; None without revenue (nothing to divide)."""
        if not self.revenue:
            return None
        return round(self.gross_profit * 100 / self.revenue, 2)


def line_of(tag: str, account: str) -> str:
    """A journal line's business line: its own tag, else the one its account belongs to."""
    return tag or business_line_of_account(account)


def gross_profit_rows(chart: Chart, sums: Iterable[GrossProfitSum]) -> list[GrossProfitRow]:
    """Revenue (credit minus debit) and cost of sales (debit minus credit) per store, business
    line, model and month, ordered that way. Lines on other accounts are ignored."""
    cells: dict[tuple[str, str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    for s in sums:
        category = chart.info(s.account).category
        if category is Category.REVENUE:
            cells[(s.store_id, line_of(s.business_line, s.account), s.model_code, s.period)][0] += (
                s.credit - s.debit
            )
        elif is_cost_of_sales(s.account):
            cells[(s.store_id, line_of(s.business_line, s.account), s.model_code, s.period)][1] += (
                s.debit - s.credit
            )
    return [
        GrossProfitRow(store, line, model, period, revenue, cost)
        for (store, line, model, period), (revenue, cost) in sorted(cells.items())
        if revenue or cost
    ]


# --- group consolidation -------------------------------------------------------------------


def consolidate(per_store: Mapping[str, Mapping[str, Movement]]) -> dict[str, Movement]:
    """The group's sums: every store's added up, account by account."""
    out: dict[str, Movement] = defaultdict(Movement)
    for sums in per_store.values():
        for code, movement in sums.items():
            out[code] = out[code] + movement
    return dict(out)


@dataclass(frozen=True)
class InterStoreBalance:
    """One store's balance on 1901 against one counterparty (debit-positive: a claim on it)."""

    store_id: str
    counterparty_store_id: str
    balance: int


@dataclass(frozen=True)
class PairMismatch:
    """Two stores whose inter-store balances do not mirror each other (A's claim != B's debt)."""

    store_id: str
    counterparty_store_id: str
    balance: int  # store's balance against the counterparty
    counterparty_balance: int  # counterparty's balance against the store

    @property
    def difference(self) -> int:
        return self.balance + self.counterparty_balance


@dataclass(frozen=True)
class Elimination:
    """The inter-store elimination (内部往来抵销) of a group statement.

    `claims` are the stores' debit balances on 1901, `debts` their credit balances; the group
    eliminates both. They must be equal: `difference` (the group's net 1901) is zero, and every
    pair of stores mirrors, when both sides of every inter-store movement were posted.
    """

    claims: int
    debts: int
    mismatched_pairs: tuple[PairMismatch, ...] = field(default=())

    @property
    def eliminated(self) -> int:
        return min(self.claims, self.debts)

    @property
    def difference(self) -> int:
        return self.claims - self.debts

    @property
    def balanced(self) -> bool:
        return self.difference == 0 and not self.mismatched_pairs


def eliminate_inter_store(balances: Iterable[InterStoreBalance]) -> Elimination:
    """Add up the inter-store claims and debts and check that each pair of stores mirrors.

    A balance without a counterparty cannot be matched to anyone and is a mismatch of its own.
    """
    by_pair: dict[tuple[str, str], int] = defaultdict(int)
    for b in balances:
        by_pair[(b.store_id, b.counterparty_store_id)] += b.balance
    claims = sum(v for v in by_pair.values() if v > 0)
    debts = -sum(v for v in by_pair.values() if v < 0)
    mismatches = []
    for (store, other), balance in sorted(by_pair.items()):
        mirror = by_pair.get((other, store), 0)
        if balance + mirror and (store < other or (other, store) not in by_pair or not other):
            mismatches.append(PairMismatch(store, other, balance, mirror))
    return Elimination(claims, debts, tuple(mismatches))
