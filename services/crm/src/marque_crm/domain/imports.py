"""Bulk import of customers and leads from the spreadsheets stores keep today: which columns are
accepted (English or Chinese headers), and how each row is checked and normalised.

Everything here is pure: a row of text in, either clean values or a list of row errors out
(row number, field, rule, message), never an exception, so that one upload answers with every
problem at once instead of the first.

Row numbers are the ones a person sees in Excel: the header is row 1, the first data row is
row 2, blank rows keep their number.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from marque_crm.domain.contact import birthday_of, check_national_id, normalise_mobile
from marque_crm.domain.customers import check_birthday, check_wechat_id
from marque_crm.domain.leads import CHANNELS, PAYMENT_INTENTIONS, TIMEFRAMES
from marque_crm.domain.store_rules import GRADES
from marque_kit.errors import InvalidInput

CUSTOMERS = "customers"
LEADS = "leads"
KINDS = (CUSTOMERS, LEADS)

# A file within both of these is imported in the request, as one transaction answered within the
# gateway's 30 s upstream timeout: a customer row costs about 5-10 ms, a lead row (customer,
# lead, assignment, follow-up) about 15-30 ms.
ROW_LIMITS = {CUSTOMERS: 2_000, LEADS: 500}
SYNC_MAX_FILE_BYTES = 5 * 1024 * 1024

# A larger file (a store moving onto Marque brings 10,000-30,000 customers) becomes a background
# import job (202 Accepted), up to these limits; beyond them it is refused whole (422: split the
# file). 10 MiB is also the gateway's request body limit (`max_body_bytes`); 50,000 lead rows are
# about 25 minutes of work for one worker.
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_ROWS = 50_000  # what is read at all


@dataclass(frozen=True)
class ImportColumn:
    """One accepted column: its field, the headers that name it, and what a cell may hold."""

    key: str
    english: tuple[str, ...]
    chinese: tuple[str, ...]
    description: str
    required: bool = False

    @property
    def header(self) -> str:
        """The header exports write (Chinese, as the stores' own sheets have it)."""
        return self.chinese[0]


_PERSON_COLUMNS: tuple[ImportColumn, ...] = (
    ImportColumn(
        "name",
        ("name", "customer_name"),
        ("姓名", "客户姓名", "客户名称"),
        "Name of the person or company (1-200 characters).",
        required=True,
    ),
    ImportColumn(
        "mobile",
        ("mobile", "phone", "mobile_phone"),
        ("手机", "手机号", "手机号码", "电话"),
        "Mobile number: 11-digit Chinese mobile (with or without +86) or +<country> E.164.",
        required=True,
    ),
    ImportColumn(
        "national_id",
        ("national_id", "id_number"),
        ("身份证", "身份证号", "身份证号码"),
        "18-character resident ID (身份证号); the check digit is verified.",
    ),
    ImportColumn("gender", ("gender", "sex"), ("性别",), "男/女, M/F or male/female."),
    ImportColumn(
        "birthday",
        ("birthday", "date_of_birth"),
        ("生日", "出生日期"),
        "YYYY-MM-DD (also YYYY/MM/DD, YYYY年M月D日 or an Excel date); must agree with "
        "the ID number when both are given.",
    ),
    ImportColumn("city", ("city",), ("城市", "所在城市"), "City (up to 60 characters)."),
    ImportColumn(
        "wechat_id",
        ("wechat", "wechat_id"),
        ("微信", "微信号"),
        "WeChat id (微信号): 6-20 characters, a letter first.",
    ),
    ImportColumn(
        "kind",
        ("kind", "customer_kind"),
        ("客户类型",),
        "person/个人 (default) or company/公司/企业.",
    ),
    ImportColumn(
        "consultant",
        ("consultant", "owner", "assigned_to"),
        ("顾问", "销售顾问", "负责人"),
        "The consultant's user id (principal subject, e.g. demo-sh-consultant): owner of "
        "a customer, assignee of a lead. Empty: a lead goes through the store's "
        "assignment rules.",
    ),
)

_LEAD_COLUMNS: tuple[ImportColumn, ...] = (
    ImportColumn(
        "channel",
        ("channel", "source"),
        ("渠道", "线索来源", "来源"),
        "walk_in/到店, phone/来电, website/官网, autohome/汽车之家, yiche/易车, "
        "dongchedi/懂车帝, referral/转介绍, campaign/营销活动, event/活动.",
        required=True,
    ),
    ImportColumn(
        "model_code",
        ("model", "model_code", "interested_model"),
        ("意向车型", "车型"),
        "Model (or model code) of interest, up to 60 characters.",
    ),
    ImportColumn(
        "grade",
        ("grade", "intent_grade"),
        ("意向级别", "级别"),
        "Intent grade H/A/B/C/N (H buys within 7 days ... N no intent).",
    ),
    ImportColumn(
        "budget",
        ("budget",),
        ("预算",),
        "Budget in yuan: 150000, 15万, 15-20万, 150000-200000 (a bare number under 1,000 "
        "is refused as ambiguous).",
    ),
    ImportColumn(
        "timeframe",
        ("timeframe", "purchase_timeframe"),
        ("购买时间", "预计购买时间"),
        "within_7_days/7天内, within_15_days/半个月内, within_30_days/一个月内, "
        "within_90_days/三个月内, over_90_days/半年内/半年以上, unknown/不确定. An empty 意向级别 "
        "follows from it (H 7 days, A 15, B 30, C 90).",
    ),
    ImportColumn(
        "payment_intention",
        ("payment", "payment_intention"),
        ("付款方式", "购买方式"),
        "cash/全款, loan/贷款/按揭/分期, lease/租赁.",
    ),
    ImportColumn(
        "source_ref",
        ("source_ref", "partner_ref", "partner_lead_id"),
        ("平台线索编号", "来源编号"),
        "The partner's own lead id (汽车之家/易车/懂车帝); a lead already imported with "
        "it is found again, not duplicated.",
    ),
    ImportColumn(
        "comments", ("comments", "notes", "remark"), ("备注",), "Free text, up to 2,000 characters."
    ),
)

COLUMNS: dict[str, tuple[ImportColumn, ...]] = {
    CUSTOMERS: _PERSON_COLUMNS,
    LEADS: _PERSON_COLUMNS + _LEAD_COLUMNS,
}


def columns_doc(kind: str) -> str:
    """A Markdown table of the accepted columns, for the OpenAPI description."""
    lines = [
        "| field | English headers | 中文表头 | required | what it holds |",
        "|---|---|---|---|---|",
    ]
    for c in COLUMNS[kind]:
        lines.append(
            f"| {c.key} | {', '.join(c.english)} | {', '.join(c.chinese)} | "
            f"{'yes' if c.required else ''} | {c.description} |"
        )
    return "\n".join(lines)


# --- headers -------------------------------------------------------------------------------


def _header_key(text: str) -> str:
    text = text.replace("\ufeff", "").strip().lower()
    text = re.sub(r"[*＊:：]+$", "", text).strip()  # "姓名*" and "手机：" are common
    return re.sub(r"[\s\-]+", "_", text)


@dataclass(frozen=True)
class HeaderMap:
    """Which cell position holds which field; headers that name nothing are reported, not fatal."""

    positions: dict[str, int]
    ignored: tuple[str, ...]


def map_headers(kind: str, headers: Sequence[str]) -> HeaderMap:
    """Match the header row against the accepted columns; 422 if a required one is missing or a
    field is named twice."""
    lookup: dict[str, str] = {}
    for c in COLUMNS[kind]:
        for alias in (*c.english, *c.chinese):
            lookup[_header_key(alias)] = c.key
    positions: dict[str, int] = {}
    ignored: list[str] = []
    for index, header in enumerate(headers):
        key = _header_key(header)
        if not key:
            continue
        fieldname = lookup.get(key)
        if fieldname is None:
            ignored.append(header.strip())
            continue
        if fieldname in positions:
            raise InvalidInput(
                f"Two columns ({headers[positions[fieldname]]!r} and {header!r}) both name "
                f"{fieldname}; keep one of them.",
                errors=[{"row": 1, "field": fieldname, "rule": "duplicate_column"}],
            )
        positions[fieldname] = index
    missing = [c for c in COLUMNS[kind] if c.required and c.key not in positions]
    if missing:
        names = ", ".join(f"{c.chinese[0]} ({c.english[0]})" for c in missing)
        raise InvalidInput(
            f"The header row (row 1) lacks the required column(s) {names}. Accepted headers are "
            f"listed in the API description of this endpoint.",
            errors=[{"row": 1, "field": c.key, "rule": "missing_column"} for c in missing],
        )
    return HeaderMap(positions=positions, ignored=tuple(ignored))


# --- rows ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    rule: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "rule": self.rule, "message": self.message}


@dataclass
class ImportRow:
    """One checked, normalised row."""

    row: int
    name: str
    mobile: str  # E.164
    national_id: str = ""
    gender: str = ""
    birthday: date | None = None
    city: str = ""
    wechat_id: str = ""
    kind: str = "person"
    consultant: str = ""
    # Leads only.
    channel: str = ""
    model_code: str = ""
    grade: str = ""
    budget_min_fen: int | None = None
    budget_max_fen: int | None = None
    timeframe: str = ""
    payment_intention: str = ""
    source_ref: str = ""
    comments: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


_GENDERS = {
    "男": "male",
    "m": "male",
    "male": "male",
    "先生": "male",
    "女": "female",
    "f": "female",
    "female": "female",
    "女士": "female",
}
_KINDS = {
    "person": "person",
    "个人": "person",
    "company": "company",
    "公司": "company",
    "企业": "company",
    "单位": "company",
}
_CHANNELS = {
    **{c: c for c in CHANNELS},
    "walkin": "walk_in",
    "到店": "walk_in",
    "展厅": "walk_in",
    "自然到店": "walk_in",
    "来电": "phone",
    "电话": "phone",
    "call": "phone",
    "官网": "website",
    "网站": "website",
    "web": "website",
    "汽车之家": "autohome",
    "之家": "autohome",
    "易车": "yiche",
    "易车网": "yiche",
    "bitauto": "yiche",
    "懂车帝": "dongchedi",
    "转介绍": "referral",
    "老带新": "referral",
    "介绍": "referral",
    "营销活动": "campaign",
    "市场活动": "campaign",
    "短信营销": "campaign",
    "活动": "event",
    "车展": "event",
    "试驾会": "event",
}
_TIMEFRAMES = {
    **{t: t for t in TIMEFRAMES},
    "7天内": "within_7_days",
    "一周内": "within_7_days",
    "1周内": "within_7_days",
    "15天内": "within_15_days",
    "半个月内": "within_15_days",
    "两周内": "within_15_days",
    "30天内": "within_30_days",
    "一个月内": "within_30_days",
    "1个月内": "within_30_days",
    "两个月内": "within_90_days",
    "三个月内": "within_90_days",
    "3个月内": "within_90_days",
    "90天内": "within_90_days",
    "半年内": "over_90_days",
    "六个月内": "over_90_days",
    "6个月内": "over_90_days",
    "半年以上": "over_90_days",
    "一年内": "over_90_days",
    "一年以上": "over_90_days",
    "三个月以上": "over_90_days",
    "不确定": "unknown",
    "未定": "unknown",
    "待定": "unknown",
}
_PAYMENTS = {
    **{p: p for p in PAYMENT_INTENTIONS},
    "全款": "cash",
    "现金": "cash",
    "一次性": "cash",
    "一次性付款": "cash",
    "贷款": "loan",
    "按揭": "loan",
    "分期": "loan",
    "车贷": "loan",
    "租赁": "lease",
    "融资租赁": "lease",
    "以租代购": "lease",
}
_BUDGET_NUMBER = r"(\d+(?:\.\d+)?)\s*(万|w|万元|元)?"
_BUDGET = re.compile(rf"^{_BUDGET_NUMBER}(?:\s*(?:-|~|～|至|到|—)\s*{_BUDGET_NUMBER})?$", re.I)
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


def _lookup(table: Mapping[str, str], text: str) -> str | None:
    return table.get(text.strip().lower().replace(" ", "").replace("-", "_"))


def _yuan_to_fen(number: str, unit: str | None, other_unit: str | None) -> int | None:
    value = float(number)
    unit = (unit or other_unit or "").lower()
    if unit in ("万", "w", "万元"):
        value *= 10_000
    elif value < 1_000:
        return None
    return round(value * 100)


def parse_budget(text: str) -> tuple[int, int]:
    """`15-20万` -> (15,000,000, 20,000,000) fen; one figure is both the minimum and maximum."""
    cleaned = text.replace(",", "").replace("，", "").replace("¥", "").replace("￥", "").strip()
    match = _BUDGET.match(cleaned)
    if match is None:
        raise ValueError(f"{text!r} is not a budget; write 150000, 15万 or 15-20万.")
    low_n, low_u, high_n, high_u = match.groups()
    # "15-20万": the unit after the upper figure applies to the lower one too.
    low = _yuan_to_fen(low_n, low_u, high_u)
    high = _yuan_to_fen(high_n, high_u, low_u) if high_n is not None else low
    if low is None or high is None:
        raise ValueError(
            f"Budget {text!r} is ambiguous: a figure under 1,000 needs 万 (15万) or the full "
            f"amount in yuan (150000)."
        )
    if high < low:
        raise ValueError(f"Budget {text!r} runs from more to less; write the lower figure first.")
    return low, high


def parse_date(text: str) -> date:
    text = text.strip()
    if re.fullmatch(r"\d{8}", text):
        text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    match = _DATE.match(text.split(" ")[0] if "年" not in text else text)
    if match is None:
        raise ValueError(f"{text!r} is not a date; write YYYY-MM-DD, like 1990-05-17.")
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a real date.") from exc


def cell_text(value: Any) -> str:
    """A spreadsheet cell as the text a person sees: 13800138000.0 -> "13800138000",
    a datetime -> its date, None -> ""."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value).strip()


def check_row(
    kind: str, row: int, cells: Mapping[str, str], *, today: date | None = None
) -> tuple[ImportRow | None, list[RowError]]:
    """Check one row; every problem in it is reported, not just the first. `today` (the store's
    business date) bounds birthdays."""
    errors: list[RowError] = []

    def fail(fieldname: str, rule: str, message: str) -> None:
        errors.append(RowError(row, fieldname, rule, message))

    def text(key: str, limit: int) -> str:
        value = cells.get(key, "").strip()
        if len(value) > limit:
            fail(key, "length", f"{key} is longer than {limit} characters.")
            return ""
        return value

    name = text("name", 200)
    if not name and "name" not in {e.field for e in errors}:
        fail("name", "required", "姓名 (name) is empty.")
    mobile = ""
    try:
        mobile = normalise_mobile(cells.get("mobile", ""))
    except InvalidInput as exc:
        fail("mobile", _rule(exc, "mobile_format"), exc.detail)
    national_id = ""
    if cells.get("national_id", "").strip():
        try:
            national_id = check_national_id(cells["national_id"])
        except InvalidInput as exc:
            fail("national_id", _rule(exc, "id_format"), exc.detail)
    gender = ""
    if raw := cells.get("gender", "").strip():
        gender = _lookup(_GENDERS, raw) or ""
        if not gender:
            fail("gender", "enum", f"性别 {raw!r} is not 男/女 (male/female).")
    birthday: date | None = None
    if raw := cells.get("birthday", "").strip():
        try:
            birthday = parse_date(raw)
            check_birthday(
                birthday,
                today=today or date.max,
                national_id_birthday=birthday_of(national_id) if national_id else None,
            )
        except ValueError as exc:
            fail("birthday", "date", str(exc))
        except InvalidInput as exc:
            fail("birthday", _rule(exc, "range"), exc.detail)
    elif national_id:
        birthday = birthday_of(national_id)
    wechat_id = ""
    try:
        wechat_id = check_wechat_id(cells.get("wechat_id", ""))
    except InvalidInput as exc:
        fail("wechat_id", _rule(exc, "wechat_format"), exc.detail)
    kind_value = "person"
    if raw := cells.get("kind", "").strip():
        kind_value = _lookup(_KINDS, raw) or ""
        if not kind_value:
            fail("kind", "enum", f"客户类型 {raw!r} is not person/个人 or company/公司.")
    result = ImportRow(
        row=row,
        name=name,
        mobile=mobile,
        national_id=national_id,
        gender=gender,
        birthday=birthday,
        city=text("city", 60),
        wechat_id=wechat_id,
        kind=kind_value or "person",
        consultant=text("consultant", 120),
    )
    if kind == LEADS:
        _check_lead(cells, result, fail, text)
    return (None, errors) if errors else (result, errors)


def _check_lead(cells: Mapping[str, str], result: ImportRow, fail: Any, text: Any) -> None:
    raw = cells.get("channel", "").strip()
    if not raw:
        fail("channel", "required", "渠道 (channel) is empty; say where the lead came from.")
    else:
        result.channel = _lookup(_CHANNELS, raw) or ""
        if not result.channel:
            fail("channel", "enum", f"渠道 {raw!r} is not a known channel ({', '.join(CHANNELS)}).")
    if raw := cells.get("grade", "").strip():
        grade = raw.upper().removesuffix("级").strip()
        if grade not in GRADES:
            fail("grade", "enum", f"意向级别 {raw!r} is not one of H, A, B, C, N.")
        else:
            result.grade = grade
    if raw := cells.get("budget", "").strip():
        try:
            result.budget_min_fen, result.budget_max_fen = parse_budget(raw)
        except ValueError as exc:
            fail("budget", "budget", str(exc))
    if raw := cells.get("timeframe", "").strip():
        result.timeframe = _lookup(_TIMEFRAMES, raw) or ""
        if not result.timeframe:
            fail(
                "timeframe",
                "enum",
                f"购买时间 {raw!r} is not one of 7天内, 半个月内, 一个月内, 三个月内, "
                "半年以上, 不确定.",
            )
    if raw := cells.get("payment_intention", "").strip():
        result.payment_intention = _lookup(_PAYMENTS, raw) or ""
        if not result.payment_intention:
            fail("payment_intention", "enum", f"付款方式 {raw!r} is not 全款, 贷款 or 租赁.")
    result.model_code = text("model_code", 60)
    result.source_ref = text("source_ref", 120)
    result.comments = text("comments", 2000)


def _rule(exc: InvalidInput, default: str) -> str:
    for error in exc.errors or ():
        if "rule" in error:
            return str(error["rule"])
    return default


# --- labels exports write (and imports read back) -----------------------------------------------

CHANNEL_LABELS = {
    "walk_in": "到店",
    "phone": "来电",
    "website": "官网",
    "autohome": "汽车之家",
    "yiche": "易车",
    "dongchedi": "懂车帝",
    "referral": "转介绍",
    "campaign": "营销活动",
    "event": "活动",
}
TIMEFRAME_LABELS = {
    "within_7_days": "7天内",
    "within_15_days": "半个月内",
    "within_30_days": "一个月内",
    "within_90_days": "三个月内",
    "over_90_days": "三个月以上",
    "unknown": "不确定",
}
PAYMENT_LABELS = {"cash": "全款", "loan": "贷款", "lease": "租赁"}
GENDER_LABELS = {"male": "男", "female": "女"}
KIND_LABELS = {"person": "个人", "company": "公司"}
STATUS_LABELS = {
    "new": "新线索",
    "contacted": "已联系",
    "invited": "已邀约",
    "visited": "已到店",
    "test_drive": "已试驾",
    "quoted": "已报价",
    "won": "成交",
    "lost": "战败",
    "invalid": "无效",
}


def budget_text(low_fen: int | None, high_fen: int | None) -> str:
    """A budget as yuan (`150000-200000`), which `parse_budget` reads back."""
    if low_fen is None and high_fen is None:
        return ""
    low = (low_fen if low_fen is not None else high_fen) or 0
    high = (high_fen if high_fen is not None else low_fen) or 0
    low_yuan, high_yuan = low // 100, high // 100
    return str(low_yuan) if low_yuan == high_yuan else f"{low_yuan}-{high_yuan}"


# --- dedupe within the file ------------------------------------------------------------------


@dataclass(frozen=True)
class InFileDuplicate:
    row: int
    duplicate_of_row: int
    by: str  # mobile | national_id


def dedupe_in_file(rows: Sequence[ImportRow]) -> tuple[list[ImportRow], list[InFileDuplicate]]:
    """Keep the first row of each person (same mobile or same ID number); report the others."""
    by_mobile: dict[str, int] = {}
    by_id: dict[str, int] = {}
    kept: list[ImportRow] = []
    duplicates: list[InFileDuplicate] = []
    for r in rows:
        if r.mobile in by_mobile:
            duplicates.append(InFileDuplicate(r.row, by_mobile[r.mobile], "mobile"))
            continue
        if r.national_id and r.national_id in by_id:
            duplicates.append(InFileDuplicate(r.row, by_id[r.national_id], "national_id"))
            continue
        by_mobile[r.mobile] = r.row
        if r.national_id:
            by_id[r.national_id] = r.row
        kept.append(r)
    return kept, duplicates


# --- background import jobs ----------------------------------------------------------------

# queued -> running -> done | failed. A running job whose worker stopped sending heartbeats is
# taken again (running -> running, a new attempt); a failed attempt goes back to queued until
# MAX_ATTEMPTS, then the job fails.
QUEUED = "queued"
RUNNING = "running"
DONE = "done"
FAILED = "failed"
JOB_STATUSES = (QUEUED, RUNNING, DONE, FAILED)

# Rows written per transaction; each chunk commits with the job's progress, so a worker that dies
# loses at most one chunk of work and the next attempt resumes after the last committed chunk.
CHUNK_ROWS = 500
MAX_ATTEMPTS = 3


def runs_as_job(kind: str, rows: int, size: int) -> bool:
    """A file past the synchronous limits (rows or bytes) is imported in the background."""
    return rows > ROW_LIMITS[kind] or size > SYNC_MAX_FILE_BYTES
