"""Bulk import and export over HTTP against the real database: CSV (UTF-8/BOM/GBK) and XLSX, bad
rows reported with their Excel row numbers (all-or-nothing and valid-rows), dedupe against the
group's customers and within the file, leads going through assignment, the export round trip,
and a consultant's masked export of their own book.

Stores IMP1 / IMP2 / IMP3 and mobiles 1372001xxxx belong to this module.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select
from sqlmodel import col

from marque_crm.customers_service import NewCustomer, find_or_create
from marque_crm.domain.contact import with_id_check_digit
from marque_crm.domain.imports import MAX_ROWS
from marque_crm.models import Assignment, Customer, Lead
from marque_crm.tabular import read_table
from marque_crm.unit_of_work import Crm

STORE, STORE_B, STORE_C = "IMP1", "IMP2", "IMP3"
CONSULTANTS = ("imp-consultant-a", "imp-consultant-b")
_counter = iter(range(1000, 9999))
_ids = iter(range(100, 999))


def mobile() -> str:
    return f"1372001{next(_counter):04d}"


def national_id() -> str:
    return with_id_check_digit(f"310101198805{next(_ids) % 28 + 1:02d}{next(_ids):03d}")


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8-sig") -> bytes:
    return "\r\n".join(",".join(r) for r in rows).encode(encoding) + b"\r\n"


def xlsx(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for r in rows:
        sheet.append(r)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def upload(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    kind: str,
    data: bytes,
    *,
    store: str = STORE,
    name: str = "import.csv",
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
        files={"file": (name, data)},
    )


async def count_customers(crm: Crm, mobiles: list[str]) -> int:
    indexes = [crm.pii.index(f"+86{m}", "mobile") for m in mobiles]
    async with crm.db.session() as session:
        result = await session.execute(
            select(func.count()).where(col(Customer.mobile_index).in_(indexes))
        )
        return int(result.scalar_one())


@pytest.fixture
async def roster(client: httpx.AsyncClient, as_hq: dict[str, str]) -> None:
    """Both consultants on the roster of the module's stores (PUT once; later runs find them)."""
    for store in (STORE, STORE_B, STORE_C):
        listed = await client.get(f"/api/v1/crm/stores/{store}/consultants", headers=as_hq)
        on_roster = {c["subject"] for c in listed.json()["items"]}
        for subject in set(CONSULTANTS) - on_roster:
            resp = await client.put(
                f"/api/v1/crm/stores/{store}/consultants/{subject}",
                headers=as_hq,
                json={"name": subject},
            )
            assert resp.status_code in (200, 201), resp.text


LEAD_HEADER = ["姓名", "手机", "身份证", "性别", "生日", "城市", "微信", "意向车型", "意向级别",
               "渠道", "预算", "购买时间", "付款方式", "顾问"]  # fmt: skip


