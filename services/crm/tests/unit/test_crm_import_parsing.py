"""Reading the spreadsheets stores keep (CSV in UTF-8/BOM/GBK, XLSX) and checking each row: every
problem is reported with its Excel row number and field, and duplicates inside a file are found."""

from __future__ import annotations

import io
import zipfile
from datetime import date

import pytest
from openpyxl import Workbook, load_workbook

from marque_crm.domain.contact import with_id_check_digit
from marque_crm.domain.imports import (
    CUSTOMERS,
    LEADS,
    MAX_ROWS,
    SYNC_MAX_FILE_BYTES,
    check_row,
    columns_doc,
    dedupe_in_file,
    map_headers,
    parse_budget,
    parse_date,
    runs_as_job,
)
from marque_crm.tabular import csv_header, csv_line, read_table, xlsx_bytes
from marque_kit.errors import InvalidInput

ID_1990 = with_id_check_digit("31010119900517123")
HEADERS_ZH = [
    "姓名",
    "手机",
    "身份证",
    "性别",
    "生日",
    "城市",
    "微信",
    "意向车型",
    "意向级别",
    "渠道",
    "预算",
    "购买时间",
    "付款方式",
    "顾问",
]


def _cells(kind: str, headers: list[str], values: list[str]) -> dict[str, str]:
    mapping = map_headers(kind, headers)
    return {key: values[i] if i < len(values) else "" for key, i in mapping.positions.items()}


def test_utf8_csv_with_and_without_bom_and_gbk_read_the_same() -> None:
    text = "姓名,手机,城市\r\n张三,13800138000,上海\r\n李四,139 0013 9000,杭州\r\n"
    for data, encoding in (
        (text.encode("utf-8"), "utf-8"),
        (b"\xef\xbb\xbf" + text.encode("utf-8"), "utf-8-sig"),
        (text.encode("gbk"), "gb18030"),
    ):
        table = read_table(data, "leads.csv")
        assert table.encoding == encoding
        assert table.headers == ["姓名", "手机", "城市"]
        assert table.rows == [
            (2, ["张三", "13800138000", "上海"]),
            (3, ["李四", "139 0013 9000", "杭州"]),
        ]


def test_blank_rows_keep_their_excel_row_numbers() -> None:
    table = read_table("name,mobile\n\n张三,13800138000\n,\n李四,13900139000\n".encode())
    assert [n for n, _ in table.rows] == [3, 5]


def test_xlsx_numbers_and_dates_read_as_a_person_sees_them() -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["姓名", "手机", "生日"])
    sheet.append(["王五", 13800138000, date(1990, 5, 17)])
    out = io.BytesIO()
    book.save(out)
    table = read_table(out.getvalue(), "x.xlsx")
    assert table.file_format == "xlsx"
    assert table.rows == [(2, ["王五", "13800138000", "1990-05-17"])]


def test_files_that_are_not_spreadsheets_are_refused_with_a_reason() -> None:
    with pytest.raises(InvalidInput, match="empty"):
        read_table(b"  \n")
    with pytest.raises(InvalidInput, match=r"\.xls files"):
        read_table(b"\xd0\xcf\x11\xe0" + b"\x00" * 100, "old.xls")
    with pytest.raises(InvalidInput, match=r"not an \.xlsx"):
        read_table(b"PK\x03\x04garbage", "x.xlsx")
    with pytest.raises(InvalidInput, match="neither UTF-8 nor GBK"):
        read_table(b"name,mobile\n\xff\xfe\xff\xfe\x81\x30\n")


def test_too_many_rows_is_a_422() -> None:
    body = "name,mobile\n" + "张三,13800138000\n" * (MAX_ROWS + 1)
    with pytest.raises(InvalidInput, match="at most"):
        read_table(body.encode())


def test_files_past_the_synchronous_limits_run_as_jobs() -> None:
    assert not runs_as_job(CUSTOMERS, 2_000, 1024)
    assert runs_as_job(CUSTOMERS, 2_001, 1024)
    assert not runs_as_job(LEADS, 500, 1024)
    assert runs_as_job(LEADS, 501, 1024)
    assert runs_as_job(LEADS, 10, SYNC_MAX_FILE_BYTES + 1)


def test_headers_in_english_or_chinese_and_unknown_ones_ignored() -> None:
    mapping = map_headers(LEADS, ["Name", " 手机号码* ", "Channel", "意向级别", "Remark", "车架号"])
    assert mapping.positions["name"] == 0
    assert mapping.positions["mobile"] == 1
    assert mapping.positions["channel"] == 2
    assert mapping.positions["grade"] == 3
    assert mapping.ignored == ("车架号",)
    with pytest.raises(InvalidInput, match="both name mobile"):
        map_headers(CUSTOMERS, ["姓名", "手机", "mobile"])
    with pytest.raises(InvalidInput, match="渠道"):
        map_headers(LEADS, ["姓名", "手机"])
    with pytest.raises(InvalidInput, match="手机"):
        map_headers(CUSTOMERS, ["姓名", "城市"])


def test_a_good_lead_row_is_normalised() -> None:
    values = [
        "张三",
        "+86 138-0013-8000",
        ID_1990.lower(),
        "男",
        "1990年5月17日",
        "上海",
        "zs_wx_01",
        "BYD-HAN",
        "h",
        "汽车之家",
        "15-20万",
        "一个月内",
        "按揭",
        "demo-sh-consultant",
    ]
    row, errors = check_row(LEADS, 2, _cells(LEADS, HEADERS_ZH, values))
    assert errors == []
    assert row is not None
    assert row.mobile == "+8613800138000"
    assert row.national_id == ID_1990
    assert (row.gender, row.birthday, row.grade, row.channel) == (
        "male",
        date(1990, 5, 17),
        "H",
        "autohome",
    )
    assert (row.budget_min_fen, row.budget_max_fen) == (15_000_000, 20_000_000)
    assert (row.timeframe, row.payment_intention) == ("within_30_days", "loan")
    assert row.consultant == "demo-sh-consultant"


