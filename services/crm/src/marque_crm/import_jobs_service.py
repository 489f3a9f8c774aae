"""Background import jobs (decision 0030): a file past the synchronous import's limits is stored
as a job and imported by a worker, through the same `import_service` functions and so the same
door (`find_or_create`, `create_lead`) as every other intake.

Submitting (`submit`, in the upload's transaction): the cheap checks the synchronous path makes
before its rows (who may import, the store, the mode, the file readable, the header) and then
the job row: the file sealed with MARQUE_PII_KEY (it holds mobiles and ID numbers), the
submitter's principal, the row count. The route answers 202 with the job's address.

Working (`import_job_worker`, one loop per worker process; `run_next` is one turn of it):

1. `claim_in` takes the oldest queued job, or a running one whose heartbeat is older than
   `import_job_stale_minutes` (its worker died), with `FOR UPDATE SKIP LOCKED`, so two workers
   never take the same job, and stamps a new claim token. Every later transaction locks the job
   row and checks the token first: a worker that lost its claim stops without writing.
2. The first step checks the whole file (`import_service.check_import`: reading only). With
   `all_or_nothing` and any row error the job fails with the report of its errors and nothing is
   imported. Otherwise the plan (the rows to import, the report so far) is stored.
3. Each following step imports `CHUNK_ROWS` planned rows (`import_service.import_rows`, each row
   in a savepoint) and commits them together with their results and the job's progress and
   heartbeat. A worker that dies loses at most the chunk it was writing; the next attempt parses
   the file again and resumes after the last committed chunk. Were a chunk ever written twice,
   the one door finds its customers (and the leads' open duplicates) again: no duplicates.
4. The last step assembles the report from the plan and the chunks, marks the job done and
   drops the file and the chunks.

An attempt that fails unexpectedly puts the job back in the queue (its error noted); after
`MAX_ATTEMPTS` attempts the job fails. The job runs with the access its submitter had when
uploading.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import and_, delete, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer
from sqlmodel import col

from marque_crm import import_service as svc
from marque_crm.domain import imports as rules
from marque_crm.domain.imports import KINDS, ImportRow, RowError
from marque_crm.leads_service import is_manager
from marque_crm.models import ImportJob, ImportJobChunk
from marque_crm.tabular import Table, read_table
from marque_crm.unit_of_work import Crm
from marque_kit.auth import Principal
from marque_kit.errors import DomainError, NotFound
from marque_kit.http import PageParams, paginate
from marque_kit.metrics import business_events

log = logging.getLogger("marque.crm.import_jobs")

FILE_PURPOSE = "import_file"
# What job reads load: the file and the plan stay in the database unless a step needs them.
_LIGHT = (defer(cast(Any, ImportJob.file_sealed)), defer(cast(Any, ImportJob.plan)))


# ---- the submitter --------------------------------------------------------------------------


def principal_record(principal: Principal) -> dict[str, Any]:
    return {
        "subject": principal.subject,
        "kind": principal.kind,
        "name": principal.name,
        "roles": list(principal.roles),
        "stores": list(principal.stores),
        "scopes": list(principal.scopes),
    }


def principal_of(record: dict[str, Any]) -> Principal:
    return Principal(
        subject=str(record["subject"]),
        kind=record.get("kind", "user"),
        name=str(record.get("name", "")),
        roles=tuple(record.get("roles", ())),
        stores=tuple(record.get("stores", ())),
        scopes=tuple(record.get("scopes", ())),
    )


def _plain_filename(name: str) -> str:
    """The upload's name as a person reads it: no control characters (PostgreSQL refuses NUL)
    and nothing UTF-8 cannot carry (a lone surrogate)."""
    text = name.encode("utf-8", "replace").decode("utf-8")
    return "".join(c for c in text if c >= " " and c != "\x7f")[:255]


# ---- submitting -----------------------------------------------------------------------------


async def submit(
    session: AsyncSession,
    crm: Crm,
    principal: Principal,
    *,
    kind: str,
    store_id: str,
    mode: str,
    table: Table,
    data: bytes,
    filename: str,
) -> ImportJob:
    """Queue `data` (already read into `table`) as an import job; the caller commits. The checks
    the synchronous path makes before its rows come first, so a file that cannot be imported at
    all is refused now (422/403/404), not later."""
    mode = svc.check_mode(mode)
    principal.require(svc.IMPORT_SCOPE[kind])
    principal.require_store(store_id, what=f"Store {store_id}")
    rules.map_headers(kind, table.headers)
    now = crm.now()
    job = ImportJob(
        id=str(uuid.uuid4()),
        store_id=store_id,
        kind=kind,
        mode=mode,
        status=rules.QUEUED,
        filename=_plain_filename(filename),
        file_bytes=len(data),
        file_sealed=crm.pii.seal_bytes(data, FILE_PURPOSE),
        principal=principal_record(principal),
        submitted_by=principal.label()[:160],
        rows=len(table.rows),
        created_at=now,
    )
    session.add(job)
    await session.flush()
    business_events.labels("crm", "import_job_queued").inc()
    return job


# ---- reading --------------------------------------------------------------------------------


def _may_see(principal: Principal, job: ImportJob) -> bool:
    """The store's people who may import that kind; a consultant only the jobs they submitted."""
    if not principal.sees_store(job.store_id) or not principal.can(svc.IMPORT_SCOPE[job.kind]):
        return False
    return is_manager(principal) or job.submitted_by == principal.label()