async def test_bad_rows_are_reported_by_row_and_field_and_nothing_is_imported(
    client: httpx.AsyncClient, as_user: Callable[..., dict[str, str]], crm: Crm, roster: None
) -> None:
    manager = as_user("sales_manager", STORE, sub="imp-manager")
    good = [mobile() for _ in range(3)]
    bad_id = with_id_check_digit("31010119900517123")
    bad_id = bad_id[:-1] + ("1" if bad_id[-1] != "1" else "2")
    data = csv_bytes(
        [
            LEAD_HEADER,
            [
                "张三",
                good[0],
                "",
                "男",
                "",
                "上海",
                "",
                "BYD-HAN",
                "H",
                "汽车之家",
                "15-20万",
                "7天内",
                "贷款",
                "",
            ],
            ["李四", "12345", bad_id, "", "", "", "", "", "Z", "报纸", "", "", "", ""],
            [],  # a blank line keeps its row number
            [
                "王五",
                good[1],
                "",
                "女",
                "1990/5/17",
                "",
                "",
                "TSL-MY",
                "A",
                "到店",
                "30万",
                "半个月内",
                "全款",
                "",
            ],
            ["赵六", good[2], "", "", "", "", "", "", "B", "易车", "", "", "", ""],
        ]
    )
    resp = await upload(client, manager, "leads", data)
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    problem = resp.json()
    assert "1 of 4 rows have errors" in problem["detail"]
    assert "mode=valid_rows" in problem["detail"]
    by_field = {e["field"]: e for e in problem["errors"]}
    assert {e["row"] for e in problem["errors"]} == {3}
    assert set(by_field) == {"mobile", "national_id", "grade", "channel"}
    assert by_field["national_id"]["rule"] == "id_checksum"
    assert "check digit" in by_field["national_id"]["message"]
    assert await count_customers(crm, good) == 0

    resp = await upload(client, manager, "leads", data, mode="valid_rows")
    assert resp.status_code == 201, resp.text
    report = resp.json()
    assert report["imported"] == 3
    assert report["skipped"] == 1
    assert report["leads_created"] == 3
    assert [r["row"] for r in report["rows"]] == [2, 5, 6]
    assert {e["row"] for e in report["errors"]} == {3}
    assert await count_customers(crm, good) == 3
    async with crm.db.session() as session:
        leads = {
            lead.id: lead
            for lead in (
                await session.execute(
                    select(Lead).where(col(Lead.id).in_([r["lead_id"] for r in report["rows"]]))
                )
            ).scalars()
        }
    # Through the one door: assigned by the store's rules, grade/budget/timeframe normalised.
    assert all(lead.assigned_to in CONSULTANTS for lead in leads.values())
    first = leads[report["rows"][0]["lead_id"]]
    assert (first.channel, first.grade, first.timeframe, first.payment_intention) == (
        "autohome",
        "H",
        "within_7_days",
        "loan",
    )
    assert (first.budget_min_fen, first.budget_max_fen) == (15_000_000, 20_000_000)
    walk_in = leads[report["rows"][1]["lead_id"]]
    assert (walk_in.channel, walk_in.status) == ("walk_in", "visited")


async def test_xlsx_customers_with_english_headers(
    client: httpx.AsyncClient, as_user: Callable[..., dict[str, str]], crm: Crm, roster: None
) -> None:
    manager = as_user("store_manager", STORE_B, sub="imp-store-manager")
    m1, m2 = mobile(), mobile()
    nid = national_id()
    data = xlsx(
        [
            ["Name", "Mobile", "National ID", "Gender", "City", "WeChat", "Consultant", "VIN"],
            ["Li Lei", int(m1), nid, "M", "Shanghai", "lilei_88", CONSULTANTS[0], "ignored"],
            ["韩梅梅", m2, None, "female", "杭州", None, None, None],
        ]
    )
    resp = await upload(client, manager, "customers", data, store=STORE_B, name="customers.xlsx")
    assert resp.status_code == 201, resp.text
    report = resp.json()
    assert report["file"] == {
        "format": "xlsx",
        "encoding": "",
        "rows": 2,
        "ignored_columns": ["VIN"],
    }
    assert report["customers_created"] == 2
    first = report["rows"][0]
    async with crm.db.session() as session:
        customer = await session.get(Customer, first["customer_id"])
    assert customer is not None
    assert (customer.name, customer.gender, customer.city, customer.wechat_id) == (
        "Li Lei",
        "male",
        "Shanghai",
        "lilei_88",
    )
    assert customer.owner == CONSULTANTS[0]
    assert customer.store_id == STORE_B
    assert crm.pii.unseal(customer.mobile_sealed, "mobile") == f"+86{m1}"
    assert customer.birthday is not None and customer.birthday.isoformat() == (
        f"{nid[6:10]}-{nid[10:12]}-{nid[12:14]}"
    )


