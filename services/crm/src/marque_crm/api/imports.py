"""Bulk import of customers and leads from CSV/XLSX, and exports to CSV/XLSX (see
`import_service` for the rules)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Query, UploadFile
from pydantic import BaseModel, Field
from starlette.responses import Response, StreamingResponse

from marque_crm import import_service as svc
from marque_crm.api.deps import CrmDep
from marque_crm.domain.imports import CUSTOMERS, LEADS, MAX_FILE_BYTES, ROW_LIMITS, columns_doc
from marque_crm.tabular import (
    CSV_MEDIA_TYPE,
    XLSX_MEDIA_TYPE,
    csv_header,
    csv_line,
    read_table,
    xlsx_bytes,
)
from marque_crm.unit_of_work import Crm
from marque_kit.auth import Principal
from marque_kit.errors import InvalidInput
from marque_kit.http import (
    CurrentPrincipal,
    FormText,
    Idempotency,
    IdempotencyDep,
    permission,
)

router = APIRouter(prefix="/api/v1/crm", tags=["import and export"])

Mode = Annotated[
    Literal["all_or_nothing", "valid_rows"],
    Query(
        description="all_or_nothing (default): one bad row and nothing is imported (422 with the "
        "report). valid_rows: the good rows are imported, the bad ones reported."
    ),
]
Format = Annotated[Literal["csv", "xlsx"], Query(description="csv (UTF-8 with BOM) or xlsx")]
StoreForm = Annotated[
    FormText, Form(min_length=1, max_length=20, description="The store the rows belong to")
]
Upload = Annotated[UploadFile, File(description="The spreadsheet: .csv or .xlsx")]


class RowErrorOut(BaseModel):
    row: int = Field(description="The row number Excel shows (the header is row 1)")
    field: str = Field(examples=["mobile"])
    rule: str = Field(examples=["mobile_format"])
    message: str


class ExistingOut(BaseModel):
    row: int
    by: str = Field(description="mobile | national_id")
    customer_id: str | None = Field(
        description="The customer the row names; null when it is not one you may see"
    )


class InFileOut(BaseModel):
    row: int
    duplicate_of_row: int
    by: str = Field(description="mobile | national_id")


class DuplicatesOut(BaseModel):
    existing: list[ExistingOut]
    in_file: list[InFileOut]


class FileOut(BaseModel):
    format: str = Field(description="csv | xlsx")
    encoding: str = Field(description="utf-8 | utf-8-sig | gb18030 (CSV only)")
    rows: int
    ignored_columns: list[str]


class RowOut(BaseModel):
    row: int
    customer_id: str | None = Field(description="null for a known customer you may not see")
    customer: str = Field(description="created | existing")
    lead_id: str | None = None
    lead: str | None = Field(None, description="created | attached | resent (leads only)")
    assigned_to: str | None = None


class ImportReportOut(BaseModel):
    kind: str = Field(description="customers | leads")
    store_id: str
    mode: str
    file: FileOut
    imported: int
    skipped: int
    customers_created: int
    customers_existing: int
    leads_created: int | None = None
    leads_attached: int | None = None
    leads_resent: int | None = None
    errors: list[RowErrorOut]
    duplicates: DuplicatesOut
    rows: list[RowOut]


_IMPORT_DOC = f"""
Upload a spreadsheet as `multipart/form-data` with fields `file` and `store_id`.

