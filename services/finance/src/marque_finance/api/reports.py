"""Reports (财务报表): trial balance, P&L, balance sheet, cash flow, gross profit and drill-down.

Each report is for one store (`store_id=SH01`) or, for HQ, the consolidated group (`store_id`
omitted or `*`), over a range of months (`from_period`..`to_period`, YYYY-MM; by default the
year to date). Amounts are integer fen. Every figure carries a `drill_down` link to
`/drill-down`, which lists the journal lines that add up to it, each with its entry and source
document, so any number can be traced to the receipt, invoice or vehicle behind it.

Receivables and payables ageing (应收/应付账龄) live with their ledgers:
`GET /api/v1/finance/ar/ageing` and `GET /api/v1/finance/ap/ageing`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from marque_finance import reports_service as reports
from marque_finance.api.deps import FinanceDep
from marque_finance.domain.accounts import (
    ADMIN_EXPENSES,
    COST_OF_SALES,
    CURRENT_YEAR_PROFIT,
    FINANCE_COSTS,
    INTER_STORE,
    OTHER_REVENUE,
    REVENUE,
    SELLING_EXPENSES,
    BusinessLine,
    Category,
)
from marque_finance.domain.statements import (
    BalanceSheetRow,
    CashFlowClass,
    Chart,
    Elimination,
    PnlLine,
)
from marque_kit.auth import Principal
from marque_kit.errors import InvalidInput
from marque_kit.http import Page, PageQuery, require_scope

READ = "finance.reports:read"
PREFIX = "/api/v1/finance/reports"
DRILL = f"{PREFIX}/drill-down"

router = APIRouter(prefix=PREFIX, tags=["reports"])
Reader = Annotated[Principal, Depends(require_scope(READ))]

StoreParam = Annotated[
    str | None,
    Query(
        max_length=20,
        description="A store the caller sees; omit it (or `*`) for the group (HQ only).",
        examples=["SH01"],
    ),
]
FromParam = Annotated[
    str | None, Query(description="First month, YYYY-MM (default: January of to_period's year).")
]
ToParam = Annotated[str | None, Query(description="Last month, YYYY-MM (default: this month).")]


# --- drill-down links ----------------------------------------------------------------------


def drill(
    store_id: str | None,
    *,
    accounts: Sequence[str] = (),
    first: str | None = None,
    last: str | None = None,
    business_line: str | None = None,
    model_code: str | None = None,
    cash_category: str | None = None,
) -> str:
    """The drill-down URL that lists exactly the journal lines behind a figure."""
    params: list[tuple[str, str]] = []
    if store_id:
        params.append(("store_id", store_id))
    params += [("account", a) for a in accounts]
    for name, value in (
        ("from_period", first),
        ("to_period", last),
        ("business_line", business_line),
        ("model_code", model_code),
        ("cash_category", cash_category),
    ):
        if value is not None:
            params.append((name, value))
    return f"{DRILL}?{urlencode(params)}"


def top_level(chart: Chart, *categories: Category) -> list[str]:
    return [c for c in chart.of_category(*categories) if not chart.info(c).parent_code]


# --- shared shapes -------------------------------------------------------------------------


class Figure(BaseModel):
    amount_fen: int
    drill_down: str | None = Field(
        description="Lists the journal lines that add up to this figure (None: nothing to list)."
    )


class PairMismatchOut(BaseModel):
    store_id: str
    counterparty_store_id: str
    balance_fen: int
    counterparty_balance_fen: int
    difference_fen: int


class EliminationOut(BaseModel):
    """内部往来抵销: the stores' claims on and debts to each other on 1901, eliminated."""

    account: str = INTER_STORE
    claims_fen: int
    debts_fen: int
    eliminated_fen: int
    difference_fen: int = Field(description="The group's net 1901; must be zero.")
    balanced: bool
    mismatched_pairs: list[PairMismatchOut]
    drill_down: str

    @classmethod
    def of(cls, e: Elimination, as_at: str) -> EliminationOut:
        return cls(
            claims_fen=e.claims,
            debts_fen=e.debts,
            eliminated_fen=e.eliminated,
            difference_fen=e.difference,
            balanced=e.balanced,
            mismatched_pairs=[
                PairMismatchOut(
                    store_id=m.store_id,
                    counterparty_store_id=m.counterparty_store_id,
                    balance_fen=m.balance,
                    counterparty_balance_fen=m.counterparty_balance,
                    difference_fen=m.difference,
                )
                for m in e.mismatched_pairs
            ],
            drill_down=drill(None, accounts=[INTER_STORE], last=as_at),
        )