async def test_dedupe_against_existing_customers_and_within_the_file(
    client: httpx.AsyncClient, as_user: Callable[..., dict[str, str]], crm: Crm, roster: None
) -> None:
    known_mobile, known_id_mobile, known_id = mobile(), mobile(), national_id()
    async with crm.uow() as uow:
        by_mobile = await find_or_create(
            uow.session, crm, NewCustomer(STORE, "老客户", known_mobile, source="phone")
        )
        by_id = await find_or_create(
            uow.session,
            crm,
            NewCustomer(STORE, "老客户二", known_id_mobile, national_id=known_id),
        )
        await uow.commit()
    fresh = mobile()
    manager = as_user("sales_manager", STORE, sub="imp-manager")
    data = csv_bytes(
        [
            ["姓名", "手机", "身份证", "渠道"],
            ["老客户", known_mobile, "", "来电"],  # row 2: known by mobile
            ["老客户二", mobile(), known_id, "官网"],  # row 3: known by ID number
            ["新客户", fresh, "", "懂车帝"],  # row 4: new
            ["新客户", f"+86 {fresh[:3]} {fresh[3:7]} {fresh[7:]}", "", "懂车帝"],  # row 5: = row 4
            ["老客户", known_mobile, "", "汽车之家"],  # row 6: = row 2
        ]
    )
    resp = await upload(client, manager, "leads", data)
    assert resp.status_code == 201, resp.text
    report = resp.json()
    assert report["duplicates"]["existing"] == [
        {"row": 2, "by": "mobile", "customer_id": by_mobile.customer.id},
        {"row": 3, "by": "national_id", "customer_id": by_id.customer.id},
    ]
    assert report["duplicates"]["in_file"] == [
        {"row": 5, "duplicate_of_row": 4, "by": "mobile"},
        {"row": 6, "duplicate_of_row": 2, "by": "mobile"},
    ]
    assert report["imported"] == 3
    assert (report["customers_created"], report["customers_existing"]) == (1, 2)
    rows = {r["row"]: r for r in report["rows"]}
    assert rows[2]["customer_id"] == by_mobile.customer.id
    assert rows[3]["customer_id"] == by_id.customer.id
    assert await count_customers(crm, [fresh]) == 1

    # The same people again: their open leads in the store take the repeat enquiries.
    again = csv_bytes([["姓名", "手机", "渠道"], ["老客户", known_mobile, "来电"]])
    resp = await upload(client, manager, "leads", again)
    assert resp.status_code == 200, resp.text  # nothing new
    row = resp.json()["rows"][0]
    assert (row["lead"], row["lead_id"]) == ("attached", rows[2]["lead_id"])
    async with crm.db.session() as session:
        lead = await session.get(Lead, rows[2]["lead_id"])
    assert lead is not None and lead.duplicate_count == 1


async def test_gbk_csv_from_chinese_excel(
    client: httpx.AsyncClient, as_user: Callable[..., dict[str, str]], crm: Crm, roster: None
) -> None:
    m = mobile()
    data = csv_bytes(
        [["客户姓名", "手机号码", "城市", "线索来源", "意向级别", "顾问"],
         ["欧阳娜娜", m, "广州", "转介绍", "A级", CONSULTANTS[1]]],
        encoding="gbk",
    )  # fmt: skip
    resp = await upload(client, as_user("store_manager", STORE_C, sub="imp-sm3"), "leads", data,
                        store=STORE_C)  # fmt: skip
    assert resp.status_code == 201, resp.text
    report = resp.json()
    assert report["file"]["encoding"] == "gb18030"
    row = report["rows"][0]
    # The 顾问 column is a manual assignment, recorded with its reason.
    assert row["assigned_to"] == CONSULTANTS[1]
    async with crm.db.session() as session:
        customer = await session.get(Customer, row["customer_id"])
        history = (
            (
                await session.execute(
                    select(Assignment)
                    .where(col(Assignment.lead_id) == row["lead_id"])
                    .order_by(col(Assignment.id))
                )
            )
            .scalars()
            .all()
        )
    assert customer is not None and (customer.name, customer.city) == ("欧阳娜娜", "广州")
    assert history[-1].assignee == CONSULTANTS[1]
    assert history[-1].strategy == "manual"
    assert "row 2" in history[-1].reason


async def test_consultants_import_only_for_themselves(
    client: httpx.AsyncClient, as_user: Callable[..., dict[str, str]], crm: Crm, roster: None
) -> None:
    me = as_user("sales_consultant", STORE, sub=CONSULTANTS[0])
    mine, theirs = mobile(), mobile()
    data = csv_bytes([["姓名", "手机", "顾问"], ["甲", mine, ""], ["乙", theirs, CONSULTANTS[1]]])
    resp = await upload(client, me, "customers", data)
    assert resp.status_code == 422
    assert [(e["row"], e["field"], e["rule"]) for e in resp.json()["errors"]] == [
        (3, "consultant", "not_yours")
    ]
    resp = await upload(client, me, "customers", data, mode="valid_rows")
    assert resp.status_code == 201, resp.text
    async with crm.db.session() as session:
        customer = await session.get(Customer, resp.json()["rows"][0]["customer_id"])
    # What a consultant imports without a 顾问 is in their own book.
    assert customer is not None and customer.owner == CONSULTANTS[0]
    # A person the group knows but the consultant may not see is matched, not named.
    stranger = mobile()
    async with crm.uow() as uow:
        await find_or_create(uow.session, crm, NewCustomer(STORE_B, "别店客户", stranger))
        await uow.commit()
    resp = await upload(client, me, "customers", csv_bytes([["姓名", "手机"], ["丙", stranger]]))
    assert resp.status_code == 200, resp.text  # nothing new was imported
    report = resp.json()
    assert report["duplicates"]["existing"] == [{"row": 2, "by": "mobile", "customer_id": None}]
    assert report["rows"] == [{"row": 2, "customer_id": None, "customer": "existing"}]
    # Another store: 404, never 403; an analyst may not import at all.
    resp = await upload(client, me, "customers", data, store=STORE_B)
    assert resp.status_code == 404
    resp = await upload(client, as_user("hq_analyst"), "customers", data)
    assert resp.status_code == 403