def require_import_scope(principal: Principal) -> None:
    """Job lists and reads are for those who may import customers or leads."""
    if not any(principal.can(svc.IMPORT_SCOPE[k]) for k in KINDS):
        principal.require(svc.IMPORT_SCOPE[rules.CUSTOMERS])  # raises the usual 403


async def get_job(session: AsyncSession, principal: Principal, job_id: str) -> ImportJob:
    require_import_scope(principal)
    job = (
        (
            await session.execute(
                select(ImportJob).options(*_LIGHT).where(col(ImportJob.id) == job_id)
            )
        )
        .scalars()
        .first()
    )
    if job is None or not _may_see(principal, job):
        raise NotFound("That import job was not found among the jobs you can see.")
    return job


async def list_jobs(
    session: AsyncSession,
    principal: Principal,
    store_id: str,
    page: PageParams,
    *,
    kind: str | None = None,
    status: str | None = None,
) -> tuple[list[ImportJob], str | None]:
    """A store's jobs, newest first (a consultant's own only)."""
    require_import_scope(principal)
    principal.require_store(store_id, what=f"Store {store_id}")
    kinds = [k for k in KINDS if principal.can(svc.IMPORT_SCOPE[k])]
    stmt = (
        select(ImportJob)
        .options(*_LIGHT)
        .where(col(ImportJob.store_id) == store_id, col(ImportJob.kind).in_(kinds))
    )
    if not is_manager(principal):
        stmt = stmt.where(col(ImportJob.submitted_by) == principal.label())
    if kind is not None:
        stmt = stmt.where(col(ImportJob.kind) == kind)
    if status is not None:
        stmt = stmt.where(col(ImportJob.status) == status)
    rows, next_cursor = await paginate(
        session,
        stmt,
        page,
        order=(col(ImportJob.created_at), col(ImportJob.id)),
        descending=True,
    )
    return rows, next_cursor


# ---- claiming -------------------------------------------------------------------------------


@dataclass
class Claim:
    """One attempt at one job. The parsed file's planned rows are kept for the attempt (an XLSX
    of 50,000 rows takes seconds to read); None marks a planned row that no longer checks."""

    job_id: str
    token: str
    attempt: int
    rows: list[ImportRow | None] | None = None
    numbers: list[int] = field(default_factory=list)  # the planned rows' spreadsheet numbers


class LostClaim(Exception):
    """Another worker took the job over (this one was taken for dead) or it has finished."""


async def claim_in(session: AsyncSession, crm: Crm) -> Claim | None:
    """Claim the next job inside the caller's transaction (it stays locked until commit), or
    None when there is nothing to do. Jobs past `MAX_ATTEMPTS` are failed on the way."""
    now = crm.now()
    stale_before = now - timedelta(minutes=crm.settings.import_job_stale_minutes)
    while True:
        found = (
            await session.execute(
                select(col(ImportJob.id), col(ImportJob.attempts), col(ImportJob.error))
                .where(
                    or_(
                        col(ImportJob.status) == rules.QUEUED,
                        and_(
                            col(ImportJob.status) == rules.RUNNING,
                            or_(
                                col(ImportJob.heartbeat_at).is_(None),
                                col(ImportJob.heartbeat_at) < stale_before,
                            ),
                        ),
                    )
                )
                .order_by(col(ImportJob.created_at), col(ImportJob.id))
                .limit(1)
                .with_for_update(skip_locked=True)
            )
        ).first()
        if found is None:
            return None
        job_id, attempts, error = found
        if attempts >= rules.MAX_ATTEMPTS:
            await _fail(
                session,
                job_id,
                now,
                f"The import stopped {attempts} times and was given up; upload the file again "
                f"(rows already imported are found again, not duplicated). Last error: {error}",
            )
            continue
        token = str(uuid.uuid4())
        await session.execute(
            update(ImportJob)
            .where(col(ImportJob.id) == job_id)
            .values(
                status=rules.RUNNING,
                claim=token,
                attempts=attempts + 1,
                started_at=func.coalesce(col(ImportJob.started_at), literal(now)),
                heartbeat_at=now,
            )
        )
        return Claim(job_id=job_id, token=token, attempt=attempts + 1)