class ReportScopeOut(BaseModel):
    store_id: str | None = Field(description="The store, or None for the consolidated group.")
    stores: list[str] = Field(description="The stores whose books the report adds up.")


# --- trial balance -------------------------------------------------------------------------


class TrialBalanceRowOut(BaseModel):
    code: str
    name: str
    name_en: str
    category: str
    level: int
    is_leaf: bool
    opening_debit_fen: int
    opening_credit_fen: int
    debit_fen: int
    credit_fen: int
    closing_debit_fen: int
    closing_credit_fen: int
    drill_down: str


class TrialBalanceTotalsOut(BaseModel):
    opening_debit_fen: int
    opening_credit_fen: int
    debit_fen: int
    credit_fen: int
    closing_debit_fen: int
    closing_credit_fen: int


class TrialBalanceOut(ReportScopeOut):
    from_period: str
    to_period: str
    rows: list[TrialBalanceRowOut]
    totals: TrialBalanceTotalsOut
    balanced: bool = Field(description="Debits equal credits in every pair of columns.")
    elimination: EliminationOut | None = Field(
        None, description="Group only: the inter-store account eliminated as at to_period."
    )


@router.get(
    "/trial-balance",
    response_model=TrialBalanceOut,
    summary="Trial balance (科目余额表)",
    description="Opening balance, the range's debits and credits and the closing balance of every "
    "account that moved, parents rolled up. Totals add up the top-level accounts.",
)
async def get_trial_balance(
    principal: Reader,
    finance: FinanceDep,
    store_id: StoreParam = None,
    from_period: FromParam = None,
    to_period: ToParam = None,
) -> TrialBalanceOut:
    first, last = reports.period_range(from_period, to_period, finance.today())
    async with finance.db.session() as session:
        await reports.begin_snapshot(session)
        scope = await reports.scope_for(session, principal, store_id)
        report = await reports.trial_balance_report(session, scope, first, last)
    tb = report.trial_balance
    t = tb.totals
    return TrialBalanceOut(
        store_id=scope.store_id,
        stores=list(scope.stores),
        from_period=first,
        to_period=last,
        rows=[
            TrialBalanceRowOut(
                code=r.code,
                name=r.name,
                name_en=r.name_en,
                category=r.category.value,
                level=r.level,
                is_leaf=r.is_leaf,
                opening_debit_fen=r.opening_debit,
                opening_credit_fen=r.opening_credit,
                debit_fen=r.debit,
                credit_fen=r.credit,
                closing_debit_fen=r.closing_debit,
                closing_credit_fen=r.closing_credit,
                drill_down=drill(scope.store_id, accounts=[r.code], first=first, last=last),
            )
            for r in tb.rows
        ],
        totals=TrialBalanceTotalsOut(
            opening_debit_fen=t.opening_debit,
            opening_credit_fen=t.opening_credit,
            debit_fen=t.debit,
            credit_fen=t.credit,
            closing_debit_fen=t.closing_debit,
            closing_credit_fen=t.closing_credit,
        ),
        balanced=tb.balanced,
        elimination=EliminationOut.of(report.elimination, last) if report.elimination else None,
    )


# --- profit and loss -----------------------------------------------------------------------


class PnlLineOut(BaseModel):
    code: str
    name: str
    name_en: str
    business_line: str
    amount_fen: int
    drill_down: str


class LineProfitOut(BaseModel):
    business_line: str
    revenue_fen: int
    cost_fen: int
    gross_profit_fen: int
    drill_down: str


class StoreProfitOut(BaseModel):
    store_id: str
    revenue_fen: int
    gross_profit_fen: int
    net_profit_fen: int
    report: str


class ProfitAndLossOut(ReportScopeOut):
    from_period: str
    to_period: str
    revenue: list[PnlLineOut] = Field(description="Revenue by account and business line (+).")
    total_revenue: Figure
    cost_of_sales: list[PnlLineOut]
    total_cost_of_sales: Figure
    gross_profit: Figure
    by_business_line: list[LineProfitOut]
    expenses: list[PnlLineOut]
    selling_expenses: Figure
    admin_expenses: Figure
    finance_costs: Figure
    other_expenses: Figure
    net_profit: Figure
    by_store: list[StoreProfitOut] = Field(description="Group only: each store's headline.")


