"""Bulk import of customers and leads from a store's spreadsheet, and exports back to one.

Import (`run_import`), in one transaction:

1. The file is read (`tabular.read_table`: CSV in UTF-8/GBK or XLSX) and its header row matched
   against the accepted columns (`domain.imports.COLUMNS`, English or Chinese headers).
2. Every row is checked (mobile, 身份证 checksum, grade, channel, budget ...); all of a row's
   problems are reported with its Excel row number and field.
3. Dedupe report: rows repeating an earlier row of the file (same mobile or ID number) are
   skipped and reported; rows naming a customer the group already knows (by mobile or ID number,
   a merged record leading to its survivor) are reported as matched. A row whose mobile belongs
   to one customer and whose ID number to another is an error (merge them first).
4. Each remaining row goes through the one door: `customers_service.find_or_create` (a customers
   import), or that and `leads_service.create_lead` (a leads import), so that dedupe, the
   duplicate-lead attach rule, assignment and follow-up tasks apply exactly as for a lead typed
   in. A 顾问 (consultant) column hands a new lead to that consultant (a manual assignment,
   recorded with its reason) and makes them the owner of a new customer.

Modes: `all_or_nothing` (the default) imports nothing when any row is wrong and answers 422 with
the whole report; `valid_rows` imports the good rows (each in its own savepoint, so a row that
fails half-way leaves nothing behind) and reports the rest.

A file past the synchronous limits (`domain.imports.runs_as_job`) becomes a background job
(`import_jobs_service`), which runs steps 1-3 once (`check_import`) and step 4 in chunks
(`import_rows`): the same functions, the same door.

Who may import: `crm.customers:import` / `crm.leads:import` in the store. A sales consultant may
name only themselves as 顾问; a customer they import without one becomes theirs.

Exports (`customer_rows`, `lead_rows`) page through what the caller may see (object-level
access: a consultant their own book, a manager their stores, HQ everything) with PII masked
unless the caller holds `pii:read`; the columns are the import's, so an export imports again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from marque_crm import assignment_service
from marque_crm.customers_service import (
    PII_READ,
    NewCustomer,
    find_or_create,
    in_store_by_lead,
    resolve,
    sees_only_own_book,
    visible_to,
)
from marque_crm.domain import imports as rules
from marque_crm.domain.imports import CUSTOMERS, LEADS, ImportRow, RowError
from marque_crm.domain.leads import LeadDetails
from marque_crm.leads_service import NewLead, create_lead, is_manager, visible_leads
from marque_crm.models import Customer, Lead
from marque_crm.tabular import Table
from marque_crm.unit_of_work import Crm
from marque_kit.auth import Principal
from marque_kit.errors import DomainError, InvalidInput

ALL_OR_NOTHING = "all_or_nothing"
VALID_ROWS = "valid_rows"
MODES = (ALL_OR_NOTHING, VALID_ROWS)
IMPORT_SCOPE = {CUSTOMERS: "crm.customers:import", LEADS: "crm.leads:import"}
EXPORT_BATCH = 500


# ---- The report -----------------------------------------------------------------------------


@dataclass
class RowResult:
    row: int
    customer_id: str
    customer: str  # created | existing
    lead_id: str | None = None
    lead: str | None = None  # created | attached | resent
    assigned_to: str | None = None

    def as_dict(self, hidden: set[str]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "row": self.row,
            "customer_id": None if self.customer_id in hidden else self.customer_id,
            "customer": self.customer,
        }
        if self.lead_id is not None:
            out.update(lead_id=self.lead_id, lead=self.lead, assigned_to=self.assigned_to)
        return out


@dataclass
class ImportReport:
    kind: str
    store_id: str
    mode: str
    file_format: str
    encoding: str
    rows: int
    ignored_columns: list[str]
    errors: list[RowError] = field(default_factory=list)
    existing: list[dict[str, Any]] = field(default_factory=list)
    in_file: list[dict[str, Any]] = field(default_factory=list)
    results: list[RowResult] = field(default_factory=list)
    # Known customers the caller may not see: the report does not name them.
    hidden: set[str] = field(default_factory=set)

    @property
    def imported(self) -> int:
        return len(self.results)

    @property
    def created_anything(self) -> bool:
        return any(r.customer == "created" or r.lead == "created" for r in self.results)

    def counts(self) -> dict[str, int]:
        def count(attr: str, value: str) -> int:
            return sum(1 for r in self.results if getattr(r, attr) == value)

        out = {
            "customers_created": count("customer", "created"),
            "customers_existing": count("customer", "existing"),
        }
        if self.kind == LEADS:
            out |= {
                "leads_created": count("lead", "created"),
                "leads_attached": count("lead", "attached"),
                "leads_resent": count("lead", "resent"),
            }
        return out

    def duplicates(self) -> dict[str, Any]:
        return {"existing": self.existing, "in_file": self.in_file}

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "store_id": self.store_id,
            "mode": self.mode,
            "file": {
                "format": self.file_format,
                "encoding": self.encoding,
                "rows": self.rows,
                "ignored_columns": self.ignored_columns,
            },
            "imported": self.imported,
            "skipped": self.rows - self.imported,
            **self.counts(),
            "errors": [e.as_dict() for e in sorted(self.errors, key=lambda e: e.row)],
            "duplicates": self.duplicates(),
            "rows": [r.as_dict(self.hidden) for r in self.results],
        }


# ---- Import ---------------------------------------------------------------------------------


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise InvalidInput(
            f"mode {mode!r} is not one of {', '.join(MODES)}.",
            errors=[{"field": "mode", "location": "query", "rule": "enum"}],
        )
    return mode


@dataclass
class CheckedImport:
    """A file after the checks (steps 1-3): the report so far and the rows left to import."""

    report: ImportReport
    rows: list[ImportRow]


def check_rows(
    kind: str, table: Table, today: date
) -> tuple[rules.HeaderMap, list[ImportRow], list[RowError]]:
    """Steps 1-2, pure: the header mapping, the rows that pass their checks and the row errors."""
    header = rules.map_headers(kind, table.headers)
    checked: list[ImportRow] = []
    errors: list[RowError] = []
    for number, cells in table.rows:
        values = {key: (cells[i] if i < len(cells) else "") for key, i in header.positions.items()}
        row, row_errors = rules.check_row(kind, number, values, today=today)
        errors.extend(row_errors)
        if row is not None:
            checked.append(row)
    return header, checked, errors


async def check_import(
    session: AsyncSession,
    crm: Crm,
    principal: Principal,
    *,
    kind: str,
    store_id: str,
    table: Table,
    mode: str = ALL_OR_NOTHING,
) -> CheckedImport:
    """Steps 1-3 (see the module docstring), reading only: who may import, the header, every
    row's checks, the dedupe report. Nothing is written."""
    mode = check_mode(mode)
    principal.require(IMPORT_SCOPE[kind])
    principal.require_store(store_id, what=f"Store {store_id}")
    # Pure CPU work (about 20 µs a row): off the event loop, so 50,000 rows do not stall it.
    header, checked, errors = await asyncio.to_thread(check_rows, kind, table, crm.today())
    report = ImportReport(
        kind=kind,
        store_id=store_id,
        mode=mode,
        file_format=table.file_format,
        encoding=table.encoding,
        rows=len(table.rows),
        ignored_columns=list(header.ignored),
        errors=errors,
    )
    kept, in_file = rules.dedupe_in_file(checked)
    report.in_file = [
        {"row": d.row, "duplicate_of_row": d.duplicate_of_row, "by": d.by} for d in in_file
    ]
    kept = await _match_existing(session, crm, principal, kept, report)
    kept = await _check_consultants(session, principal, store_id, kind, kept, report)
    return CheckedImport(report, kept)


