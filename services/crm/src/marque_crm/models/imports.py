"""Background import jobs: a file too large to import in one request, stored (sealed) until a
worker has imported it, with the submitter's principal, progress and, at the end, the report.

`import_job_chunks` holds each committed chunk's per-row results until the job finishes; the
final report is assembled from them and they are deleted with the file (decision 0030).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, LargeBinary, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from marque_crm.models.common import created, ts


class ImportJob(SQLModel, table=True):
    __tablename__ = "import_jobs"
    __table_args__ = (
        # A store's recent jobs.
        Index("import_jobs_store_created", "store_id", "created_at"),
        # What the worker claims: queued jobs, and running ones whose heartbeat went stale.
        Index(
            "import_jobs_to_run",
            "created_at",
            postgresql_where=text("status IN ('queued', 'running')"),
        ),
    )
    id: str = Field(primary_key=True, max_length=40)
    store_id: str = Field(max_length=20)
    # customers | leads
    kind: str = Field(max_length=10)
    # all_or_nothing | valid_rows
    mode: str = Field(max_length=20)
    # queued | running | done | failed (domain.imports.JOB_STATUSES)
    status: str = Field(default="queued", max_length=10)
    filename: str = Field(default="", max_length=255)
    file_bytes: int = 0
    # The upload, sealed (Fernet, MARQUE_PII_KEY: it holds mobiles and ID numbers); NULL once the
    # job has finished.
    file_sealed: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    # Enough to rebuild the submitter's marque_kit.auth.Principal: subject, kind, name, roles,
    # stores, scopes. The job runs with the access the submitter had when uploading.
    principal: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
    # Principal.label() of the submitter ("user:sh.manager"); a consultant sees only their own.
    submitted_by: str = Field(max_length=160)
    # Data rows in the file; rows dealt with so far (refused, skipped or imported); rows imported.
    rows: int = 0
    processed: int = 0
    imported: int = 0
    # After the checks: the row numbers to import and the report so far (errors, duplicates);
    # `next_index` is how many of those rows are committed. NULL until checked and once finished.
    plan: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    next_index: int = 0
    # The final report (the synchronous import's ImportReportOut shape); for a file refused by
    # all_or_nothing, the report of its errors.
    report: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    error: str = Field(default="", max_length=1000)
    attempts: int = 0
    # The current attempt's token: a worker that lost its claim (stale heartbeat, taken again)
    # finds another token and stops.
    claim: str = Field(default="", max_length=40)
    heartbeat_at: datetime | None = ts()
    created_at: datetime | None = created()
    started_at: datetime | None = ts()
    finished_at: datetime | None = ts()


class ImportJobChunk(SQLModel, table=True):
    """One committed chunk of a running job: its per-row results and the rows that failed while
    being written; deleted when the job's report is assembled."""

    __tablename__ = "import_job_chunks"
    job_id: str = Field(primary_key=True, max_length=40)
    # Index of the chunk's first row in the job's plan.
    first: int = Field(primary_key=True)
    results: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False)
    )
    errors: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False)
    )
