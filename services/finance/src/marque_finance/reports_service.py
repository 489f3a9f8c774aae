"""Reports from the books (the source of truth for money): the journal summed in SQL, arranged by
`domain.statements`.

Every report is a handful of `GROUP BY` queries over `journal_lines`: one store's sums come
straight from the covering index (store_id, account_code, period) INCLUDE (debit_fen, credit_fen),
the group's from (account_code, period). All of a report's queries read one snapshot (REPEATABLE
READ, READ ONLY), so that its figures agree with each other even while postings arrive.

Scope: one store the caller sees, or the group (every store; HQ only). A store the caller does not
see answers 404, like any other row of another store.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import String, TextClause, and_, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from marque_finance.domain.accounts import COST_OF_SALES, INTER_STORE, Category, covers
from marque_finance.domain.ledger import parse_period
from marque_finance.domain.statements import (
    CASH_ACCOUNTS,
    AccountInfo,
    BalanceSheet,
    CashFlow,
    CashFlowClass,
    CashMovement,
    Chart,
    Elimination,
    GrossProfitRow,
    GrossProfitSum,
    InterStoreBalance,
    Movement,
    ProfitAndLoss,
    TrialBalance,
    balance_sheet,
    business_line_of_account,
    cash_flow,
    class_of_account,
    consolidate,
    eliminate_inter_store,
    gross_profit_rows,
    is_tax,
    profit_and_loss,
    trial_balance,
)
from marque_finance.models import (
    CreditNote,
    FloorplanLoan,
    JournalEntry,
    JournalLine,
    PayablePayment,
    Refund,
)
from marque_kit.auth import ALL_STORES, Principal
from marque_kit.errors import Forbidden, InvalidInput, NotFound
from marque_kit.http import PageParams, decode_cursor, encode_cursor, paginate

# --- scope and periods ---------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """Whose books a report reads: one store, or the group (`store_id` None: every store)."""

    store_id: str | None
    stores: tuple[str, ...]

    @property
    def is_group(self) -> bool:
        return self.store_id is None


async def begin_snapshot(session: AsyncSession) -> None:
    """Read every query of one report from the same snapshot of the books."""
    await session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))


async def scope_for(session: AsyncSession, principal: Principal, store_id: str | None) -> Scope:
    """One store the caller sees (404 otherwise), or the group for HQ (403 for anyone else)."""
    if store_id is None or store_id in ("", ALL_STORES):
        if not principal.is_hq:
            raise Forbidden(
                "Group reports are for HQ. Ask for one of your stores with "
                f"store_id={'|'.join(principal.stores) or '<store>'}."
            )
        rows = await session.execute(text("SELECT DISTINCT store_id FROM accounts ORDER BY 1"))
        return Scope(None, tuple(r for (r,) in rows))
    principal.require_store(store_id, what=f"Store {store_id}")
    has_books = await session.execute(
        text("SELECT 1 FROM accounts WHERE store_id = :s LIMIT 1"), {"s": store_id}
    )
    if has_books.first() is None:
        raise NotFound(
            f"Store {store_id} has no books yet: nothing has been posted for it. "
            "Check the store id."
        )
    return Scope(store_id, (store_id,))


def period_param(value: str, field: str) -> str:
    """A YYYY-MM query parameter, or 422 naming the parameter."""
    try:
        return parse_period(value)
    except InvalidInput as exc:
        raise InvalidInput(
            exc.detail.replace("Period", f"{field}", 1),
            errors=[{"field": field, "location": "query", "rule": "format"}],
        ) from None


def period_range(first: str | None, last: str | None, today: date) -> tuple[str, str]:
    """from_period..to_period; by default the year to date (January to this month)."""
    to_period = period_param(last, "to_period") if last else f"{today:%Y-%m}"
    from_period = period_param(first, "from_period") if first else f"{to_period[:4]}-01"
    if from_period > to_period:
        raise InvalidInput(
            f"from_period {from_period} comes after to_period {to_period}; "
            "put the earlier month first.",
            errors=[{"field": "from_period", "location": "query", "rule": "order"}],
        )
    return from_period, to_period


def previous_period(period: str) -> str:
    year, month = int(period[:4]), int(period[5:])
    return f"{year - (month == 1):04d}-{(month - 2) % 12 + 1:02d}"


# --- the chart -----------------------------------------------------------------------------


async def load_chart(session: AsyncSession, scope: Scope) -> Chart:
    """The store's chart, or for the group every store's (the template plus their own accounts)."""
    where = "" if scope.is_group else "WHERE store_id = :s"
    rows = await session.execute(
        text(
            "SELECT DISTINCT ON (code) code, name, name_en, category, parent_code FROM accounts "
            f"{where} ORDER BY code, from_template DESC, store_id"
        ),
        {"s": scope.store_id},
    )
    template = Chart.template()
    infos = {c: template.info(c) for c in template.codes()}
    for code, name, name_en, category, parent in rows:
        infos[code] = AccountInfo(code, name, name_en, Category(category), parent)
    return Chart(infos.values())


def _stores_clause(scope: Scope, params: dict[str, Any], column: str = "store_id") -> str:
    if scope.is_group:
        return "TRUE"
    params["store"] = scope.store_id
    return f"{column} = :store"


# --- sums ----------------------------------------------------------------------------------


async def movements_by_store(
    session: AsyncSession, scope: Scope, first: str, last: str, codes: Sequence[str] | None = None
) -> dict[str, dict[str, Movement]]:
    """Per store and account: the balance before `first`, and debits and credits first..last."""
    params: dict[str, Any] = {"first": first, "last": last}
    where = [_stores_clause(scope, params), "period <= :last"]
    if codes is not None:
        where.append("account_code = ANY(:codes)")
        params["codes"] = list(codes)
    rows = await session.execute(
        text(
            "SELECT store_id, account_code, "
            "COALESCE(SUM(debit_fen - credit_fen) FILTER (WHERE period < :first), 0), "
            "COALESCE(SUM(debit_fen) FILTER (WHERE period >= :first), 0), "
            "COALESCE(SUM(credit_fen) FILTER (WHERE period >= :first), 0) "
            f"FROM journal_lines WHERE {' AND '.join(where)} GROUP BY store_id, account_code"
        ),
        params,
    )
    out: dict[str, dict[str, Movement]] = defaultdict(dict)
    for store, code, opening, debits, credits in rows:
        out[store][code] = Movement(int(opening), int(debits), int(credits))
    return dict(out)


async def range_sums_by_store(
    session: AsyncSession, scope: Scope, first: str, last: str, codes: Sequence[str]
) -> dict[str, dict[str, Movement]]:
    """Per store and account: debits and credits within first..last only (the P&L's query)."""
    params: dict[str, Any] = {"first": first, "last": last, "codes": list(codes)}
    rows = await session.execute(
        text(
            "SELECT store_id, account_code, SUM(debit_fen), SUM(credit_fen) FROM journal_lines "
            f"WHERE {_stores_clause(scope, params)} AND period BETWEEN :first AND :last "
            "AND account_code = ANY(:codes) GROUP BY store_id, account_code"
        ),
        params,
    )
    out: dict[str, dict[str, Movement]] = defaultdict(dict)
    for store, code, debits, credits in rows:
        out[store][code] = Movement(0, int(debits), int(credits))
    return dict(out)


async def balances_as_at(session: AsyncSession, scope: Scope, period: str) -> dict[str, int]:
    """The group's (or store's) balance of every account at the end of `period`."""
    params: dict[str, Any] = {"period": period}
    rows = await session.execute(
        text(
            "SELECT account_code, SUM(debit_fen - credit_fen) FROM journal_lines "
            f"WHERE {_stores_clause(scope, params)} AND period <= :period GROUP BY account_code"
        ),
        params,
    )
    return {code: int(balance) for code, balance in rows}


async def inter_store_elimination(session: AsyncSession, chart: Chart, period: str) -> Elimination:
    """Every store's 1901 balance per counterparty at the end of `period`, eliminated."""
    rows = await session.execute(
        text(
            "SELECT store_id, counterparty_store_id, SUM(debit_fen - credit_fen) "
            "FROM journal_lines WHERE account_code = ANY(:codes) AND period <= :period "
            "GROUP BY store_id, counterparty_store_id"
        ),
        {"codes": chart.under(INTER_STORE), "period": period},
    )
    return eliminate_inter_store(InterStoreBalance(s, c, int(b)) for s, c, b in rows)


# --- the reports ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TrialBalanceReport:
    scope: Scope
    from_period: str
    to_period: str
    chart: Chart
    trial_balance: TrialBalance
    elimination: Elimination | None


async def trial_balance_report(
    session: AsyncSession, scope: Scope, first: str, last: str
) -> TrialBalanceReport:
    chart = await load_chart(session, scope)
    sums = consolidate(await movements_by_store(session, scope, first, last))
    elimination = await inter_store_elimination(session, chart, last) if scope.is_group else None
    return TrialBalanceReport(scope, first, last, chart, trial_balance(chart, sums), elimination)


@dataclass(frozen=True)
class StoreProfit:
    store_id: str
    revenue: int
    gross_profit: int
    net_profit: int


@dataclass(frozen=True)
class ProfitAndLossReport:
    scope: Scope
    from_period: str
    to_period: str
    chart: Chart
    pnl: ProfitAndLoss
    by_store: tuple[StoreProfit, ...]


def pnl_codes(chart: Chart) -> list[str]:
    return chart.of_category(Category.REVENUE, Category.EXPENSE)


async def profit_and_loss_report(
    session: AsyncSession, scope: Scope, first: str, last: str
) -> ProfitAndLossReport:
    chart = await load_chart(session, scope)
    per_store = await range_sums_by_store(session, scope, first, last, pnl_codes(chart))
    by_store = []
    for store in sorted(per_store):
        own = profit_and_loss(chart, per_store[store])
        by_store.append(StoreProfit(store, own.total_revenue, own.gross_profit, own.net_profit))
    pnl = profit_and_loss(chart, consolidate(per_store))
    return ProfitAndLossReport(scope, first, last, chart, pnl, tuple(by_store))


@dataclass(frozen=True)
class BalanceSheetReport:
    scope: Scope
    period: str
    chart: Chart
    balance_sheet: BalanceSheet
    elimination: Elimination | None


async def balance_sheet_report(
    session: AsyncSession, scope: Scope, period: str
) -> BalanceSheetReport:
    chart = await load_chart(session, scope)
    sheet = balance_sheet(chart, await balances_as_at(session, scope, period))
    elimination = await inter_store_elimination(session, chart, period) if scope.is_group else None
    return BalanceSheetReport(scope, period, chart, sheet, elimination)


def cash_codes(chart: Chart) -> list[str]:
    return [c for a in CASH_ACCOUNTS for c in chart.under(a)]


def tax_codes(chart: Chart) -> list[str]:
    return [c for c in chart.codes() if is_tax(c)]


def cash_movements_sql(
    scope: Scope, chart: Chart, first: str | None, last: str | None, params: dict[str, Any]
) -> str:
    """`moved` (entry id, cash in or out) for every entry that moved cash in the range, and
    `deciding` (entry id, account): `statements.deciding_account` in SQL, so that a year of
    receipts and payments is classified without leaving the database. The rule: the entry's
    largest non-cash, non-tax line by absolute net, ties to the lowest code."""
    params.update(cash=cash_codes(chart), tax=tax_codes(chart))
    where = [_stores_clause(scope, params), "account_code = ANY(:cash)"]
    if first:
        where.append("period >= :first")
        params["first"] = first
    if last:
        where.append("period <= :last")
        params["last"] = last
    return (
        "WITH moved AS ("
        " SELECT entry_id, SUM(debit_fen - credit_fen) AS cash FROM journal_lines"
        f" WHERE {' AND '.join(where)}"
        " GROUP BY entry_id HAVING SUM(debit_fen - credit_fen) <> 0"
        "), counter AS ("
        " SELECT l.entry_id, l.account_code, SUM(l.debit_fen - l.credit_fen) AS net"
        " FROM journal_lines l JOIN moved USING (entry_id)"
        " WHERE l.account_code <> ALL(:cash) AND l.account_code <> ALL(:tax)"
        " GROUP BY l.entry_id, l.account_code HAVING SUM(l.debit_fen - l.credit_fen) <> 0"
        "), deciding AS ("
        " SELECT DISTINCT ON (entry_id) entry_id, account_code FROM counter"
        ' ORDER BY entry_id, abs(net) DESC, account_code COLLATE "C"'
        ") "
    )


async def cash_movements_by_account(
    session: AsyncSession, scope: Scope, chart: Chart, first: str, last: str
) -> list[CashMovement]:
    """Cash in and out of the range's entries, summed by the account that decides their class."""
    params: dict[str, Any] = {}
    rows = await session.execute(
        text(
            cash_movements_sql(scope, chart, first, last, params) + "SELECT d.account_code, "
            "COALESCE(SUM(m.cash) FILTER (WHERE m.cash > 0), 0), "
            "COALESCE(-SUM(m.cash) FILTER (WHERE m.cash < 0), 0) "
            "FROM moved m LEFT JOIN deciding d USING (entry_id) GROUP BY d.account_code"
        ),
        params,
    )
    return [CashMovement(code, int(inflow), int(outflow)) for code, inflow, outflow in rows]


def entries_of_cash_class(
    scope: Scope, chart: Chart, category: CashFlowClass, first: str | None, last: str | None
) -> TextClause:
    """The ids of the entries whose cash movement the cash-flow summary puts in `category`."""
    params: dict[str, Any] = {
        "decided": [c for c in chart.codes() if class_of_account(c) is category]
    }
    undecided = " OR d.account_code IS NULL" if category is CashFlowClass.OTHER else ""
    sql = cash_movements_sql(scope, chart, first, last, params) + (
        "SELECT m.entry_id FROM moved m LEFT JOIN deciding d USING (entry_id) "
        f"WHERE d.account_code = ANY(:decided){undecided}"
    )
    return text(sql).bindparams(**params)


@dataclass(frozen=True)
class CashFlowReport:
    scope: Scope
    from_period: str
    to_period: str
    cash_accounts: tuple[str, ...]
    cash_flow: CashFlow


async def cash_flow_report(
    session: AsyncSession, scope: Scope, first: str, last: str
) -> CashFlowReport:
    chart = await load_chart(session, scope)
    cash = cash_codes(chart)
    sums = consolidate(await movements_by_store(session, scope, first, last, cash))
    opening = sum(m.opening for m in sums.values())
    closing = sum(m.closing for m in sums.values())
    movements = await cash_movements_by_account(session, scope, chart, first, last)
    flow = cash_flow(opening, closing, movements)
    return CashFlowReport(scope, first, last, tuple(cash), flow)


# --- gross profit --------------------------------------------------------------------------


@dataclass(frozen=True)
class GrossProfitReport:
    scope: Scope
    from_period: str
    to_period: str
    rows: list[GrossProfitRow]
    next_cursor: str | None
    revenue: int
    cost: int


def gross_profit_codes(chart: Chart) -> list[str]:
    return [
        c
        for c in chart.codes()
        if chart.info(c).category is Category.REVENUE or covers(COST_OF_SALES, c)
    ]


def codes_of_line(chart: Chart, business_line: str) -> list[str]:
    return [c for c in gross_profit_codes(chart) if business_line_of_account(c) == business_line]


async def gross_profit_report(
    session: AsyncSession,
    scope: Scope,
    first: str,
    last: str,
    *,
    business_line: str | None,
    model_code: str | None,
    page: PageParams,
) -> GrossProfitReport:
    """Rows store x business line x model x month, paged in that order; totals over all rows."""
    chart = await load_chart(session, scope)
    params: dict[str, Any] = {"first": first, "last": last, "codes": gross_profit_codes(chart)}
    where = [
        _stores_clause(scope, params),
        "period BETWEEN :first AND :last",
        "account_code = ANY(:codes)",
    ]
    if model_code is not None:
        where.append("model_code = :model")
        params["model"] = model_code
    if business_line is not None:
        # The same rule as statements.line_of: a line's own tag, else its account's line.
        where.append(
            "((business_line = :line AND :line <> '') "
            "OR (business_line = '' AND account_code = ANY(:lc)))"
        )
        params["line"] = business_line
        params["lc"] = codes_of_line(chart, business_line)
    rows = await session.execute(
        text(
            "SELECT store_id, period, account_code, business_line, model_code, "
            "SUM(debit_fen), SUM(credit_fen) FROM journal_lines "
            f"WHERE {' AND '.join(where)} "
            "GROUP BY store_id, period, account_code, business_line, model_code"
        ),
        params,
    )
    all_rows = gross_profit_rows(
        chart, (GrossProfitSum(s, p, a, b, m, int(d), int(c)) for s, p, a, b, m, d, c in rows)
    )

    def key(r: GrossProfitRow) -> list[str]:
        return [r.store_id, r.business_line, r.model_code, r.period]

    after = decode_cursor(page.cursor, size=4) if page.cursor else None
    if after is not None and not all(isinstance(v, str) for v in after):
        raise InvalidInput(
            "The cursor is not valid (it belongs to another list). Start again without a cursor.",
            errors=[{"field": "cursor", "location": "query"}],
        )
    rest = [r for r in all_rows if after is None or key(r) > after]
    items = rest[: page.limit]
    next_cursor = encode_cursor(key(items[-1])) if len(rest) > page.limit else None
    return GrossProfitReport(
        scope,
        first,
        last,
        items,
        next_cursor,
        revenue=sum(r.revenue for r in all_rows),
        cost=sum(r.cost for r in all_rows),
    )


# --- drill-down ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DrillFilter:
    """Which journal lines make up a figure. Accounts include their sub-accounts; a model code of
    "" means lines without a model; None means "any"."""

    accounts: tuple[str, ...] = ()
    first: str | None = None
    last: str | None = None
    business_line: str | None = None
    model_code: str | None = None
    cash_category: CashFlowClass | None = None


@dataclass(frozen=True)
class DrillLine:
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
    source_type: str
    source_id: str
    source_url: str | None
    entry_url: str


@dataclass(frozen=True)
class DrillDown:
    lines: list[DrillLine]
    next_cursor: str | None
    line_count: int
    debit_fen: int
    credit_fen: int


# Where a person reads the document behind an entry, by the entry's source_type; `{id}` is the
# entry's source_id, or the parent document for kinds read through their parent (PARENTS).
DOCUMENT_URLS = {
    "invoice": "/api/v1/finance/invoices/{id}",
    "receipt": "/api/v1/finance/receipts/{id}",
    "refund": "/api/v1/finance/receipts/{id}",  # a refund is read on its receipt
    "credit_note": "/api/v1/finance/invoices/{id}",  # a credit note is read on its invoice
    "payable": "/api/v1/finance/payables/{id}",
    "payable_payment": "/api/v1/finance/payables/{id}",  # a payment is read on its payable
    "floorplan_loan": "/api/v1/finance/floorplan/loans/{id}",  # loans are read by VIN
    "expense_claim": "/api/v1/finance/expense-claims/{id}",
    "bank_statement_line": "/api/v1/finance/bank/lines/{id}",
    # Inventory events name the vehicle (VIN) or the transfer they moved.
    "marque.inventory.v1.VehicleArrived": "/api/v1/inventory/vehicles/{id}",
    "marque.inventory.v1.VehicleDelivered": "/api/v1/inventory/vehicles/{id}",
    "marque.inventory.v1.TransferShipped": "/api/v1/inventory/transfers/{id}",
    "marque.inventory.v1.TransferReceived": "/api/v1/inventory/transfers/{id}",
}
# Kinds whose source_id is a child row: (source_type, child id column, parent id column).
PARENTS: tuple[tuple[str, Any, Any], ...] = (
    ("refund", col(Refund.id), col(Refund.receipt_id)),
    ("credit_note", col(CreditNote.id), col(CreditNote.invoice_id)),
    ("payable_payment", col(PayablePayment.id), col(PayablePayment.payable_id)),
    ("floorplan_loan", col(FloorplanLoan.id), col(FloorplanLoan.vin)),
)
ENTRY_URL = "/api/v1/finance/journal/{id}"


def source_url(source_type: str, source_id: str, entry_id: str = "") -> str | None:
    """A link to the source document of an entry, when it is a kind Marque serves; a manual
    entry is its own document."""
    if source_type == "manual" and entry_id:
        return ENTRY_URL.format(id=entry_id)
    if source_type == "floorplan_accrual" and ":" in source_id:
        store, month = source_id.split(":", 1)
        return "/api/v1/finance/floorplan/accruals?" + urlencode(
            {"store_id": store, "month": month}
        )
    template = DOCUMENT_URLS.get(source_type)
    return template.format(id=source_id) if template and source_id else None


def document_id(row: Any, parents: dict[tuple[str, str], str]) -> str:
    """The id in the document's URL: its own, or its parent's ("" if the parent is unknown)."""
    if any(row.source_type == kind for kind, _, _ in PARENTS):
        return parents.get((row.source_type, row.source_id), "")
    return str(row.source_id)


async def parent_documents(
    session: AsyncSession, sources: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """(source_type, source_id) -> the id of the parent document, for kinds read via a parent."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for kind, source_id in sources:
        wanted[kind].add(source_id)
    out: dict[tuple[str, str], str] = {}
    for kind, child, parent in PARENTS:
        if wanted.get(kind):
            rows = await session.execute(
                select(child, parent).where(child.in_(sorted(wanted[kind])))
            )
            out.update({(kind, c): p for c, p in rows})
    return out


def check_accounts(chart: Chart, accounts: Sequence[str]) -> None:
    unknown = [a for a in accounts if a not in chart]
    if unknown:
        raise InvalidInput(
            f"Account(s) {', '.join(unknown)} are not in the chart of accounts; "
            "use codes like 6001.01 (see the trial balance).",
            errors=[{"field": "account", "location": "query", "accounts": unknown}],
        )


async def drill_down(
    session: AsyncSession, scope: Scope, f: DrillFilter, page: PageParams
) -> DrillDown:
    """The journal lines behind a figure, oldest first, with their entry and source document;
    the totals cover every line of the filter, not just this page."""
    chart = await load_chart(session, scope)
    check_accounts(chart, f.accounts)
    line, entry = JournalLine, JournalEntry
    where: list[Any] = []
    if not scope.is_group:
        where.append(col(line.store_id) == scope.store_id)
    if f.accounts:
        codes = sorted({c for a in f.accounts for c in chart.under(a)})
        where.append(col(line.account_code).in_(codes))
    if f.first:
        where.append(col(line.period) >= f.first)
    if f.last:
        where.append(col(line.period) <= f.last)
    if f.model_code is not None:
        where.append(col(line.model_code) == f.model_code)
    if f.business_line is not None:
        # The same rule as statements.line_of: a line's own tag, else its account's line.
        tagged = [col(line.business_line) == f.business_line] if f.business_line else []
        untagged = and_(
            col(line.business_line) == "",
            col(line.account_code).in_(codes_of_line(chart, f.business_line)),
        )
        where.append(or_(*tagged, untagged))
    if f.cash_category is not None:
        of_class = entries_of_cash_class(scope, chart, f.cash_category, f.first, f.last)
        where.append(col(line.entry_id).in_(of_class.columns(entry_id=String)))
        where.append(col(line.account_code).in_(cash_codes(chart)))

    totals = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(col(line.debit_fen)), 0),
                func.coalesce(func.sum(col(line.credit_fen)), 0),
            ).where(*where)
        )
    ).one()
    columns: list[Any] = [
        col(line.id),
        col(line.entry_id),
        col(entry.number).label("entry_number"),
        col(line.entry_date),
        col(line.period),
        col(line.store_id),
        col(entry.description),
        col(entry.note),
        col(line.account_code),
        col(line.debit_fen),
        col(line.credit_fen),
        col(line.business_line),
        col(line.model_code),
        col(line.vin),
        col(line.counterparty_store_id),
        col(line.party),
        col(line.memo),
        col(entry.source_type),
        col(entry.source_id),
    ]
    stmt = select(*columns).join(entry, col(entry.id) == col(line.entry_id)).where(*where)
    rows, next_cursor = await paginate(
        session, stmt, page, order=(col(line.entry_date), col(line.id))
    )
    parents = await parent_documents(session, ((r.source_type, r.source_id) for r in rows))
    lines = [
        DrillLine(
            id=r.id,
            entry_id=r.entry_id,
            entry_number=r.entry_number,
            entry_date=r.entry_date,
            period=r.period,
            store_id=r.store_id,
            description=r.description,
            note=r.note,
            account_code=r.account_code,
            account_name=chart.info(r.account_code).name,
            debit_fen=r.debit_fen,
            credit_fen=r.credit_fen,
            business_line=r.business_line,
            model_code=r.model_code,
            vin=r.vin,
            counterparty_store_id=r.counterparty_store_id,
            party=r.party,
            memo=r.memo,
            source_type=r.source_type,
            source_id=r.source_id,
            source_url=source_url(r.source_type, document_id(r, parents), r.entry_id),
            entry_url=ENTRY_URL.format(id=r.entry_id),
        )
        for r in rows
    ]
    return DrillDown(lines, next_cursor, int(totals[0]), int(totals[1]), int(totals[2]))