async def run_import(
    session: AsyncSession,
    crm: Crm,
    principal: Principal,
    *,
    kind: str,
    store_id: str,
    table: Table,
    mode: str = ALL_OR_NOTHING,
) -> ImportReport:
    """Check and import `table` into `store_id` (see the module docstring); the caller commits.

    All or nothing: raises InvalidInput (422) carrying the whole report when any row is wrong."""
    checked = await check_import(
        session, crm, principal, kind=kind, store_id=store_id, table=table, mode=mode
    )
    report = checked.report
    if report.errors and report.mode == ALL_OR_NOTHING:
        raise refusal(report)
    if report.mode == VALID_ROWS:
        await import_rows(session, crm, principal, checked.rows, report)
        return report
    for row in checked.rows:
        # One failure refuses the file, so no savepoint is needed (two round trips a row).
        try:
            report.results.append(await _import_row(session, crm, principal, kind, store_id, row))
        except DomainError as exc:
            report.errors.append(_row_error(row.row, exc))
            raise refusal(report) from exc
    return report


async def import_rows(
    session: AsyncSession,
    crm: Crm,
    principal: Principal,
    rows: Sequence[ImportRow],
    report: ImportReport,
) -> None:
    """Step 4 for checked rows, each in its own savepoint: a row that fails half-way leaves
    nothing behind and is reported; the others are imported (into `report.results`)."""
    for row in rows:
        try:
            async with session.begin_nested():
                report.results.append(
                    await _import_row(session, crm, principal, report.kind, report.store_id, row)
                )
        except DomainError as exc:
            report.errors.append(_row_error(row.row, exc))


