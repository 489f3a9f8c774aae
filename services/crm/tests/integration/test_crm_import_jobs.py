"""Large imports as background jobs, against the real database: a file past the synchronous
limits answers 202 with the job's address; the worker's turn (`run_next`, called here directly)
imports it in chunks through the same door, and the job ends with the synchronous report. Also:
who may see a job, idempotent re-uploads, all_or_nothing, a worker that dies mid-job, and two
workers claiming at once.

Stores IMJ1 / IMJ2 and mobiles 1374xxxxxxx belong to this module.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlmodel import col

from marque_crm import import_jobs_service as jobs
from marque_crm.domain.imports import CHUNK_ROWS, ROW_LIMITS
from marque_crm.models import Customer, ImportJob, ImportJobChunk, Lead, Task
from marque_crm.unit_of_work import Crm
from marque_kit.http import PROBLEM_MEDIA_TYPE

STORE, STORE_B = "IMJ1", "IMJ2"
CONSULTANTS = ("imj-consultant-a", "imj-consultant-b")
_counter = iter(range(1, 9_999_999))


def mobiles(n: int) -> list[str]:
    return [f"1374{next(_counter):07d}" for _ in range(n)]


def csv_bytes(rows: list[list[str]]) -> bytes:
    return ("\r\n".join(",".join(r) for r in rows) + "\r\n").encode("utf-8-sig")


def customers_file(people: list[str], *, bad: dict[int, list[str]] | None = None) -> bytes:
    """One customer per mobile; `bad` replaces the data row at that Excel row number."""
    rows = [["姓名", "手机", "城市"]] + [[f"客户{m[-5:]}", m, "上海"] for m in people]
    for number, cells in (bad or {}).items():
        rows[number - 1] = cells
    return csv_bytes(rows)


async def upload(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    kind: str,
    data: bytes,
    *,
    store: str = STORE,
    mode: str | None = None,
    key: str | None = None,
) -> httpx.Response:
    params = {"mode": mode} if mode else {}
    if key:
        headers = {**headers, "Idempotency-Key": key}
    return await client.post(
        f"/api/v1/crm/imports/{kind}",
        params=params,
        headers=headers,
        data={"store_id": store},
        files={"file": ("big.csv", data)},
    )


async def count_customers(crm: Crm, people: list[str]) -> int:
    indexes = [crm.pii.index(f"+86{m}", "mobile") for m in people]
    async with crm.db.session() as session:
        result = await session.execute(
            select(func.count()).where(col(Customer.mobile_index).in_(indexes))
        )
        return int(result.scalar_one())


async def drain(crm: Crm) -> list[str]:
    """The worker's turns until the queue is empty: the jobs it ran, in order."""
    ran = []
    while (job_id := await jobs.run_next(crm)) is not None:
        ran.append(job_id)
    return ran


async def job_row(crm: Crm, job_id: str) -> ImportJob:
    async with crm.db.session() as session:
        job = await session.get(ImportJob, job_id)
    assert job is not None
    return job


def accepted(resp: httpx.Response) -> dict[str, Any]:
    assert resp.status_code == 202, resp.text
    body: dict[str, Any] = resp.json()
    assert resp.headers["location"] == f"/api/v1/crm/imports/jobs/{body['id']}"
    assert body["links"]["self"] == resp.headers["location"]
    return body


@pytest.fixture
async def roster(client: httpx.AsyncClient, as_hq: dict[str, str]) -> None:
    for store in (STORE, STORE_B):
        listed = await client.get(f"/api/v1/crm/stores/{store}/consultants", headers=as_hq)
        on_roster = {c["subject"] for c in listed.json()["items"]}
        for subject in set(CONSULTANTS) - on_roster:
            resp = await client.put(
                f"/api/v1/crm/stores/{store}/consultants/{subject}",
                headers=as_hq,
                json={"name": subject},
            )
            assert resp.status_code in (200, 201), resp.text