**Files.** CSV in UTF-8 (with or without BOM) or GBK/GB18030 (as Chinese Excel saves "CSV"), comma-
or tab-separated; or .xlsx (first sheet). At most {MAX_FILE_BYTES // 1024 // 1024} MiB and
{ROW_LIMITS[CUSTOMERS]:,} customer rows or {ROW_LIMITS[LEADS]:,} lead rows (422 beyond: split the
file; each file is one transaction, answered well within the gateway's timeout). Row 1 is the
header; row numbers in the report are the ones Excel shows. Unknown columns are ignored and
listed in `file.ignored_columns`.

**Answer.** 201 (200 when no customer or lead was created: every row known, attached, skipped or
wrong) with the per-row results (`rows`), the row errors
(`errors`: row, field, rule, message) and the dedupe report (`duplicates.existing`: rows naming a
customer the group already knows, by mobile or ID number; `duplicates.in_file`: rows repeating an
earlier row of the file, which are skipped). With `mode=all_or_nothing` any row error answers 422
problem+json carrying the same `errors` and `duplicates`, and nothing is imported.

Every row goes through the same door as a lead typed in: one customer per person, a repeat
enquiry attaches to the customer's open lead in the store, new leads are assigned by the store's
rules (or to the row's 顾问, recorded as a manual assignment) and get their follow-up tasks.
Send `Idempotency-Key` to make a retried upload safe.
"""


def _doc(kind: str) -> str:
    return _IMPORT_DOC + "\n**Accepted columns.**\n\n" + columns_doc(kind)


async def _read_upload(file: UploadFile) -> bytes:
    data = await file.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise InvalidInput(
            f"The file is larger than {MAX_FILE_BYTES // 1024 // 1024} MiB; split it into "
            "smaller files.",
            errors=[{"field": "file", "rule": "max_size"}],
        )
    return data


async def _import(
    kind: str,
    crm: Crm,
    principal: Principal,
    idem: Idempotency,
    file: UploadFile,
    store_id: str,
    mode: str,
) -> Response:
    principal.require_store(store_id, what=f"Store {store_id}")
    data = await _read_upload(file)
    table = read_table(data, file.filename or "", max_rows=ROW_LIMITS[kind])
    async with crm.uow() as uow:
        fingerprint = f"{kind}\n{store_id}\n{mode}\n".encode() + data
        if replay := await idem.begin(uow.session, fingerprint):
            return replay
        report = await svc.run_import(
            uow.session, crm, principal, kind=kind, store_id=store_id, table=table, mode=mode
        )
        response: Response = await idem.complete(
            uow.session, 201 if report.created_anything else 200, report.as_dict()
        )
        await uow.commit()
    return response


@router.post(
    "/imports/customers",
    status_code=201,
    response_model=ImportReportOut,
    summary="Import customers from CSV or XLSX",
    description=_doc(CUSTOMERS),
    dependencies=[permission(svc.IMPORT_SCOPE[CUSTOMERS])],
    responses={200: {"description": "Nothing new: every row known, attached, skipped or wrong"}},
)
async def import_customers(
    principal: CurrentPrincipal,
    crm: CrmDep,
    idem: IdempotencyDep,
    file: Upload,
    store_id: StoreForm,
    mode: Mode = "all_or_nothing",
) -> Response:
    return await _import(CUSTOMERS, crm, principal, idem, file, store_id, mode)


@router.post(
    "/imports/leads",
    status_code=201,
    response_model=ImportReportOut,
    summary="Import leads from CSV or XLSX",
    description=_doc(LEADS),
    dependencies=[permission(svc.IMPORT_SCOPE[LEADS])],
    responses={200: {"description": "Nothing new: every row known, attached, skipped or wrong"}},
)
async def import_leads(
    principal: CurrentPrincipal,
    crm: CrmDep,
    idem: IdempotencyDep,
    file: Upload,
    store_id: StoreForm,
    mode: Mode = "all_or_nothing",
) -> Response:
    return await _import(LEADS, crm, principal, idem, file, store_id, mode)


# ---- Export ---------------------------------------------------------------------------------

_EXPORT_DOC = """
What the caller may see (a consultant their own book, a manager their stores, HQ every store;
`store_id` narrows it to one store), with the import's Chinese column headers, so that an export
imports again. Mobile and ID number are masked unless the caller holds `pii:read`. CSV is UTF-8
with a BOM (Excel opens Chinese correctly) and streams; cells that Excel would run as a formula
start with an apostrophe.
"""


def _disposition(name: str) -> str:
    """RFC 6266: a plain ASCII `filename` (anything else becomes `_`; headers are Latin-1 and a
    control character would break the response) and the exact name in `filename*`."""
    plain = "".join(c if " " <= c <= "~" and c not in '"\\' else "_" for c in name)
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(name)}"


async def _export(
    kind: str, crm: Crm, principal: Principal, store_id: str | None, fmt: str
) -> Response:
    scope = svc.export_scope(principal, kind, store_id)
    rows = svc.customer_rows(crm, scope) if kind == CUSTOMERS else svc.lead_rows(crm, scope)
    headers = svc.CUSTOMER_EXPORT_HEADERS if kind == CUSTOMERS else svc.LEAD_EXPORT_HEADERS
    name = f"{kind}-{store_id or 'all'}-{crm.today().isoformat()}"
    extra = {"X-Marque-PII": "full" if scope.pii else "masked"}
    if fmt == "xlsx":
        body = xlsx_bytes(kind, headers, [r async for r in rows])
        return Response(
            body,
            media_type=XLSX_MEDIA_TYPE,
            headers={"Content-Disposition": _disposition(f"{name}.xlsx"), **extra},
        )

    async def stream() -> AsyncIterator[bytes]:
        yield csv_header(headers)
        async for row in rows:
            yield csv_line(row)

    return StreamingResponse(
        stream(),
        media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": _disposition(f"{name}.csv"), **extra},
    )


@router.get(
    "/exports/customers",
    summary="Export customers to CSV or XLSX",
    description=_EXPORT_DOC,
    dependencies=[permission("crm.customers:read")],
    response_class=Response,
    responses={200: {"content": {"text/csv": {}, XLSX_MEDIA_TYPE: {}}}},
)
async def export_customers(
    principal: CurrentPrincipal,
    crm: CrmDep,
    store_id: Annotated[str | None, Query(max_length=20)] = None,
    format: Format = "csv",
) -> Response:
    return await _export(CUSTOMERS, crm, principal, store_id, format)


@router.get(
    "/exports/leads",
    summary="Export leads to CSV or XLSX",
    description=_EXPORT_DOC,
    dependencies=[permission("crm.leads:read")],
    response_class=Response,
    responses={200: {"content": {"text/csv": {}, XLSX_MEDIA_TYPE: {}}}},
)
async def export_leads(
    principal: CurrentPrincipal,
    crm: CrmDep,
    store_id: Annotated[str | None, Query(max_length=20)] = None,
    format: Format = "csv",
) -> Response:
    return await _export(LEADS, crm, principal, store_id, format)