def refusal(report: ImportReport) -> InvalidInput:
    """The all_or_nothing answer for a file with row errors: nothing was imported."""
    bad_rows = len({e.row for e in report.errors})
    return InvalidInput(
        f"{bad_rows} of {report.rows} rows have errors, so nothing was imported "
        f"(mode=all_or_nothing). Fix the rows listed in `errors` and upload the file again, or "
        f"upload it with ?mode=valid_rows to import the good rows now.",
        errors=[e.as_dict() for e in sorted(report.errors, key=lambda e: e.row)],
        duplicates=report.duplicates(),
        rows=report.rows,
        rows_with_errors=bad_rows,
    )


def _row_error(row: int, exc: DomainError) -> RowError:
    first = (exc.errors or [{}])[0]
    return RowError(
        row, str(first.get("field", "row")), str(first.get("rule", exc.slug)), exc.detail
    )


async def _match_existing(
    session: AsyncSession,
    crm: Crm,
    principal: Principal,
    rows: list[ImportRow],
    report: ImportReport,
) -> list[ImportRow]:
    """Report rows that name a customer the group knows; refuse rows naming two customers."""
    if not rows:
        return rows
    mobile_index = {r.row: crm.pii.index(r.mobile, "mobile") for r in rows}
    id_index = {r.row: crm.pii.index(r.national_id, "national_id") for r in rows if r.national_id}
    found: dict[str, str] = {}  # blind index -> live customer id
    for chunk in _chunks([*mobile_index.values(), *id_index.values()], 1000):
        result = await session.execute(
            select(Customer).where(
                or_(
                    col(Customer.mobile_index).in_(chunk),
                    col(Customer.national_id_index).in_(chunk),
                )
            )
        )
        for customer in result.scalars().all():
            live = customer if customer.merged_into is None else await resolve(session, customer.id)
            # A live record wins over a tombstone carrying the same index.
            if customer.merged_into is None or customer.mobile_index not in found:
                found[customer.mobile_index] = live.id
            if customer.national_id_index and (
                customer.merged_into is None or customer.national_id_index not in found
            ):
                found[customer.national_id_index] = live.id
    visible: set[str] = set()
    if found:
        ids = sorted(set(found.values()))
        for chunk in _chunks(ids, 1000):
            result = await session.execute(
                select(col(Customer.id)).where(col(Customer.id).in_(chunk), visible_to(principal))
            )
            visible.update(str(v) for v in result.scalars().all())
    kept: list[ImportRow] = []
    for r in rows:
        by_mobile = found.get(mobile_index[r.row])
        by_id = found.get(id_index[r.row]) if r.row in id_index else None
        if by_mobile and by_id and by_mobile != by_id:
            report.errors.append(
                RowError(
                    r.row,
                    "national_id",
                    "identity_conflict",
                    "The mobile belongs to one customer and the ID number to another; a "
                    "manager should merge the two records (or correct the row) first.",
                )
            )
            continue
        match = by_mobile or by_id
        if match:
            report.existing.append(
                {
                    "row": r.row,
                    "by": "mobile" if by_mobile else "national_id",
                    # Only a customer the caller may see is named.
                    "customer_id": match if match in visible else None,
                }
            )
            if match not in visible:
                report.hidden.add(match)
        kept.append(r)
    return kept