async def test_a_large_customers_file_is_imported_by_the_worker(
    client: httpx.AsyncClient, as_user: Callable[..., dict[str, str]], crm: Crm
) -> None:
    await drain(crm)
    manager = as_user("store_manager", STORE, sub="imj-manager")
    people = mobiles(2_500)
    # Row 10 has a mobile that is no mobile; row 20 repeats row 2's person.
    data = customers_file(
        people, bad={10: ["坏号码", "12345", "上海"], 20: ["重复", people[0], "上海"]}
    )
    job = accepted(await upload(client, manager, "customers", data, mode="valid_rows"))
    assert (job["status"], job["kind"], job["store_id"], job["rows"]) == (
        "queued",
        "customers",
        STORE,
        2_500,
    )
    assert (job["processed"], job["imported"], job["report"]) == (0, 0, None)
    assert job["submitted_by"] == "user:imj-manager"
    stored = await job_row(crm, job["id"])
    # Sealed at rest (the file holds mobiles and ID numbers).
    assert stored.file_sealed is not None and people[0].encode() not in stored.file_sealed
    assert crm.pii.unseal_bytes(stored.file_sealed, jobs.FILE_PURPOSE) == data

    assert await drain(crm) == [job["id"]]

    resp = await client.get(job["links"]["self"], headers=manager)
    assert resp.status_code == 200, resp.text
    done = resp.json()
    assert (done["status"], done["processed"], done["imported"], done["attempts"]) == (
        "done",
        2_500,
        2_498,
        1,
    )
    assert done["error"] is None and done["finished_at"] is not None
    report = done["report"]
    assert report["file"]["rows"] == 2_500
    assert (report["imported"], report["skipped"], report["customers_created"]) == (2_498, 2, 2_498)
    assert [(e["row"], e["field"]) for e in report["errors"]] == [(10, "mobile")]
    assert report["duplicates"]["in_file"] == [{"row": 20, "duplicate_of_row": 2, "by": "mobile"}]
    numbers = [r["row"] for r in report["rows"]]
    assert numbers == [n for n in range(2, 2_502) if n not in (10, 20)]
    # Each person once; the file and the chunks are gone, the report stays.
    expected = [m for i, m in enumerate(people) if i + 2 not in (10, 20)]
    assert await count_customers(crm, expected) == 2_498
    stored = await job_row(crm, job["id"])
    assert stored.file_sealed is None and stored.plan is None and stored.report is not None
    async with crm.db.session() as session:
        left = await session.execute(
            select(func.count()).where(col(ImportJobChunk.job_id) == job["id"])
        )
        assert left.scalar_one() == 0

    # The store's list, newest first, without reports.
    resp = await client.get("/api/v1/crm/imports/jobs", params={"store_id": STORE}, headers=manager)
    assert resp.status_code == 200, resp.text
    listed = resp.json()["items"]
    assert listed[0]["id"] == job["id"] and "report" not in listed[0]

    # Another store's people, and a consultant who did not submit it: 404, never 403.
    for stranger in (
        as_user("store_manager", STORE_B, sub="imj-manager-b"),
        as_user("sales_consultant", STORE, sub=CONSULTANTS[0]),
    ):
        resp = await client.get(job["links"]["self"], headers=stranger)
        assert resp.status_code == 404, resp.text
        assert resp.headers["content-type"] == PROBLEM_MEDIA_TYPE
    resp = await client.get(
        "/api/v1/crm/imports/jobs",
        params={"store_id": STORE},
        headers=as_user("store_manager", STORE_B, sub="imj-manager-b"),
    )
    assert resp.status_code == 404
    resp = await client.get(f"/api/v1/crm/imports/jobs/{uuid.uuid4()}", headers=manager)
    assert resp.status_code == 404
    assert "not found" in resp.json()["detail"]
    resp = await client.get(job["links"]["self"], headers=as_user("hq_analyst"))
    assert resp.status_code == 403


async def test_a_large_leads_file_goes_through_the_lead_door(
    client: httpx.AsyncClient,
    as_user: Callable[..., dict[str, str]],
    crm: Crm,
    roster: None,
) -> None:
    await drain(crm)
    manager = as_user("sales_manager", STORE_B, sub="imj-sales-manager")
    people = mobiles(ROW_LIMITS["leads"] + 1)
    header = ["姓名", "手机", "渠道", "意向级别"]
    data = csv_bytes([header] + [[f"线索{m[-4:]}", m, "汽车之家", "H"] for m in people])
    job = accepted(await upload(client, manager, "leads", data, store=STORE_B))
    assert await drain(crm) == [job["id"]]
    done = (await client.get(job["links"]["self"], headers=manager)).json()
    assert done["status"] == "done", done
    report = done["report"]
    assert (report["imported"], report["leads_created"], report["customers_created"]) == (
        501,
        501,
        501,
    )
    lead_ids = [r["lead_id"] for r in report["rows"]]
    async with crm.db.session() as session:
        leads = (await session.execute(select(Lead).where(col(Lead.id).in_(lead_ids)))).scalars()
        assignees = {lead.assigned_to for lead in leads}
        tasks = await session.execute(
            select(func.count(func.distinct(Task.lead_id))).where(col(Task.lead_id).in_(lead_ids))
        )
    # Assigned by the store's rules, with their follow-up tasks, as a lead typed in.
    assert assignees <= set(CONSULTANTS) and assignees
    assert tasks.scalar_one() == 501
    assert await count_customers(crm, people) == 501


