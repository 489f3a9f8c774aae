"""Bulk import of customers and leads from CSV/XLSX (in the request, or as a background job for
large files), and exports to CSV/XLSX (see `import_service` and `import_jobs_service` for the
rules)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Path, Query, UploadFile
from pydantic import BaseModel, Field
from starlette.responses import Response, StreamingResponse

from marque_crm import import_jobs_service as jobs
from marque_crm import import_service as svc
from marque_crm.api.deps import CrmDep
from marque_crm.domain.imports import (
    CHUNK_ROWS,
    CUSTOMERS,
    LEADS,
    MAX_FILE_BYTES,
    MAX_ROWS,
    ROW_LIMITS,
    SYNC_MAX_FILE_BYTES,
    columns_doc,
    runs_as_job,
)
from marque_crm.models import ImportJob
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
    Page,
    PageQuery,
    permission,
)

router = APIRouter(prefix="/api/v1/crm", tags=["import and export"])

Mode = Annotated[
    Literal["all_or_nothing", "valid_rows"],
    Query(
        description="all_or_nothing (default): one bad row and nothing is imported (422 with the "
        "report; a background job ends failed with it). valid_rows: the good rows are imported, "
        "the bad ones reported."
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


class JobLinksOut(BaseModel):
    self: str = Field(examples=["/api/v1/crm/imports/jobs/4f6c0b9e-0a4e-4e55-9d0f-6f2a2d1b7c11"])


class ImportJobSummaryOut(BaseModel):
    id: str
    kind: str = Field(description="customers | leads")
    store_id: str
    mode: str = Field(description="all_or_nothing | valid_rows")
    status: str = Field(
        description="queued → running → done | failed. failed: `error` says why; a file refused "
        "by all_or_nothing also carries `report` with its row errors (nothing was imported)."
    )
    filename: str
    file_bytes: int
    rows: int = Field(description="Data rows in the file")
    processed: int = Field(description="Rows dealt with so far (refused, skipped or imported)")
    imported: int = Field(description="Rows imported so far")
    submitted_by: str = Field(examples=["user:sh.manager"])
    attempts: int = Field(description="Worker attempts (a job taken over after a crash: 2 ...)")
    error: str | None = None
    created_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    links: JobLinksOut


class ImportJobOut(ImportJobSummaryOut):
    report: ImportReportOut | None = Field(
        None,
        description="When finished: the same report as a synchronous import (per-row results, "
        "row errors with Excel row numbers, duplicates)",
    )


def job_path(job_id: str) -> str:
    """The job's address as clients call it (the gateway routes /api/v1/crm/ unchanged)."""
    return f"{router.prefix}/imports/jobs/{job_id}"


def _job_summary(job: ImportJob) -> dict[str, object]:
    return {
        "id": job.id,
        "kind": job.kind,
        "store_id": job.store_id,
        "mode": job.mode,
        "status": job.status,
        "filename": job.filename,
        "file_bytes": job.file_bytes,
        "rows": job.rows,
        "processed": job.processed,
        "imported": job.imported,
        "submitted_by": job.submitted_by,
        "attempts": job.attempts,
        "error": job.error or None,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "links": {"self": job_path(job.id)},
    }


def job_out(job: ImportJob) -> ImportJobOut:
    return ImportJobOut.model_validate({**_job_summary(job), "report": job.report})


_IMPORT_DOC = f"""
Upload a spreadsheet as `multipart/form-data` with fields `file` and `store_id`.

**Files.** CSV in UTF-8 (with or without BOM) or GBK/GB18030 (as Chinese Excel saves "CSV"), comma-
or tab-separated; or .xlsx (first sheet). Row 1 is the header; row numbers in the report are the
ones Excel shows. Unknown columns are ignored and listed in `file.ignored_columns`.

**Small files are imported now, large ones in the background.** A file of at most
{ROW_LIMITS[CUSTOMERS]:,} customer rows or {ROW_LIMITS[LEADS]:,} lead rows (and at most
{SYNC_MAX_FILE_BYTES // 1024 // 1024} MiB) is imported in the request, as one transaction. A larger
one, up to {MAX_ROWS:,} rows and {MAX_FILE_BYTES // 1024 // 1024} MiB (422 beyond: split the file),
is checked as far as it can be at once (readable, header, store, permission, mode) and answered
**202 Accepted** with `Location: /api/v1/crm/imports/jobs/{{id}}` and the job (`status: queued`);
a worker then imports it, {CHUNK_ROWS:,} rows per transaction, and `GET` on the job shows its
progress and, once `done`, the same report as below. With `mode=all_or_nothing` a job with any
row error imports nothing and ends `failed` with that report. (Through the gateway a request body
is at most 10 MiB, multipart envelope included: a file near that size is refused there, 413.)

**Answer.** 201 (200 when no customer or lead was created: every row known, attached, skipped or
wrong) with the per-row results (`rows`), the row errors
(`errors`: row, field, rule, message) and the dedupe report (`duplicates.existing`: rows naming a
customer the group already knows, by mobile or ID number; `duplicates.in_file`: rows repeating an
earlier row of the file, which are skipped). With `mode=all_or_nothing` any row error answers 422
problem+json carrying the same `errors` and `duplicates`, and nothing is imported.

Every row goes through the same door as a lead typed in: one customer per person, a repeat
enquiry attaches to the customer's open lead in the store, new leads are assigned by the store's
rules (or to the row's 顾问, recorded as a manual assignment) and get their follow-up tasks.
Send `Idempotency-Key` to make a retried upload safe (a retried large upload answers the same
job, not a second one).
"""