@router.get(
    "/profit-and-loss",
    response_model=ProfitAndLossOut,
    summary="Profit and loss (利润表)",
    description="Revenue (positive) by business line, cost of sales, gross profit, selling (6601), "
    "administrative (6602) and finance costs (6603), net profit, for the range. Drill-down "
    "totals are debits and credits: revenue is credit minus debit, a cost debit minus credit.",
)
async def get_profit_and_loss(
    principal: Reader,
    finance: FinanceDep,
    store_id: StoreParam = None,
    from_period: FromParam = None,
    to_period: ToParam = None,
) -> ProfitAndLossOut:
    first, last = reports.period_range(from_period, to_period, finance.today())
    async with finance.db.session() as session:
        await reports.begin_snapshot(session)
        scope = await reports.scope_for(session, principal, store_id)
        report = await reports.profit_and_loss_report(session, scope, first, last)
    pnl, chart, store = report.pnl, report.chart, scope.store_id

    def figure(amount: int, accounts: Sequence[str]) -> Figure:
        link = drill(store, accounts=accounts, first=first, last=last) if accounts else None
        return Figure(amount_fen=amount, drill_down=link)

    def line(item: PnlLine) -> PnlLineOut:
        return PnlLineOut(
            code=item.code,
            name=item.name,
            name_en=item.name_en,
            business_line=item.business_line,
            amount_fen=item.amount,
            drill_down=drill(store, accounts=[item.code], first=first, last=last),
        )

    revenue_tops = top_level(chart, Category.REVENUE)
    expense_tops = top_level(chart, Category.EXPENSE)
    heads = (COST_OF_SALES, SELLING_EXPENSES, ADMIN_EXPENSES, FINANCE_COSTS)
    other_tops = [c for c in expense_tops if c not in heads]
    return ProfitAndLossOut(
        store_id=scope.store_id,
        stores=list(scope.stores),
        from_period=first,
        to_period=last,
        revenue=[line(r) for r in pnl.revenue],
        total_revenue=figure(pnl.total_revenue, revenue_tops),
        cost_of_sales=[line(c) for c in pnl.cost_of_sales],
        total_cost_of_sales=figure(pnl.total_cost_of_sales, [COST_OF_SALES]),
        gross_profit=figure(pnl.gross_profit, [*revenue_tops, COST_OF_SALES]),
        by_business_line=[
            LineProfitOut(
                business_line=b.business_line,
                revenue_fen=b.revenue,
                cost_fen=b.cost,
                gross_profit_fen=b.gross_profit,
                drill_down=drill(
                    store,
                    accounts=reports.codes_of_line(chart, b.business_line),
                    first=first,
                    last=last,
                ),
            )
            for b in pnl.by_business_line
        ],
        expenses=[line(e) for e in pnl.expenses],
        selling_expenses=figure(pnl.selling_expenses, [SELLING_EXPENSES]),
        admin_expenses=figure(pnl.admin_expenses, [ADMIN_EXPENSES]),
        finance_costs=figure(pnl.finance_costs, [FINANCE_COSTS]),
        other_expenses=figure(pnl.other_expenses, other_tops),
        net_profit=figure(pnl.net_profit, [*revenue_tops, *expense_tops]),
        by_store=[
            StoreProfitOut(
                store_id=s.store_id,
                revenue_fen=s.revenue,
                gross_profit_fen=s.gross_profit,
                net_profit_fen=s.net_profit,
                report=f"{PREFIX}/profit-and-loss?"
                + urlencode({"store_id": s.store_id, "from_period": first, "to_period": last}),
            )
            for s in report.by_store
        ]
        if scope.is_group
        else [],
    )


# --- balance sheet -------------------------------------------------------------------------


class BalanceSheetRowOut(BaseModel):
    code: str
    name: str
    name_en: str
    level: int
    amount_fen: int = Field(description="On the normal side: assets debit, the rest credit.")
    drill_down: str