async def _check_consultants(
    session: AsyncSession,
    principal: Principal,
    store_id: str,
    kind: str,
    rows: list[ImportRow],
    report: ImportReport,
) -> list[ImportRow]:
    """A 顾问 must be on the store's roster (and be the importer, unless a manager imports)."""
    named = {r.consultant for r in rows if r.consultant}
    if not named:
        return rows
    roster = {e.subject: e for e in await assignment_service.roster_of(session, store_id)}
    manager = is_manager(principal)
    kept: list[ImportRow] = []
    for r in rows:
        if r.consultant:
            if not manager and r.consultant != principal.subject:
                report.errors.append(
                    RowError(
                        r.row,
                        "consultant",
                        "not_yours",
                        f"Only a manager imports for another consultant; leave 顾问 empty or "
                        f"put your own id ({principal.subject}).",
                    )
                )
                continue
            if r.consultant not in roster:
                report.errors.append(
                    RowError(
                        r.row,
                        "consultant",
                        "consultant_of_store",
                        f"顾问 {r.consultant!r} is not on store {store_id}'s roster; add them with "
                        f"PUT /api/v1/crm/stores/{store_id}/consultants/{{subject}} first.",
                    )
                )
                continue
        kept.append(r)
    return kept


def _actor(principal: Principal) -> str:
    return principal.subject if principal.kind == "user" else principal.label()


async def _import_row(
    session: AsyncSession,
    crm: Crm,
    principal: Principal,
    kind: str,
    store_id: str,
    row: ImportRow,
) -> RowResult:
    actor = _actor(principal)
    owner = row.consultant or (principal.subject if sees_only_own_book(principal) else "")
    found = await find_or_create(
        session,
        crm,
        NewCustomer(
            store_id=store_id,
            name=row.name,
            mobile=row.mobile,
            kind=row.kind,
            national_id=row.national_id,
            source=row.channel or "",
            owner=owner,
            wechat_id=row.wechat_id,
            gender=row.gender,
            birthday=row.birthday,
            city=row.city,
            actor=actor,
        ),
    )
    result = RowResult(
        row=row.row,
        customer_id=found.customer.id,
        customer="created" if found.created else "existing",
    )
    if kind == CUSTOMERS:
        return result
    intake = await create_lead(
        session,
        crm,
        NewLead(
            store_id=store_id,
            channel=row.channel,
            name=row.name,
            mobile=row.mobile,
            kind=row.kind,
            national_id=row.national_id,
            source_ref=row.source_ref,
            actor=actor,
            details=LeadDetails(
                model_code=row.model_code,
                budget_min_fen=row.budget_min_fen,
                budget_max_fen=row.budget_max_fen,
                timeframe=row.timeframe or "unknown",
                payment_intention=row.payment_intention,
                grade=row.grade,
                comments=row.comments,
            ),
        ),
    )
    lead = intake.lead
    if intake.outcome == "created" and row.consultant and lead.assigned_to != row.consultant:
        try:
            lead = await assignment_service.reassign(
                session,
                crm,
                lead.id,
                row.consultant,
                reason=f"imported with 顾问 {row.consultant} (row {row.row})",
                actor=actor,
            )
        except InvalidInput as exc:
            rule = str((exc.errors or [{}])[0].get("rule", "consultant_of_store"))
            raise InvalidInput(
                f"顾问 {row.consultant!r} cannot take the lead: {exc.detail}",
                errors=[{"field": "consultant", "rule": rule}],
            ) from exc
    result.lead_id, result.lead, result.assigned_to = lead.id, intake.outcome, lead.assigned_to
    return result