async def test_files_that_cannot_be_imported_say_why(
    client: httpx.AsyncClient, as_hq: dict[str, str]
) -> None:
    cases = [
        (b"", "empty"),
        (csv_bytes([["姓名", "城市"], ["甲", "上海"]]), "手机 (mobile)"),
        (b"\xd0\xcf\x11\xe0" + b"\0" * 64, ".xlsx or CSV"),
        # Past the background job's limit too (a file past 2,000 rows becomes a job: see
        # test_crm_import_jobs).
        (
            csv_bytes([["name", "mobile"]] + [["甲", "13800138000"]] * (MAX_ROWS + 1)),
            "at most 50,000",
        ),
    ]
    for data, phrase in cases:
        resp = await upload(client, as_hq, "customers", data)
        assert resp.status_code == 422, resp.text
        assert phrase in resp.json()["detail"]
    resp = await upload(client, as_hq, "customers", csv_bytes([["name", "mobile"]]), mode="some")
    assert resp.status_code == 422


async def test_a_retried_upload_with_its_idempotency_key_imports_once(
    client: httpx.AsyncClient, as_hq: dict[str, str], crm: Crm
) -> None:
    m = mobile()
    data = csv_bytes([["name", "mobile", "channel"], ["重试", m, "website"]])
    key = str(uuid.uuid4())
    first = await upload(client, as_hq, "leads", data, key=key)
    second = await upload(client, as_hq, "leads", data, key=key)
    assert first.status_code == second.status_code == 201
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert second.json() == first.json()
    assert await count_customers(crm, [m]) == 1
    other = await upload(client, as_hq, "leads", data + b"x,13700000000,website\r\n", key=key)
    assert other.status_code == 422


async def test_export_round_trip_csv_and_xlsx(
    client: httpx.AsyncClient, as_user: Callable[..., dict[str, str]], crm: Crm, roster: None
) -> None:
    manager = as_user("sales_manager", STORE_B, sub="imp-manager-b")
    people = [("出口一", mobile(), national_id()), ("出口二", mobile(), "")]
    data = csv_bytes(
        [["姓名", "手机", "身份证", "渠道", "意向车型", "预算", "购买时间", "付款方式"]]
        + [[n, m, i, "汽车之家", "VW-ID4X", "18-22万", "一个月内", "贷款"] for n, m, i in people]
    )
    resp = await upload(client, manager, "leads", data, store=STORE_B)
    assert resp.status_code == 201, resp.text

    resp = await client.get(
        "/api/v1/crm/exports/leads", params={"store_id": STORE_B}, headers=manager
    )
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/csv")
    assert resp.headers["x-marque-pii"] == "full"
    assert "attachment" in resp.headers["content-disposition"]
    assert resp.content.startswith(b"\xef\xbb\xbf")
    table = read_table(resp.content)
    rows = [dict(zip(table.headers, cells, strict=False)) for _, cells in table.rows]
    exported = {r["手机"]: r for r in rows}
    for name, m, _ in people:
        row = exported[m]
        assert (row["姓名"], row["渠道"], row["预算"], row["购买时间"], row["付款方式"]) == (
            name,
            "汽车之家",
            "180000-220000",
            "一个月内",
            "贷款",
        )

    # The export imports again: every row is a known customer whose open lead takes it.
    resp = await upload(client, manager, "leads", resp.content, store=STORE_B)
    assert resp.status_code == 200, resp.text  # nothing new
    again = resp.json()
    assert again["customers_created"] == again["leads_created"] == 0
    assert again["leads_attached"] == len(rows)
    assert {"线索编号", "状态"} <= set(again["file"]["ignored_columns"])

    resp = await client.get(
        "/api/v1/crm/exports/customers",
        params={"store_id": STORE_B, "format": "xlsx"},
        headers=manager,
    )
    assert resp.status_code == 200, resp.text
    sheet = load_workbook(io.BytesIO(resp.content)).worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    by_mobile = {r[2]: r for r in values[1:]}
    for name, m, nid in people:
        assert by_mobile[m][1] == name
        assert (by_mobile[m][3] or "") == nid
    resp = await upload(client, manager, "customers", resp.content, store=STORE_B, name="c.xlsx")
    assert resp.status_code == 200, resp.text
    assert resp.json()["customers_created"] == 0