async def test_a_retried_upload_answers_the_same_job_and_all_or_nothing_imports_nothing(
    client: httpx.AsyncClient, as_user: Callable[..., dict[str, str]], crm: Crm
) -> None:
    await drain(crm)
    manager = as_user("store_manager", STORE, sub="imj-manager")
    people = mobiles(2_100)
    data = customers_file(people, bad={1_500: ["坏号码", "1374", "上海"]})
    key = str(uuid.uuid4())
    first = accepted(await upload(client, manager, "customers", data, key=key))
    again = await upload(client, manager, "customers", data, key=key)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert accepted(again)["id"] == first["id"]
    async with crm.db.session() as session:
        queued = await session.execute(
            select(func.count()).where(
                col(ImportJob.store_id) == STORE, col(ImportJob.status) == "queued"
            )
        )
        assert queued.scalar_one() == 1
    # The same key with another file is refused.
    other = await upload(client, manager, "customers", customers_file(mobiles(2_001)), key=key)
    assert other.status_code == 422

    assert await drain(crm) == [first["id"]]
    failed = (await client.get(first["links"]["self"], headers=manager)).json()
    assert failed["status"] == "failed", failed
    assert "1 of 2100 rows have errors, so nothing was imported" in failed["error"]
    assert failed["report"]["imported"] == 0
    assert [(e["row"], e["field"]) for e in failed["report"]["errors"]] == [(1_500, "mobile")]
    assert failed["imported"] == 0
    assert await count_customers(crm, people) == 0
    assert (await job_row(crm, first["id"])).file_sealed is None


async def test_a_job_taken_over_after_a_crash_resumes_without_duplicates(
    client: httpx.AsyncClient, as_user: Callable[..., dict[str, str]], crm: Crm
) -> None:
    """The worker dies after two committed chunks. Its job is taken over once its heartbeat is
    stale; to show the one door's dedupe too, the second chunk's progress is "lost", so that its
    rows run twice: nobody is duplicated."""
    await drain(crm)
    manager = as_user("store_manager", STORE, sub="imj-manager")
    people = mobiles(2_001)
    job = accepted(
        await upload(client, manager, "customers", customers_file(people), mode="valid_rows")
    )
    claim = await jobs.claim_next(crm)
    assert claim is not None and claim.job_id == job["id"]
    assert await jobs.step(crm, claim)  # the checks
    assert await jobs.step(crm, claim)  # rows 0-499
    assert await jobs.step(crm, claim)  # rows 500-999
    running = (await client.get(job["links"]["self"], headers=manager)).json()
    assert (running["status"], running["processed"], running["imported"]) == (
        "running",
        2 * CHUNK_ROWS,
        2 * CHUNK_ROWS,
    )
    # Nobody else takes a job whose worker is alive.
    assert await jobs.claim_next(crm) is None

    # The worker dies here (the claim is dropped). An hour later, and the second chunk's
    # progress lost:
    long_ago = crm.now() - timedelta(hours=1)
    async with crm.uow() as uow:
        await uow.session.execute(
            update(ImportJob)
            .where(col(ImportJob.id) == job["id"])
            .values(heartbeat_at=long_ago, started_at=long_ago, next_index=CHUNK_ROWS)
        )
        await uow.commit()

    assert await drain(crm) == [job["id"]]
    done = (await client.get(job["links"]["self"], headers=manager)).json()
    assert (done["status"], done["attempts"], done["imported"]) == ("done", 2, 2_001)
    report = done["report"]
    assert report["imported"] == 2_001
    # The first chunk was not run again; the second ran twice and found its people.
    assert (report["customers_created"], report["customers_existing"]) == (1_501, 500)
    assert [r["customer"] for r in report["rows"][:CHUNK_ROWS]] == ["created"] * CHUNK_ROWS
    assert {r["customer"] for r in report["rows"][CHUNK_ROWS : 2 * CHUNK_ROWS]} == {"existing"}
    assert await count_customers(crm, people) == 2_001

    # The dead worker, back to life, may no longer write.
    with pytest.raises(jobs.LostClaim):
        await jobs.step(crm, claim)