def _chunks(items: Sequence[str], size: int) -> list[Sequence[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


# ---- Export ---------------------------------------------------------------------------------

CUSTOMER_EXPORT_HEADERS = (
    "客户编号",
    "姓名",
    "手机",
    "身份证",
    "性别",
    "生日",
    "城市",
    "微信",
    "客户类型",
    "顾问",
    "门店",
    "来源渠道",
    "建档时间",
)
LEAD_EXPORT_HEADERS = (
    "线索编号",
    "门店",
    "姓名",
    "手机",
    "意向车型",
    "意向级别",
    "渠道",
    "预算",
    "购买时间",
    "付款方式",
    "顾问",
    "状态",
    "平台线索编号",
    "备注",
    "创建时间",
    "客户编号",
)


@dataclass(frozen=True)
class ExportScope:
    principal: Principal
    store_id: str | None
    pii: bool


def export_scope(principal: Principal, kind: str, store_id: str | None) -> ExportScope:
    principal.require("crm.customers:read" if kind == CUSTOMERS else "crm.leads:read")
    if store_id:
        principal.require_store(store_id, what=f"Store {store_id}")
    return ExportScope(principal, store_id or None, principal.can(PII_READ))


def _mobile_cell(crm: Crm, customer: Customer, pii: bool) -> str:
    if not pii:
        return customer.mobile_masked
    mobile = crm.pii.unseal(customer.mobile_sealed, "mobile")
    # Chinese mobiles as the 11 digits people type; others in E.164.
    return mobile[3:] if mobile.startswith("+86") and len(mobile) == 14 else mobile


def _id_cell(crm: Crm, customer: Customer, pii: bool) -> str:
    if not customer.national_id_sealed:
        return ""
    if not pii:
        return customer.national_id_masked or ""
    return crm.pii.unseal(customer.national_id_sealed, "national_id")


def _local(crm: Crm, at: datetime | None) -> str:
    return crm.local(at).strftime("%Y-%m-%d %H:%M") if at else ""


def customer_cells(crm: Crm, c: Customer, pii: bool) -> list[Any]:
    return [
        c.id,
        c.name,
        _mobile_cell(crm, c, pii),
        _id_cell(crm, c, pii),
        rules.GENDER_LABELS.get(c.gender, ""),
        c.birthday.isoformat() if c.birthday else "",
        c.city,
        c.wechat_id,
        rules.KIND_LABELS.get(c.kind, c.kind),
        c.owner,
        c.store_id,
        rules.CHANNEL_LABELS.get(c.source, c.source),
        _local(crm, c.created_at),
    ]


def lead_cells(crm: Crm, lead: Lead, c: Customer, pii: bool) -> list[Any]:
    return [
        lead.id,
        lead.store_id,
        c.name,
        _mobile_cell(crm, c, pii),
        lead.model_code,
        lead.grade,
        rules.CHANNEL_LABELS.get(lead.channel, lead.channel),
        rules.budget_text(lead.budget_min_fen, lead.budget_max_fen),
        rules.TIMEFRAME_LABELS.get(lead.timeframe, lead.timeframe),
        rules.PAYMENT_LABELS.get(lead.payment_intention, lead.payment_intention),
        lead.assigned_to,
        rules.STATUS_LABELS.get(lead.status, lead.status),
        lead.source_ref,
        lead.comments,
        _local(crm, lead.created_at),
        c.id,
    ]


def _customer_filter(scope: ExportScope) -> ColumnElement[bool]:
    clauses: list[ColumnElement[bool]] = [
        col(Customer.merged_into).is_(None),
        visible_to(scope.principal),
    ]
    if scope.store_id:
        clauses.append(
            or_(col(Customer.store_id) == scope.store_id, in_store_by_lead(scope.store_id))
        )
    return and_(*clauses)


async def customer_rows(crm: Crm, scope: ExportScope) -> AsyncIterator[list[Any]]:
    """The customers the caller may see (of the store, if one is named), by id, in batches."""
    after = ""
    while True:
        async with crm.db.session() as session:
            batch = (
                (
                    await session.execute(
                        select(Customer)
                        .where(_customer_filter(scope), col(Customer.id) > after)
                        .order_by(col(Customer.id))
                        .limit(EXPORT_BATCH)
                    )
                )
                .scalars()
                .all()
            )
        for customer in batch:
            yield customer_cells(crm, customer, scope.pii)
        if len(batch) < EXPORT_BATCH:
            return
        after = batch[-1].id


async def lead_rows(crm: Crm, scope: ExportScope) -> AsyncIterator[list[Any]]:
    """The leads the caller may see (of the store, if one is named), by id, in batches."""
    after = ""
    while True:
        stmt = (
            select(Lead, Customer)
            .join(Customer, col(Customer.id) == col(Lead.customer_id))
            .where(visible_leads(scope.principal), col(Lead.id) > after)
            .order_by(col(Lead.id))
            .limit(EXPORT_BATCH)
        )
        if scope.store_id:
            stmt = stmt.where(col(Lead.store_id) == scope.store_id)
        async with crm.db.session() as session:
            batch = (await session.execute(stmt)).all()
        for lead, customer in batch:
            yield lead_cells(crm, lead, customer, scope.pii)
        if len(batch) < EXPORT_BATCH:
            return
        after = batch[-1][0].id