async def claim_next(crm: Crm) -> Claim | None:
    async with crm.uow() as uow:
        claim = await claim_in(uow.session, crm)
        await uow.commit()
    if claim is not None:
        log.info("import job claimed", extra={"job": claim.job_id, "attempt": claim.attempt})
    return claim


# ---- working --------------------------------------------------------------------------------


async def _hold(session: AsyncSession, claim: Claim) -> ImportJob:
    job = (
        (
            await session.execute(
                select(ImportJob)
                .options(*_LIGHT)
                .where(col(ImportJob.id) == claim.job_id)
                .with_for_update()
            )
        )
        .scalars()
        .first()
    )
    if job is None or job.claim != claim.token or job.status != rules.RUNNING:
        raise LostClaim(claim.job_id)
    return job


async def _column(session: AsyncSession, job_id: str, column: Any) -> Any:
    return (await session.execute(select(column).where(col(ImportJob.id) == job_id))).scalar_one()


async def _fail(
    session: AsyncSession,
    job_id: str,
    now: datetime,
    error: str,
    report: dict[str, Any] | None = None,
) -> None:
    await session.execute(
        update(ImportJob)
        .where(col(ImportJob.id) == job_id)
        .values(
            status=rules.FAILED,
            error=error[:1000],
            report=report,
            file_sealed=None,
            plan=None,
            finished_at=now,
            heartbeat_at=now,
        )
    )
    await session.execute(delete(ImportJobChunk).where(col(ImportJobChunk.job_id) == job_id))
    business_events.labels("crm", "import_job_failed").inc()


def _report_from_plan(job: ImportJob, plan: dict[str, Any]) -> svc.ImportReport:
    saved = plan["report"]
    return svc.ImportReport(
        kind=job.kind,
        store_id=job.store_id,
        mode=job.mode,
        file_format=saved["file_format"],
        encoding=saved["encoding"],
        rows=job.rows,
        ignored_columns=list(saved["ignored_columns"]),
        errors=[RowError(**e) for e in saved["errors"]],
        existing=list(saved["existing"]),
        in_file=list(saved["in_file"]),
        hidden=set(saved["hidden"]),
    )


def _plan_of(checked: svc.CheckedImport) -> dict[str, Any]:
    report = checked.report
    return {
        "rows": [r.row for r in checked.rows],
        "report": {
            "file_format": report.file_format,
            "encoding": report.encoding,
            "ignored_columns": report.ignored_columns,
            "errors": [e.as_dict() for e in report.errors],
            "existing": report.existing,
            "in_file": report.in_file,
            "hidden": sorted(report.hidden),
        },
    }


async def _check(
    session: AsyncSession, crm: Crm, job: ImportJob, claim: Claim, principal: Principal
) -> bool:
    """The attempt's first step: read the file; check it (first attempt) or find the planned
    rows again (a later one). False when the job has failed."""
    now = crm.now()
    sealed = await _column(session, job.id, col(ImportJob.file_sealed))
    plan = await _column(session, job.id, col(ImportJob.plan))
    try:
        data = crm.pii.unseal_bytes(sealed, FILE_PURPOSE)
        table = await asyncio.to_thread(read_table, data, job.filename)
        if plan is None:
            checked = await svc.check_import(
                session,
                crm,
                principal,
                kind=job.kind,
                store_id=job.store_id,
                table=table,
                mode=job.mode,
            )
        else:
            _, rows, _ = await asyncio.to_thread(svc.check_rows, job.kind, table, crm.today())
    except DomainError as exc:
        await _fail(session, job.id, now, exc.detail)
        return False
    if plan is not None:
        by_number = {r.row: r for r in rows}
        claim.numbers = list(plan["rows"])
        claim.rows = [by_number.get(n) for n in claim.numbers]
        return True
    report = checked.report
    if report.errors and report.mode == svc.ALL_OR_NOTHING:
        await _fail(session, job.id, now, svc.refusal(report).detail, report.as_dict())
        return False
    job.plan = _plan_of(checked)
    job.next_index = 0
    job.processed = job.rows - len(checked.rows)
    claim.rows = list(checked.rows)
    claim.numbers = [r.row for r in checked.rows]
    return True