class BalanceSheetOut(ReportScopeOut):
    period: str = Field(description="As at the end of this month.")
    assets: list[BalanceSheetRowOut]
    total_assets_fen: int
    liabilities: list[BalanceSheetRowOut]
    total_liabilities_fen: int
    equity: list[BalanceSheetRowOut]
    total_equity_fen: int
    current_year_profit_fen: int = Field(description="The 4103 本年利润 line.")
    unclosed_profit_fen: int = Field(
        description="Revenue minus expenses not yet closed to equity (included in 4103)."
    )
    balanced: bool = Field(description="Assets = liabilities + equity.")
    elimination: EliminationOut | None = None


@router.get(
    "/balance-sheet",
    response_model=BalanceSheetOut,
    summary="Balance sheet (资产负债表)",
    description="Balances as at the end of `period`: assets, liabilities and equity, with the "
    "profit not yet closed to equity on the 4103 本年利润 line; assets = liabilities + equity.",
)
async def get_balance_sheet(
    principal: Reader,
    finance: FinanceDep,
    store_id: StoreParam = None,
    period: Annotated[
        str | None, Query(description="As at the end of this month, YYYY-MM (default: now).")
    ] = None,
) -> BalanceSheetOut:
    as_at = reports.period_param(period, "period") if period else f"{finance.today():%Y-%m}"
    async with finance.db.session() as session:
        await reports.begin_snapshot(session)
        scope = await reports.scope_for(session, principal, store_id)
        report = await reports.balance_sheet_report(session, scope, as_at)
    bs, chart = report.balance_sheet, report.chart
    pnl_tops = top_level(chart, Category.REVENUE, Category.EXPENSE)

    def rows(items: Sequence[BalanceSheetRow]) -> list[BalanceSheetRowOut]:
        return [
            BalanceSheetRowOut(
                code=r.code,
                name=r.name,
                name_en=r.name_en,
                level=r.level,
                amount_fen=r.amount,
                drill_down=drill(
                    scope.store_id,
                    accounts=[r.code, *pnl_tops] if r.code == CURRENT_YEAR_PROFIT else [r.code],
                    last=as_at,
                ),
            )
            for r in items
        ]

    return BalanceSheetOut(
        store_id=scope.store_id,
        stores=list(scope.stores),
        period=as_at,
        assets=rows(bs.assets),
        total_assets_fen=bs.total_assets,
        liabilities=rows(bs.liabilities),
        total_liabilities_fen=bs.total_liabilities,
        equity=rows(bs.equity),
        total_equity_fen=bs.total_equity,
        current_year_profit_fen=bs.current_year_profit,
        unclosed_profit_fen=bs.unclosed_profit,
        balanced=bs.balanced,
        elimination=EliminationOut.of(report.elimination, as_at) if report.elimination else None,
    )


# --- cash flow -----------------------------------------------------------------------------


class CashFlowLineOut(BaseModel):
    category: CashFlowClass
    label: str
    inflow_fen: int
    outflow_fen: int
    net_fen: int
    drill_down: str = Field(description="The cash and bank lines of this class's entries.")


class CashFlowOut(ReportScopeOut):
    from_period: str
    to_period: str
    cash_accounts: list[str]
    opening_cash: Figure
    lines: list[CashFlowLineOut]
    net_change: Figure
    closing_cash: Figure
    reconciles: bool = Field(description="opening_cash + net_change = closing_cash.")