async def test_two_workers_never_claim_the_same_job(
    client: httpx.AsyncClient, as_hq: dict[str, str], crm: Crm
) -> None:
    await drain(crm)
    ids = []
    for _ in range(3):
        data = customers_file(mobiles(2_001), bad={2: ["坏", "1", ""]})  # fails fast when run
        ids.append(accepted(await upload(client, as_hq, "customers", data, store=STORE_B))["id"])

    # Two transactions claiming at the same time: the row one holds is skipped by the other.
    async with crm.uow() as first, crm.uow() as second:
        a = await jobs.claim_in(first.session, crm)
        b = await jobs.claim_in(second.session, crm)
        assert a is not None and b is not None
        assert a.job_id != b.job_id
        assert {a.job_id, b.job_id} <= set(ids)
        # neither commits: both jobs stay queued

    # Four workers at once for three jobs: each job once, one worker idle.
    claims = await asyncio.gather(*(jobs.claim_next(crm) for _ in range(4)))
    taken = [c.job_id for c in claims if c is not None]
    assert sorted(taken) == sorted(ids)
    for c in claims:
        if c is not None:
            await jobs.run_claimed(crm, c)
    for job_id in ids:
        job = await job_row(crm, job_id)
        assert (job.status, job.attempts) == ("failed", 1)
    assert await drain(crm) == []


async def test_a_job_that_keeps_breaking_is_given_up_after_three_attempts(
    client: httpx.AsyncClient, as_hq: dict[str, str], crm: Crm
) -> None:
    """A stored file that can no longer be opened (sealed with another MARQUE_PII_KEY, say):
    each attempt puts the job back in the queue, the third one fails it for good."""
    await drain(crm)
    job = accepted(
        await upload(client, as_hq, "customers", customers_file(mobiles(2_001)), store=STORE_B)
    )
    async with crm.uow() as uow:
        await uow.session.execute(
            update(ImportJob)
            .where(col(ImportJob.id) == job["id"])
            .values(file_sealed=b"sealed with a key we no longer hold")
        )
        await uow.commit()
    assert await drain(crm) == [job["id"]] * 3
    failed = (await client.get(job["links"]["self"], headers=as_hq)).json()
    assert (failed["status"], failed["attempts"], failed["report"]) == ("failed", 3, None)
    assert "stopped 3 times" in failed["error"]
    assert "Attempt 3 stopped: InvalidToken" in failed["error"]
    assert (await job_row(crm, job["id"])).file_sealed is None


async def test_files_past_the_job_limits_and_unknown_jobs_are_problems(
    client: httpx.AsyncClient,
    as_hq: dict[str, str],
    as_user: Callable[..., dict[str, str]],
    crm: Crm,
) -> None:
    too_big = b"name,mobile\r\n" + b"x" * (10 * 1024 * 1024)
    resp = await upload(client, as_hq, "customers", too_big)
    assert resp.status_code == 422
    assert resp.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert "10 MiB" in resp.json()["detail"]
    # A header the import cannot use is refused at once, not queued.
    data = csv_bytes([["姓名", "城市"]] + [["甲", "上海"]] * 2_001)
    resp = await upload(client, as_hq, "customers", data)
    assert resp.status_code == 422
    assert "手机 (mobile)" in resp.json()["detail"]
    # Another store's upload is 404 before anything is stored.
    resp = await upload(
        client,
        as_user("store_manager", STORE, sub="imj-manager"),
        "customers",
        customers_file(mobiles(2_001)),
        store=STORE_B,
    )
    assert resp.status_code == 404
    resp = await client.get("/api/v1/crm/imports/jobs/nope", headers=as_hq)
    assert resp.status_code == 404
    assert resp.headers["content-type"] == PROBLEM_MEDIA_TYPE
    resp = await client.get("/api/v1/crm/imports/jobs", headers=as_hq)
    assert resp.status_code == 422  # store_id is required
    async with crm.db.session() as session:
        queued = await session.execute(
            select(func.count()).where(col(ImportJob.status) == "queued")
        )
        assert queued.scalar_one() == 0