async def _import_chunk(
    session: AsyncSession, crm: Crm, job: ImportJob, claim: Claim, principal: Principal
) -> None:
    assert claim.rows is not None
    first = job.next_index
    part = claim.rows[first : first + rules.CHUNK_ROWS]
    chunk = svc.ImportReport(
        kind=job.kind,
        store_id=job.store_id,
        mode=job.mode,
        file_format="",
        encoding="",
        rows=len(part),
        ignored_columns=[],
    )
    rows: list[ImportRow] = []
    numbers = claim.numbers[first : first + len(part)]
    for number, row in zip(numbers, part, strict=True):
        if row is None:
            chunk.errors.append(
                RowError(
                    number,
                    "row",
                    "recheck",
                    "The row passed its checks when the job started but not when it resumed; "
                    "import it again.",
                )
            )
        else:
            rows.append(row)
    await svc.import_rows(session, crm, principal, rows, chunk)
    results = [asdict(r) for r in chunk.results]
    errors = [e.as_dict() for e in chunk.errors]
    existing = await session.get(ImportJobChunk, (job.id, first))
    if existing is None:
        session.add(ImportJobChunk(job_id=job.id, first=first, results=results, errors=errors))
        job.imported += len(results)
    else:  # written before (a resumed attempt): the new results replace the old
        job.imported += len(results) - len(existing.results)
        existing.results, existing.errors = results, errors
    job.next_index = first + len(part)
    job.processed = job.rows - len(claim.rows) + job.next_index


async def _finish(session: AsyncSession, crm: Crm, job: ImportJob) -> None:
    plan = await _column(session, job.id, col(ImportJob.plan))
    report = _report_from_plan(job, plan)
    chunks = (
        (
            await session.execute(
                select(ImportJobChunk)
                .where(col(ImportJobChunk.job_id) == job.id)
                .order_by(col(ImportJobChunk.first))
            )
        )
        .scalars()
        .all()
    )
    for chunk in chunks:
        report.results.extend(svc.RowResult(**r) for r in chunk.results)
        report.errors.extend(RowError(**e) for e in chunk.errors)
    now = crm.now()
    job.report = report.as_dict()
    job.imported = report.imported
    job.processed = job.rows
    job.status = rules.DONE
    job.error = ""
    job.finished_at = now
    job.file_sealed = None
    job.plan = None
    await session.execute(delete(ImportJobChunk).where(col(ImportJobChunk.job_id) == job.id))
    business_events.labels("crm", "import_job_done").inc()


async def step(crm: Crm, claim: Claim) -> bool:
    """One transaction of work on a claimed job: check the file (the attempt's first step),
    import one chunk, or assemble the report. False once the job has finished (done or failed).
    LostClaim when another worker has taken the job over."""
    async with crm.uow() as uow:
        session = uow.session
        job = await _hold(session, claim)
        principal = principal_of(job.principal)
        more = True
        if claim.rows is None:
            more = await _check(session, crm, job, claim, principal)
        elif job.next_index < len(claim.rows):
            await _import_chunk(session, crm, job, claim, principal)
        else:
            await _finish(session, crm, job)
            more = False
        if more:
            job.heartbeat_at = crm.now()
        await uow.commit()
    return more


async def _release(crm: Crm, claim: Claim, exc: BaseException) -> None:
    """Put a job whose attempt broke back in the queue (MAX_ATTEMPTS bounds the retries)."""
    async with crm.uow() as uow:
        await uow.session.execute(
            update(ImportJob)
            .where(
                col(ImportJob.id) == claim.job_id,
                col(ImportJob.claim) == claim.token,
                col(ImportJob.status) == rules.RUNNING,
            )
            .values(
                status=rules.QUEUED,
                claim="",
                error=f"Attempt {claim.attempt} stopped: {type(exc).__name__}: {exc}"[:1000],
            )
        )
        await uow.commit()


async def run_claimed(crm: Crm, claim: Claim) -> None:
    """Work on a claimed job until it finishes, the claim is lost or the attempt breaks."""
    try:
        while await step(crm, claim):
            pass
    except LostClaim:
        log.warning("import job taken over by another worker", extra={"job": claim.job_id})
    except asyncio.CancelledError as exc:
        # Shutting down: hand the job back at once rather than after the stale timeout.
        with contextlib.suppress(Exception):
            await asyncio.shield(_release(crm, claim, exc))
        raise
    except Exception as exc:
        log.exception(
            "import job attempt failed; it goes back to the queue", extra={"job": claim.job_id}
        )
        await _release(crm, claim, exc)


async def run_next(crm: Crm) -> str | None:
    """One turn of the worker: claim the next job and run it; its id, or None when idle."""
    claim = await claim_next(crm)
    if claim is None:
        return None
    await run_claimed(crm, claim)
    return claim.job_id


def import_job_worker(crm: Crm) -> Callable[[], Awaitable[None]]:
    """The background job (runtime.add_job): run queued jobs until none is left, then look again
    every `import_job_poll_seconds`."""

    async def loop() -> None:
        while True:
            try:
                while await run_next(crm) is not None:
                    pass
            except Exception:
                log.exception("import job sweep failed; trying again next round")
            await asyncio.sleep(crm.settings.import_job_poll_seconds)

    return loop