@router.get(
    "/cash-flow",
    response_model=CashFlowOut,
    summary="Cash-flow summary (现金流量表摘要)",
    description="Movements on cash and bank (1001, 1002) in the range, each entry classified by "
    "its largest counter-account (VAT aside): receipts from customers (1122, 2203, 60xx), "
    "payments to suppliers (2202), expenses paid (2241, 66xx), financing (2001, 2231), "
    "inter-store (1901), other.",
)
async def get_cash_flow(
    principal: Reader,
    finance: FinanceDep,
    store_id: StoreParam = None,
    from_period: FromParam = None,
    to_period: ToParam = None,
) -> CashFlowOut:
    first, last = reports.period_range(from_period, to_period, finance.today())
    async with finance.db.session() as session:
        await reports.begin_snapshot(session)
        scope = await reports.scope_for(session, principal, store_id)
        report = await reports.cash_flow_report(session, scope, first, last)
    flow, store = report.cash_flow, scope.store_id
    cash = list(reports.CASH_ACCOUNTS)
    return CashFlowOut(
        store_id=scope.store_id,
        stores=list(scope.stores),
        from_period=first,
        to_period=last,
        cash_accounts=list(report.cash_accounts),
        opening_cash=Figure(
            amount_fen=flow.opening_cash,
            drill_down=drill(store, accounts=cash, last=reports.previous_period(first)),
        ),
        lines=[
            CashFlowLineOut(
                category=line.category,
                label=line.label,
                inflow_fen=line.inflow,
                outflow_fen=line.outflow,
                net_fen=line.net,
                drill_down=drill(store, first=first, last=last, cash_category=line.category),
            )
            for line in flow.lines
        ],
        net_change=Figure(
            amount_fen=flow.net_change,
            drill_down=drill(store, accounts=cash, first=first, last=last),
        ),
        closing_cash=Figure(
            amount_fen=flow.closing_cash, drill_down=drill(store, accounts=cash, last=last)
        ),
        reconciles=flow.reconciles,
    )


# --- gross profit --------------------------------------------------------------------------


class GrossProfitRowOut(BaseModel):
    store_id: str
    business_line: str
    model_code: str
    period: str
    revenue_fen: int
    cost_fen: int
    gross_profit_fen: int
    margin_pct: float | None = Field(
        description="Gross profit / revenue x 100; None without revenue."
    )
    drill_down: str


class GrossProfitOut(Page[GrossProfitRowOut], ReportScopeOut):
    from_period: str
    to_period: str
    total_revenue_fen: int
    total_cost_fen: int
    total_gross_profit_fen: int
    margin_pct: float | None


def business_line_param(value: str | None) -> str | None:
    """A business line, "" for lines that name none, or None for any."""
    if value is None or value in {"", *(b.value for b in BusinessLine)}:
        return value
    raise InvalidInput(
        f"business_line {value!r} is not one of {', '.join(b.value for b in BusinessLine)}.",
        errors=[{"field": "business_line", "location": "query", "rule": "enum"}],
    )


BusinessLineParam = Annotated[
    str | None,
    Query(
        description="new_vehicles, used_vehicles, parts, service_labor, accessories, "
        "insurance_commission, loan_commission (empty: lines naming none).",
    ),
]
ModelParam = Annotated[
    str | None,
    Query(max_length=40, description="A model code; empty for lines without a model."),
]


@router.get(
    "/gross-profit",
    response_model=GrossProfitOut,
    summary="Gross profit by store x business line x model x month (毛利分析)",
    description="Revenue, cost of sales, gross profit and margin per store, business line, model "
    "and month, read off the journal lines' tags (an untagged line takes its account's line). "
    "Rows are paged in that order; the totals cover every row of the filter.",
)
async def get_gross_profit(
    principal: Reader,
    finance: FinanceDep,
    page: PageQuery,
    store_id: StoreParam = None,
    from_period: FromParam = None,
    to_period: ToParam = None,
    business_line: BusinessLineParam = None,
    model_code: ModelParam = None,
) -> GrossProfitOut:
    first, last = reports.period_range(from_period, to_period, finance.today())
    line_filter = business_line_param(business_line)
    async with finance.db.session() as session:
        await reports.begin_snapshot(session)
        scope = await reports.scope_for(session, principal, store_id)
        report = await reports.gross_profit_report(
            session,
            scope,
            first,
            last,
            business_line=line_filter,
            model_code=model_code,
            page=page,
        )
    chart_accounts = [REVENUE, OTHER_REVENUE, COST_OF_SALES]
    gross = report.revenue - report.cost
    return GrossProfitOut(
        store_id=scope.store_id,
        stores=list(scope.stores),
        from_period=first,
        to_period=last,
        items=[
            GrossProfitRowOut(
                store_id=r.store_id,
                business_line=r.business_line,
                model_code=r.model_code,
                period=r.period,
                revenue_fen=r.revenue,
                cost_fen=r.cost,
                gross_profit_fen=r.gross_profit,
                margin_pct=r.margin_pct,
                drill_down=drill(
                    r.store_id,
                    accounts=chart_accounts,
                    first=r.period,
                    last=r.period,
                    business_line=r.business_line,
                    model_code=r.model_code,
                ),
            )
            for r in report.rows
        ],
        next_cursor=report.next_cursor,
        total_revenue_fen=report.revenue,
        total_cost_fen=report.cost,
        total_gross_profit_fen=gross,
        margin_pct=round(gross * 100 / report.revenue, 2) if report.revenue else None,
    )