_IMPORT_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"description": "Nothing new: every row known, attached, skipped or wrong"},
    202: {
        "model": ImportJobOut,
        "description": "A large file, queued as a background import job; `Location` is its address",
        "headers": {"Location": {"description": "/api/v1/crm/imports/jobs/{id}"}},
    },
}


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
    # Parsing is CPU work (an .xlsx of 50,000 rows takes seconds): off the event loop.
    table = await asyncio.to_thread(read_table, data, file.filename or "", max_rows=MAX_ROWS)
    in_background = runs_as_job(kind, len(table.rows), len(data))
    async with crm.uow() as uow:
        fingerprint = f"{kind}\n{store_id}\n{mode}\n".encode() + data
        if replay := await idem.begin(uow.session, fingerprint):
            return replay
        response: Response
        if in_background:
            job = await jobs.submit(
                uow.session,
                crm,
                principal,
                kind=kind,
                store_id=store_id,
                mode=mode,
                table=table,
                data=data,
                filename=file.filename or "",
            )
            response = await idem.complete(
                uow.session, 202, job_out(job), headers={"Location": job_path(job.id)}
            )
        else:
            report = await svc.run_import(
                uow.session, crm, principal, kind=kind, store_id=store_id, table=table, mode=mode
            )
            response = await idem.complete(
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
    responses=_IMPORT_RESPONSES,
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
    responses=_IMPORT_RESPONSES,
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


# ---- Background import jobs -----------------------------------------------------------------

_JOB_DOC = """
A large upload's background import (see the import routes). `status` is queued → running →
done | failed; `rows`, `processed` and `imported` show the progress; once `done`, `report` is the
same report a synchronous import answers. A worker that dies mid-job is replaced after a few
minutes and resumes after the last committed chunk of rows, without duplicating anyone.

Who sees a job: the store's people who may import its kind (`crm.customers:import` /
`crm.leads:import`); a sales consultant only the jobs they submitted. Another store's job, or an
unknown id, answers 404.
"""
JobId = Annotated[str, Path(max_length=40, description="The job's id (from `Location`)")]


@router.get(
    "/imports/jobs/{job_id}",
    response_model=ImportJobOut,
    summary="A background import job: status, progress and, when done, the report",
    description=_JOB_DOC,
)
async def get_import_job(job_id: JobId, principal: CurrentPrincipal, crm: CrmDep) -> ImportJobOut:
    async with crm.db.session() as session:
        job = await jobs.get_job(session, principal, job_id)
    return job_out(job)


@router.get(
    "/imports/jobs",
    response_model=Page[ImportJobSummaryOut],
    summary="A store's background import jobs, newest first",
    description=_JOB_DOC + "\nThe list leaves the reports out: GET a job for its report.",
)
async def list_import_jobs(
    principal: CurrentPrincipal,
    crm: CrmDep,
    page: PageQuery,
    store_id: Annotated[str, Query(min_length=1, max_length=20)],
    kind: Annotated[Literal["customers", "leads"] | None, Query()] = None,
    status: Annotated[Literal["queued", "running", "done", "failed"] | None, Query()] = None,
) -> Page[ImportJobSummaryOut]:
    async with crm.db.session() as session:
        rows, cursor = await jobs.list_jobs(
            session, principal, store_id, page, kind=kind, status=status
        )
    return Page(
        items=[ImportJobSummaryOut.model_validate(_job_summary(r)) for r in rows],
        next_cursor=cursor,
    )


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