async def test_a_consultant_exports_only_their_own_book_masked(
    client: httpx.AsyncClient, as_user: Callable[..., dict[str, str]], crm: Crm, roster: None
) -> None:
    manager = as_user("sales_manager", STORE_C, sub="imp-manager-c")
    mine, theirs = mobile(), mobile()
    data = csv_bytes(
        [["姓名", "手机", "渠道", "顾问"],
         ["我的客户", mine, "来电", CONSULTANTS[0]],
         ["别人的客户", theirs, "来电", CONSULTANTS[1]]]
    )  # fmt: skip
    resp = await upload(client, manager, "leads", data, store=STORE_C)
    assert resp.status_code == 201, resp.text

    consultant = as_user("sales_consultant", STORE_C, sub=CONSULTANTS[0])
    for kind in ("leads", "customers"):
        resp = await client.get(
            f"/api/v1/crm/exports/{kind}", params={"store_id": STORE_C}, headers=consultant
        )
        assert resp.status_code == 200, resp.text
        assert resp.headers["x-marque-pii"] == "masked"
        text = resp.content.decode("utf-8-sig")
        assert "我的客户" in text
        assert "别人的客户" not in text
        assert mine not in text and theirs not in text
        assert f"{mine[:3]}****{mine[-4:]}" in text
    # Another store's export is 404, never 403.
    resp = await client.get(
        "/api/v1/crm/exports/leads", params={"store_id": STORE}, headers=consultant
    )
    assert resp.status_code == 404


async def test_a_row_that_fails_while_importing_is_rolled_back_alone(
    client: httpx.AsyncClient,
    as_hq: dict[str, str],
    as_user: Callable[..., dict[str, str]],
    crm: Crm,
    roster: None,
) -> None:
    """顾问 on leave passes the file's checks but not the hand-over: in valid_rows mode only that
    row is left out (its customer and lead too), in all_or_nothing nothing is imported."""
    away = "imp-consultant-away"
    today = crm.today()
    listed = await client.get(f"/api/v1/crm/stores/{STORE}/consultants", headers=as_hq)
    if away not in {c["subject"] for c in listed.json()["items"]}:
        resp = await client.put(
            f"/api/v1/crm/stores/{STORE}/consultants/{away}",
            headers=as_hq,
            json={
                "name": "休假顾问",
                "on_leave_from": today.isoformat(),
                "on_leave_until": today.isoformat(),
            },
        )
        assert resp.status_code in (200, 201), resp.text
    manager = as_user("sales_manager", STORE, sub="imp-manager")
    ok, blocked = mobile(), mobile()
    data = csv_bytes(
        [
            ["姓名", "手机", "渠道", "顾问"],
            ["能导入", ok, "来电", ""],
            ["休假的", blocked, "来电", away],
        ]
    )
    resp = await upload(client, manager, "leads", data)
    assert resp.status_code == 422, resp.text
    assert [(e["row"], e["field"]) for e in resp.json()["errors"]] == [(3, "consultant")]
    assert "on leave" in resp.json()["errors"][0]["message"]
    assert await count_customers(crm, [ok, blocked]) == 0

    resp = await upload(client, manager, "leads", data, mode="valid_rows")
    assert resp.status_code == 201, resp.text
    report = resp.json()
    assert [r["row"] for r in report["rows"]] == [2]
    assert [e["row"] for e in report["errors"]] == [3]
    assert await count_customers(crm, [ok]) == 1
    assert await count_customers(crm, [blocked]) == 0