# --- drill-down ----------------------------------------------------------------------------


class SourceOut(BaseModel):
    type: str = Field(description="An event type or a document kind (receipt, invoice, ...).")
    id: str
    url: str | None = Field(description="Where to read the source document, when Marque has it.")


class DrillLineOut(BaseModel):
    id: int
    entry_id: str
    entry_number: str
    entry_date: date
    period: str
    store_id: str
    description: str
    note: str
    account_code: str
    account_name: str
    debit_fen: int
    credit_fen: int
    business_line: str
    model_code: str
    vin: str
    counterparty_store_id: str
    party: str
    memo: str
    source: SourceOut
    entry_url: str = Field(description="The whole journal entry (all its lines).")


class DrillDownOut(Page[DrillLineOut]):
    line_count: int = Field(description="Lines matching the filter, on every page.")
    total_debit_fen: int
    total_credit_fen: int
    net_fen: int = Field(description="Debits minus credits of every matching line.")


@router.get(
    "/drill-down",
    response_model=DrillDownOut,
    summary="The journal lines behind a figure",
    description="Journal lines, oldest first, with their entry (number, date, description) and "
    "source document. `account` (repeatable) includes sub-accounts; without from_period or "
    "to_period the range is open on that side; `period` is one month. `cash_category` keeps the "
    "cash and bank lines of the entries the cash-flow summary puts in that class. Totals cover "
    "every page.",
)
async def get_drill_down(
    principal: Reader,
    finance: FinanceDep,
    page: PageQuery,
    store_id: StoreParam = None,
    account: Annotated[
        list[str] | None,
        Query(description="Account code(s), e.g. 6001.01; repeat for several."),
    ] = None,
    from_period: Annotated[str | None, Query()] = None,
    to_period: Annotated[str | None, Query()] = None,
    period: Annotated[str | None, Query(description="One month (instead of a range).")] = None,
    business_line: BusinessLineParam = None,
    model_code: ModelParam = None,
    cash_category: Annotated[CashFlowClass | None, Query()] = None,
) -> DrillDownOut:
    if period and (from_period or to_period):
        raise InvalidInput(
            "Give either period or from_period/to_period, not both.",
            errors=[{"field": "period", "location": "query", "rule": "exclusive"}],
        )
    first = reports.period_param(from_period, "from_period") if from_period else None
    last = reports.period_param(to_period, "to_period") if to_period else None
    if period:
        first = last = reports.period_param(period, "period")
    if first and last and first > last:
        raise InvalidInput(
            f"from_period {first} comes after to_period {last}; put the earlier month first.",
            errors=[{"field": "from_period", "location": "query", "rule": "order"}],
        )
    wanted = reports.DrillFilter(
        accounts=tuple(account or ()),
        first=first,
        last=last,
        business_line=business_line_param(business_line),
        model_code=model_code,
        cash_category=cash_category,
    )
    async with finance.db.session() as session:
        await reports.begin_snapshot(session)
        scope = await reports.scope_for(session, principal, store_id)
        found = await reports.drill_down(session, scope, wanted, page)
    return DrillDownOut(
        items=[
            DrillLineOut(
                id=x.id,
                entry_id=x.entry_id,
                entry_number=x.entry_number,
                entry_date=x.entry_date,
                period=x.period,
                store_id=x.store_id,
                description=x.description,
                note=x.note,
                account_code=x.account_code,
                account_name=x.account_name,
                debit_fen=x.debit_fen,
                credit_fen=x.credit_fen,
                business_line=x.business_line,
                model_code=x.model_code,
                vin=x.vin,
                counterparty_store_id=x.counterparty_store_id,
                party=x.party,
                memo=x.memo,
                source=SourceOut(type=x.source_type, id=x.source_id, url=x.source_url),
                entry_url=x.entry_url,
            )
            for x in found.lines
        ],
        next_cursor=found.next_cursor,
        line_count=found.line_count,
        total_debit_fen=found.debit_fen,
        total_credit_fen=found.credit_fen,
        net_fen=found.debit_fen - found.credit_fen,
    )