def test_every_problem_of_a_bad_row_is_reported_with_row_and_field() -> None:
    bad_id = ID_1990[:-1] + ("0" if ID_1990[-1] != "0" else "1")
    values = [
        "",
        "12345",
        bad_id,
        "未知",
        "1990-13-01",
        "",
        "",
        "",
        "Z",
        "报纸",
        "15",
        "明天",
        "刷卡",
        "",
    ]
    row, errors = check_row(LEADS, 7, _cells(LEADS, HEADERS_ZH, values))
    assert row is None
    by_field = {e.field: e for e in errors}
    assert set(by_field) == {
        "name",
        "mobile",
        "national_id",
        "gender",
        "birthday",
        "grade",
        "channel",
        "budget",
        "timeframe",
        "payment_intention",
    }
    assert all(e.row == 7 for e in errors)
    assert by_field["national_id"].rule == "id_checksum"
    assert "check digit" in by_field["national_id"].message
    assert "not a Chinese mobile" in by_field["mobile"].message
    assert by_field["channel"].rule == "enum"


def test_birthday_must_agree_with_the_id_number() -> None:
    row, errors = check_row(
        CUSTOMERS,
        3,
        {"name": "李四", "mobile": "13900139000", "national_id": ID_1990, "birthday": "1991-01-01"},
    )
    assert row is None
    assert [(e.field, e.rule) for e in errors] == [("birthday", "matches_national_id")]
    row, errors = check_row(
        CUSTOMERS, 3, {"name": "李四", "mobile": "13900139000", "national_id": ID_1990}
    )
    assert row is not None and row.birthday == date(1990, 5, 17)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("150000", (15_000_000, 15_000_000)),
        ("15万", (15_000_000, 15_000_000)),
        ("15-20万", (15_000_000, 20_000_000)),
        ("15万~20万", (15_000_000, 20_000_000)),
        ("150,000-200,000", (15_000_000, 20_000_000)),
        ("¥12.5w", (12_500_000, 12_500_000)),
    ],
)
def test_budgets(text: str, expected: tuple[int, int]) -> None:
    assert parse_budget(text) == expected


@pytest.mark.parametrize("text", ["15", "20-15万", "about 15", "15万-"])
def test_bad_budgets_say_how_to_write_them(text: str) -> None:
    with pytest.raises(ValueError, match=r"[Bb]udget"):
        parse_budget(text)


def test_dates() -> None:
    assert parse_date("1990/5/7") == date(1990, 5, 7)
    assert parse_date("19900507") == date(1990, 5, 7)
    assert parse_date("1990-05-07 00:00:00") == date(1990, 5, 7)
    with pytest.raises(ValueError, match="real date"):
        parse_date("1990-02-30")


def test_duplicates_inside_the_file_keep_the_first_row() -> None:
    def row(n: int, mobile: str, national_id: str = "") -> dict[str, str]:
        return {"name": f"客户{n}", "mobile": mobile, "national_id": national_id}

    checked = [
        check_row(CUSTOMERS, n, cells)[0]
        for n, cells in [
            (2, row(2, "13800138000", ID_1990)),
            (3, row(3, "+86 138 0013 8000")),
            (4, row(4, "13900139000", ID_1990)),
            (5, row(5, "13700137000")),
        ]
    ]
    kept, duplicates = dedupe_in_file([r for r in checked if r is not None])
    assert [r.row for r in kept] == [2, 5]
    assert [(d.row, d.duplicate_of_row, d.by) for d in duplicates] == [
        (3, 2, "mobile"),
        (4, 2, "national_id"),
    ]


def test_exports_guard_formulas_and_imports_read_them_back() -> None:
    data = csv_header(["姓名", "手机", "备注"]) + csv_line(["=HYPERLINK(1)", "+447700900123", None])
    assert data.startswith(b"\xef\xbb\xbf")
    table = read_table(data)
    assert table.rows == [(2, ["=HYPERLINK(1)", "+447700900123", ""])]
    assert b"'=HYPERLINK" in data
    book = load_workbook(io.BytesIO(xlsx_bytes("客户", ["姓名"], [["=1+1"], ["张三"]])))
    sheet = book.worksheets[0]
    assert [c.value for c in sheet["A"]] == ["姓名", "'=1+1", "张三"]


def test_the_accepted_columns_are_documented() -> None:
    doc = columns_doc(LEADS)
    for header in HEADERS_ZH:
        assert header in doc


def test_a_damaged_workbook_is_a_422_not_a_crash() -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["姓名", "手机"])
    good = io.BytesIO()
    book.save(good)
    damaged = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(good.getvalue())) as source,
        zipfile.ZipFile(damaged, "w") as target,
    ):
        for item in source.infolist():
            body = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                body = body[: len(body) // 2]  # cut off mid-element
            target.writestr(item, body)
    with pytest.raises(InvalidInput, match=r"not an \.xlsx workbook we can read"):
        read_table(damaged.getvalue(), "x.xlsx")


def test_a_long_workbook_stops_at_the_limit() -> None:
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(["name", "mobile"])
    for n in range(30):
        sheet.append([f"客户{n}", f"1380013{n:04d}"])
    out = io.BytesIO()
    book.save(out)
    assert len(read_table(out.getvalue(), max_rows=30).rows) == 30
    with pytest.raises(InvalidInput, match="more than 29 data rows"):
        read_table(out.getvalue(), max_rows=29)
