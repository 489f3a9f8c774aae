"""A year of CRM demo data for the demo dealer group (`marque seed`, `marque up`): leads from every
channel in the six demo stores, worked through the funnel by the stores' consultants, with their
customers, consents, follow-up tasks, a few complaints and a campaign.

What it holds, store by store and month by month (the twelve months that end with this one):

- about 20 leads a month at a store of size 1.0 (Shanghai 1.3 ... Wuhan 0.7), more in March-April,
  September-October (金九银十) and December, fewer around the Spring Festival; channels: walk-in
  ~25 %, phone ~15 %, website ~10 %, 汽车之家 ~20 %, 易车 ~10 %, 懂车帝 ~10 %, referral ~5 %,
  campaign/event ~5 %. Portal leads carry the portal's lead id. A few people enquire twice (the
  one-open-lead rule attaches the repeat to their open lead, or a new lead follows a closed one).
- the funnel, of all leads: ~60 % contacted, ~35 % invited (walk-ins count as invited and
  visited), ~25-30 % visited, ~15 % test drive, ~12 % quoted, ~6-8 % won, ~40 % lost (most of
  them never answered the phone), ~10 % invalid; leads whose next step lies in the future are
  still open. Consultants re-grade leads as they warm up (test drive → A, quote → H) or cool off
  (a month without progress → C).
- consultants per store (`STAFF`): the gateway's demo users where they exist (`demo-sh-consultant`
  is 张伟, sh.consultant) and a few more; one consultant per store was on leave for ten days, and
  received no leads meanwhile. Assignment is the stores' round robin.
- marketing consent: ~60 % SMS, ~35 % WeChat, given with the lead (a few later withdrawn); a won
  customer is handed to their consultant (owner); a few complaints (投诉) after delivery, the
  older ones resolved and closed; one segment and a draft launch campaign in Shanghai.

Everything goes through the service's own code (`leads_service.create_lead`, the one customer
door, assignment, the funnel moves, tasks, consents, complaints) on a simulated clock, so dedupe,
assignment and the follow-up rhythm apply as they would have. Follow-ups due before a lead's next
step count as done (state, like the rest of the seed); an open lead's overdue follow-up is
completed through `tasks_service.complete`, which books the next one. Follow-ups still due
before now are marked as already announced, so the sweeper does not send a year of reminders.

Demo data is reference state, not business events (decision 0006): the demo's unit of work
deletes the outbox rows its own transaction wrote before it commits, so the relay publishes
nothing from the seed.

Deterministic and idempotent: every store-month draws from `random.Random("2026:<store>:<month>")`
and each person from their own (store, month, number), so a month looks the same whichever window
it falls in. A store-month is written in one transaction that starts with its first portal lead
(a fixed lead id, `AH-SH01-202603-0007`); a second run finds that lead and skips the month. A
second run creates nothing.
"""

from __future__ import annotations

import asyncio
import calendar
import multiprocessing
import random
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from marque_crm import (
    complaints_service,
    customers_service,
    leads_service,
    marketing_service,
    tasks_service,
)
from marque_crm.domain.business_time import add_business_minutes
from marque_crm.domain.campaigns import FrequencyCap
from marque_crm.domain.contact import with_id_check_digit
from marque_crm.domain.leads import LeadDetails, TradeIn
from marque_crm.domain.store_rules import BusinessHours
from marque_crm.models import Campaign, Consultant, Customer, Lead, Segment, Task
from marque_crm.settings import CrmSettings
from marque_crm.unit_of_work import SOURCE, Clock, Crm
from marque_kit.auth import Principal
from marque_kit.db import Database, QuietUnitOfWork, UnitOfWork

SEED = 2026
MONTHS = 12
# Leads in an average month at a store of size 1.0.
LEADS_PER_MONTH = 20
# Processes that play the stores (see `seed`).
WORKERS = 2
SEASON = {
    1: 0.9,
    2: 0.6,
    3: 1.15,
    4: 1.1,
    5: 1.0,
    6: 0.95,
    7: 0.85,
    8: 0.9,
    9: 1.2,
    10: 1.2,
    11: 1.0,
    12: 1.1,
}
HOURS = BusinessHours()


@dataclass(frozen=True)
class DemoStore:
    id: str
    city: str
    size: float
    # (national ID region code, mobile prefixes people there favour)
    region: str
    # (subject, name, role): the roster; managers receive no leads.
    staff: tuple[tuple[str, str, str], ...]


def _staff(store: str, names: Sequence[str], managers: Sequence[tuple[str, str]]) -> Any:
    consultants = tuple(
        (f"demo-{store.lower()}-consultant-{n}", name, "consultant")
        for n, name in enumerate(names, start=1)
    )
    return consultants + tuple((s, n, "manager") for s, n in managers)


# Ids as in services/inventory/src/marque_inventory/demo_data.py STORES (copied, not imported).
STORES: tuple[DemoStore, ...] = (
    DemoStore(
        "BJ01",
        "北京",
        1.2,
        "110105",
        _staff("BJ01", ("王磊", "刘洋", "陈静", "赵敏"), [("demo-bj01-sales-manager", "孙涛")]),
    ),
    DemoStore(
        "SH01",
        "上海",
        1.3,
        "310115",
        (
            ("demo-sh-consultant", "张伟 Zhang Wei", "consultant"),
            *_staff(
                "SH01",
                ("刘芳", "陈杰", "杨静"),
                [("demo-sh-sales-manager", "李娜 Li Na"), ("demo-sh-manager", "王强 Wang Qiang")],
            ),
        ),
    ),
    DemoStore(
        "GZ01",
        "广州",
        1.0,
        "440106",
        _staff("GZ01", ("黄志强", "梁婷婷", "何俊杰"), [("demo-gz01-sales-manager", "罗敏")]),
    ),
    DemoStore(
        "CD01",
        "成都",
        0.8,
        "510107",
        _staff("CD01", ("李佳怡", "张浩", "王雨桐"), [("demo-cd01-sales-manager", "杨帆")]),
    ),
    DemoStore(
        "HZ01",
        "杭州",
        0.9,
        "330106",
        _staff("HZ01", ("沈欣怡", "徐子轩", "周晨"), [("demo-hz-manager", "黄涛 Huang Tao")]),
    ),
    DemoStore(
        "WH01",
        "武汉",
        0.7,
        "420111",
        _staff("WH01", ("胡海燕", "郑宇航", "吴思远"), [("demo-wh01-sales-manager", "万军")]),
    ),
)

CHANNELS = (
    ("walk_in", 0.25),
    ("phone", 0.15),
    ("website", 0.10),
    ("autohome", 0.20),
    ("yiche", 0.10),
    ("dongchedi", 0.10),
    ("referral", 0.05),
    ("campaign", 0.03),
    ("event", 0.02),
)
PORTAL_PREFIX = {"autohome": "AH", "yiche": "YC", "dongchedi": "DCD"}
PORTAL_ACTOR = {
    "autohome": "partner:demo-autohome",
    "yiche": "partner:demo-yiche",
    "dongchedi": "partner:demo-dongchedi",
}
# Of the leads of a channel that are not walk-ins: reached on the phone at all, then invited.
CONTACTED = {
    "phone": 0.80,
    "website": 0.40,
    "autohome": 0.35,
    "yiche": 0.35,
    "dongchedi": 0.35,
    "referral": 0.85,
    "campaign": 0.55,
    "event": 0.75,
}
INVITED = {
    "phone": 0.30,
    "website": 0.25,
    "autohome": 0.20,
    "yiche": 0.20,
    "dongchedi": 0.20,
    "referral": 0.50,
    "campaign": 0.30,
    "event": 0.45,
}
LOST_REASONS = (
    ("bought_competitor", 0.30),
    ("price", 0.20),
    ("postponed", 0.20),
    ("no_response", 0.15),
    ("bought_elsewhere_same_brand", 0.10),
    ("financing_declined", 0.05),
)
CONSENT_SOURCE = {
    "walk_in": "到店登记表 showroom form",
    "phone": "来电录音确认 recorded call",
    "website": "官网留资勾选 website form",
    "autohome": "汽车之家留资授权 Autohome opt-in",
    "yiche": "易车留资授权 Yiche opt-in",
    "dongchedi": "懂车帝留资授权 Dongchedi opt-in",
    "referral": "转介绍登记 referral form",
    "campaign": "活动报名表 campaign sign-up",
    "event": "车展登记表 auto show form",
}
# (model code, budget low, high in 万元, weight)
MODELS = (
    ("BYD-HAN", 17, 23, 0.10),
    ("BYD-SONG", 14, 18, 0.12),
    ("BYD-SEAL", 18, 25, 0.08),
    ("TSL-M3", 22, 30, 0.07),
    ("TSL-MY", 24, 32, 0.09),
    ("VW-LAVIDA", 10, 14, 0.09),
    ("VW-PASSAT", 18, 24, 0.06),
    ("VW-ID4X", 17, 22, 0.05),
    ("TYT-CAMRY", 18, 25, 0.08),
    ("TYT-RAV4", 17, 24, 0.07),
    ("BMW-3", 28, 38, 0.05),
    ("BMW-X3", 38, 48, 0.04),
    ("LI-L6", 24, 28, 0.05),
    ("LI-L9", 40, 46, 0.05),
)
TIMEFRAMES_WALK_IN = (
    ("within_7_days", 0.2),
    ("within_15_days", 0.2),
    ("within_30_days", 0.25),
    ("within_90_days", 0.2),
    ("over_90_days", 0.1),
    ("unknown", 0.05),
)
TIMEFRAMES_ONLINE = (
    ("within_7_days", 0.06),
    ("within_15_days", 0.1),
    ("within_30_days", 0.22),
    ("within_90_days", 0.3),
    ("over_90_days", 0.14),
    ("unknown", 0.18),
)
TRADE_INS = (
    ("大众", "朗逸"),
    ("丰田", "卡罗拉"),
    ("本田", "思域"),
    ("日产", "轩逸"),
    ("别克", "英朗"),
    ("吉利", "帝豪"),
    ("长安", "CS75"),
    ("哈弗", "H6"),
)
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛"
)
GIVEN = (
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀兰",
    "霞",
    "平",
    "刚",
    "桂英",
    "建华",
    "文",
    "华",
    "红",
    "建国",
    "宇",
    "浩",
    "欣怡",
    "子轩",
    "梓涵",
    "一诺",
    "宇航",
    "思远",
    "雨桐",
    "俊杰",
    "晓东",
    "海燕",
    "志强",
    "婷婷",
    "佳怡",
    "家豪",
    "晨",
    "博",
    "鑫",
    "颖",
    "嘉怡",
    "振华",
    "丽娟",
)
COMPANIES = ("贸易有限公司", "科技有限公司", "物流有限公司", "建设工程有限公司", "餐饮管理有限公司")
MOBILE_PREFIXES = (
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "153",
    "155",
    "156",
    "158",
    "159",
    "177",
    "180",
    "181",
    "185",
    "186",
    "187",
    "188",
    "189",
    "199",
)
COMPLAINTS = (
    ("delivery", "medium", "交车比约定晚了一周 Delivery a week later than promised"),
    ("sales_promise", "high", "承诺的精品礼包未兑现 Promised accessory pack not delivered"),
    ("pricing", "low", "对上牌服务费有异议 Disputes the registration service fee"),
    ("vehicle_quality", "high", "新车异响 Rattle in a new car"),
)


# --- the plan (pure: a month of a store, drawn from its own random stream) --------------------


@dataclass(frozen=True)
class Person:
    name: str
    mobile: str
    kind: str = "person"
    national_id: str = ""
    gender: str = ""
    city: str = ""
    wechat_id: str = ""


@dataclass
class Step:
    at: datetime
    to: str  # a status, or "grade:X" (the consultant re-grades the lead)
    reason: str = ""


@dataclass
class PlannedLead:
    n: int
    created_at: datetime
    channel: str
    person: Person
    details: LeadDetails
    source_ref: str = ""
    steps: list[Step] = field(default_factory=list)
    sms: bool = False
    wechat: bool = False
    sms_withdrawn_at: datetime | None = None
    complaint: tuple[str, str, str, datetime] | None = None


def _pick(rng: random.Random, weighted: Sequence[tuple[Any, ...]]) -> Any:
    """A value from (value, ..., weight) rows."""
    return rng.choices([w[0] for w in weighted], weights=[w[-1] for w in weighted])[0]


def month_key(month: date) -> str:
    return f"{month.year}{month.month:02d}"


def person(store: DemoStore, month: date, n: int) -> Person:
    """The person behind lead `n` of the store-month; the same whenever asked."""
    rng = random.Random(f"{SEED}:{store.id}:{month_key(month)}:person:{n}")
    surname = rng.choice(SURNAMES)
    name = surname + rng.choice(GIVEN)
    mobile = rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
    city = (
        store.city if rng.random() < 0.85 else rng.choice(("苏州", "天津", "佛山", "嘉兴", "重庆"))
    )
    if rng.random() < 0.03:
        return Person(
            f"{store.city}{surname}氏{rng.choice(COMPANIES)}", mobile, "company", city=city
        )
    male = rng.random() < 0.62
    national_id = ""
    if rng.random() < 0.3:
        born = date(rng.randint(1965, 2002), rng.randint(1, 12), rng.randint(1, 28))
        serial = rng.randrange(50) * 2 + (1 if male else 0)
        national_id = with_id_check_digit(
            f"{store.region}{born:%Y%m%d}{rng.randrange(10)}{serial:02d}"
        )
    wechat = ""
    if rng.random() < 0.4:
        handle = rng.choice(("wx", "car", "auto", "lucky", "sun", "tiger"))
        wechat = f"{handle}_{rng.randrange(10**6):06d}"
    return Person(
        name,
        mobile,
        national_id=national_id,
        gender="male" if male else "female",
        city=city,
        wechat_id=wechat,
    )


def _local(day: date, hour: float, zone: ZoneInfo) -> datetime:
    minutes = int(hour * 60)
    return datetime.combine(day, dtime(minutes // 60, minutes % 60), tzinfo=zone).astimezone(UTC)


def _arrival(rng: random.Random, channel: str, day: date, zone: ZoneInfo) -> datetime:
    if channel in ("walk_in", "event"):
        hour = rng.uniform(9.5, 17.5)
    elif channel == "phone":
        hour = rng.uniform(9.0, 18.5) if rng.random() < 0.9 else rng.uniform(18.5, 21.0)
    else:  # online: the evening is busiest
        hour = rng.choice((rng.uniform(8, 12), rng.uniform(12, 18), rng.uniform(18, 23.5)))
    return _local(day, hour, zone)


def _later(
    at: datetime, rng: random.Random, zone: ZoneInfo, lo_days: int, hi_days: int
) -> datetime:
    """A business moment `lo_days`..`hi_days` days after `at`."""
    day = at.astimezone(zone).date() + timedelta(days=rng.randint(lo_days, hi_days))
    moment = _local(day, rng.uniform(9.5, 17.5), zone)
    return max(moment, at + timedelta(minutes=5))


def _story(rng: random.Random, channel: str, created: datetime, zone: ZoneInfo) -> list[Step]:
    """How the lead went: the funnel steps, re-grades and how it closed (see the docstring)."""
    steps: list[Step] = []
    if channel == "walk_in":
        t = created
        if rng.random() < 0.02:
            return [Step(created + timedelta(hours=1), "invalid", "not_a_buyer")]
        test_drive, quote, win = 0.44, 0.85, 0.55
    else:
        if rng.random() >= CONTACTED[channel]:
            if rng.random() < 0.2:
                reason = rng.choice(("wrong_number", "test_or_spam"))
                at = add_business_minutes(created, rng.randint(10, 600), HOURS, zone)
                return [Step(at, "invalid", reason)]
            return [Step(_later(created, rng, zone, 3, 10), "lost", "no_response")]
        delay = rng.randint(2, 15) if channel == "phone" else rng.randint(5, 90)
        t = add_business_minutes(created, delay, HOURS, zone)
        steps.append(Step(t, "contacted"))
        if rng.random() < 0.05:
            reason = rng.choice(("not_a_buyer", "duplicate"))
            return [*steps, Step(_later(t, rng, zone, 0, 3), "invalid", reason)]
        if rng.random() < INVITED[channel]:
            t = _later(t, rng, zone, 1, 5)
            steps.append(Step(t, "invited"))
            if rng.random() < 0.42:
                t = _later(t, rng, zone, 1, 7)
                steps.append(Step(t, "visited"))
                test_drive, quote, win = 0.85, 0.8, 0.6
            else:
                test_drive = quote = win = 0.0
        else:
            test_drive = quote = win = 0.0
    if test_drive and rng.random() < test_drive:
        t = t + timedelta(minutes=rng.randint(30, 90))
        steps += [Step(t, "test_drive"), Step(t + timedelta(minutes=20), "grade:A")]
        if rng.random() < quote:
            t = (
                t + timedelta(minutes=rng.randint(60, 150))
                if rng.random() < 0.6
                else _later(t, rng, zone, 1, 5)
            )
            steps += [Step(t, "quoted"), Step(t + timedelta(minutes=10), "grade:H")]
            if rng.random() < win:
                return [*steps, Step(_later(t, rng, zone, 2, 20), "won")]
    if rng.random() < 0.25:
        return [*steps, Step(_later(t, rng, zone, 7, 45), "lost", _pick(rng, LOST_REASONS))]
    # Still open: a month without progress cools it to C.
    return [*steps, Step(_later(t, rng, zone, 30, 35), "grade:C")]


def plan_month(store: DemoStore, month: date, zone: ZoneInfo) -> list[PlannedLead]:
    """Every lead of the store-month (some may lie after now: the caller drops those)."""
    rng = random.Random(f"{SEED}:{store.id}:{month_key(month)}")
    days = calendar.monthrange(month.year, month.month)[1]
    count = round(LEADS_PER_MONTH * store.size * SEASON[month.month] * rng.uniform(0.9, 1.1))
    # Weekends bring more walk-ins (看车 on Saturday).
    weights = [1.6 if month.replace(day=d).isoweekday() >= 6 else 1.0 for d in range(1, days + 1)]
    leads: list[PlannedLead] = []
    for n in range(count):
        channel = _pick(rng, CHANNELS)
        day = month.replace(day=rng.choices(range(1, days + 1), weights=weights)[0])
        created = _arrival(rng, channel, day, zone)
        if n > 3 and rng.random() < 0.04:
            # A person who enquired before: this month, or a month or two ago.
            back = rng.randint(0, 2)
            earlier = _months_back(month, back)
            who = person(store, earlier, rng.randrange(n if back == 0 else 20))
        else:
            who = person(store, month, n)
        model, low, high, _ = MODELS[rng.choices(range(len(MODELS)), [m[3] for m in MODELS])[0]]
        walk_in = channel == "walk_in"
        trade_in = None
        if rng.random() < 0.25:
            brand, old = rng.choice(TRADE_INS)
            trade_in = TradeIn(brand, old, rng.randint(2012, 2021), rng.randrange(30, 180) * 1000)
        details = LeadDetails(
            model_code=model,
            budget_min_fen=low * 1_000_000 if rng.random() < 0.7 else None,
            budget_max_fen=high * 1_000_000 if rng.random() < 0.7 else None,
            timeframe=_pick(rng, TIMEFRAMES_WALK_IN if walk_in else TIMEFRAMES_ONLINE),
            payment_intention=_pick(
                rng, (("cash", 0.4), ("loan", 0.45), ("lease", 0.05), ("", 0.1))
            ),
            trade_in=trade_in,
        )
        prefix = PORTAL_PREFIX.get(channel)
        lead = PlannedLead(
            n=n,
            created_at=created,
            channel=channel,
            person=who,
            details=details,
            source_ref=f"{prefix}-{store.id}-{month_key(month)}-{n:04d}" if prefix else "",
            steps=_story(rng, channel, created, zone),
            sms=rng.random() < 0.6,
            wechat=rng.random() < 0.35,
        )
        if lead.sms and rng.random() < 0.05:
            lead.sms_withdrawn_at = _later(created, rng, zone, 10, 90)
        if lead.steps and lead.steps[-1].to == "won" and rng.random() < 0.12:
            category, severity, summary = rng.choice(COMPLAINTS)
            lead.complaint = (
                category,
                severity,
                summary,
                _later(lead.steps[-1].at, rng, zone, 5, 40),
            )
        leads.append(lead)
    leads.sort(key=lambda p: (p.created_at, p.n))
    return leads


def _months_back(month: date, k: int) -> date:
    index = month.year * 12 + month.month - 1 - k
    return date(index // 12, index % 12 + 1, 1)


def window(today: date) -> list[date]:
    """First days of the twelve months that end with this one."""
    return [_months_back(today.replace(day=1), k) for k in range(MONTHS - 1, -1, -1)]


# --- the simulated clock and the quiet unit of work ----------------------------------------------


class DemoClock(Clock):
    """A clock that says what the demo is playing: `at` is now."""

    def __init__(self, at: datetime) -> None:
        super().__init__()
        self.at = at

    def now(self) -> datetime:
        return self.at


class DemoCrm(Crm):
    def __init__(self, db: Database, settings: CrmSettings, at: datetime) -> None:
        self.demo_clock = DemoClock(at)
        super().__init__(db, settings, self.demo_clock)

    def at(self, moment: datetime) -> None:
        self.demo_clock.at = moment

    def uow(self) -> UnitOfWork:
        return QuietUnitOfWork(self.db, source=SOURCE)


def consultant(store: DemoStore, subject: str) -> Principal:
    return Principal(subject=subject, roles=("sales_consultant",), stores=(store.id,))


def manager(store: DemoStore) -> Principal:
    subject = next(s for s, _, role in store.staff if role == "manager")
    return Principal(subject=subject, roles=("sales_manager",), stores=(store.id,))


# --- playing a store-month -------------------------------------------------------------------


@dataclass
class Tally:
    leads: int = 0
    attached: int = 0
    months: int = 0
    skipped_months: int = 0
    complaints: int = 0

    def add(self, other: Tally) -> None:
        for name in ("leads", "attached", "months", "skipped_months", "complaints"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


async def _roster(db: Database, stores: Sequence[DemoStore], months: Sequence[date]) -> None:
    """The stores' consultants and managers; the last consultant of each store took ten days of
    leave in the window's fifth month (they received no leads meanwhile)."""
    leave = months[min(4, len(months) - 1)]
    rows = []
    for store in stores:
        consultants = [s for s, _, role in store.staff if role == "consultant"]
        for subject, name, role in store.staff:
            away = subject == consultants[-1]
            rows.append(
                {
                    "store_id": store.id,
                    "subject": subject,
                    "name": name,
                    "role": role,
                    "on_duty": True,
                    "on_leave_from": leave.replace(day=8) if away else None,
                    "on_leave_until": leave.replace(day=17) if away else None,
                    "updated_by": "marque seed",
                    "version": 1,
                }
            )
    async with db.session() as session, session.begin():
        await session.execute(pg_insert(Consultant).values(rows).on_conflict_do_nothing())


async def _seeded(session: AsyncSession, lead: PlannedLead) -> bool:
    found = await session.execute(
        select(col(Lead.id)).where(
            col(Lead.channel) == lead.channel, col(Lead.source_ref) == lead.source_ref
        )
    )
    return found.first() is not None


async def _follow_ups_done(session: AsyncSession, lead: Lead, until: datetime) -> None:
    """Status follow-ups (call after a test drive, after a quote) due by `until` were made."""
    await session.execute(
        update(Task)
        .where(
            col(Task.lead_id) == lead.id,
            col(Task.status) == "open",
            col(Task.kind) != "grade_interval",
            col(Task.due_at) <= until,
        )
        .values(
            status="done",
            completed_at=col(Task.due_at),
            completed_by=col(Task.assignee),
            outcome="已回访 called back",
            updated_at=until,
            version=col(Task.version) + 1,
        )
    )


async def _play_lead(
    session: AsyncSession, crm: DemoCrm, store: DemoStore, plan: PlannedLead, now: datetime
) -> tuple[Lead | None, str]:
    crm.at(plan.created_at)
    who = plan.person
    found = await customers_service.find_or_create(
        session,
        crm,
        customers_service.NewCustomer(
            store_id=store.id,
            name=who.name,
            mobile=who.mobile,
            kind=who.kind,
            national_id=who.national_id,
            source=plan.channel,
            gender=who.gender,
            city=who.city,
            wechat_id=who.wechat_id,
            actor=PORTAL_ACTOR.get(plan.channel, ""),
        ),
    )
    intake = await leads_service.create_lead(
        session,
        crm,
        leads_service.NewLead(
            store_id=store.id,
            channel=plan.channel,
            name=who.name,
            mobile=who.mobile,
            kind=who.kind,
            national_id=who.national_id,
            source_ref=plan.source_ref,
            actor=PORTAL_ACTOR.get(plan.channel, ""),
            details=plan.details,
        ),
    )
    lead = intake.lead
    if intake.outcome != "created":
        return None, intake.outcome
    customer = await session.get(Customer, lead.customer_id)
    assert customer is not None
    staff = consultant(store, lead.assigned_to)
    for channel, wanted in (("sms", plan.sms), ("wechat", plan.wechat)):
        if wanted and found.created:
            await customers_service.record_consent(
                session,
                crm,
                staff,
                customer,
                channel=channel,
                granted=True,
                source=CONSENT_SOURCE[plan.channel],
                store_id=store.id,
            )
    for step in plan.steps:
        if step.at > now:
            break
        if lead.status in ("test_drive", "quoted"):
            # Only these steps book status follow-ups (call tomorrow, in two days).
            await _follow_ups_done(session, lead, step.at)
        crm.at(step.at)
        if step.to.startswith("grade:"):
            if lead.status in ("won", "lost", "invalid") or lead.grade == step.to[6:]:
                continue
            lead = await leads_service.update_lead(
                session, crm, staff, lead.id, lead.version, {"grade": step.to[6:]}
            )
            continue
        lead = await leads_service.move_lead(
            session, crm, lead, step.to, actor=lead.assigned_to, reason=step.reason
        )
        if step.to == "won":
            customer = await session.get(Customer, lead.customer_id)
            assert customer is not None
            await customers_service.update_profile(
                session,
                crm,
                manager(store),
                customer.id,
                {"owner": lead.assigned_to},
                expected_version=customer.version,
            )
    withdrawn = plan.sms_withdrawn_at
    if withdrawn is not None and withdrawn <= now and found.created:
        crm.at(withdrawn)
        await customers_service.record_consent(
            session,
            crm,
            staff,
            customer,
            channel="sms",
            granted=False,
            source="短信回复TD退订 replied TD",
            store_id=store.id,
        )
    if plan.complaint is not None and plan.complaint[3] <= now:
        await _complaint(session, crm, store, lead, plan.complaint, now)
    return lead, "created"


async def _complaint(
    session: AsyncSession,
    crm: DemoCrm,
    store: DemoStore,
    lead: Lead,
    complaint: tuple[str, str, str, datetime],
    now: datetime,
) -> None:
    category, severity, summary, at = complaint
    boss = manager(store)
    crm.at(at)
    row, _event = await complaints_service.register(
        session,
        crm,
        boss,
        complaints_service.NewComplaint(
            store_id=store.id,
            customer_id=lead.customer_id,
            category=category,
            severity=severity,
            summary=summary,
            channel="phone",
            assignee=lead.assigned_to,
        ),
    )
    if at + timedelta(days=14) > now:
        return  # still being handled
    for days, status, resolution in (
        (1, "acknowledged", None),
        (6, "resolved", "已致歉并补偿保养券 apologised, service voucher given"),
        (10, "closed", None),
    ):
        crm.at(at + timedelta(days=days))
        row = await complaints_service.change(
            session,
            crm,
            boss,
            row.id,
            row.version,
            complaints_service.ComplaintChange(status=status, resolution=resolution),
        )


async def _play_month(
    db: Database,
    settings: CrmSettings,
    store: DemoStore,
    month: date,
    now: datetime,
    tally: Tally,
) -> list[tuple[str, str]]:
    """One store-month in one transaction; returns the (lead id, consultant) still open."""
    crm = DemoCrm(db, settings, now)
    plans = [p for p in plan_month(store, month, crm.zone) if p.created_at <= now]
    if not plans:
        return []
    marker = next((p for p in plans if p.source_ref), None)
    if marker is None:
        marker = plans[0]
        marker.channel, marker.source_ref = "autohome", f"AH-{store.id}-{month_key(month)}-0000"
    plans.remove(marker)
    open_leads: list[tuple[str, str]] = []
    async with crm.uow() as uow:
        if await _seeded(uow.session, marker):
            tally.skipped_months += 1
            return []
        for plan in (marker, *plans):
            lead, outcome = await _play_lead(uow.session, crm, store, plan, now)
            tally.attached += outcome == "attached"
            if lead is not None:
                tally.leads += 1
                tally.complaints += plan.complaint is not None and plan.complaint[3] <= now
                if lead.status not in ("won", "lost", "invalid"):
                    open_leads.append((lead.id, lead.assigned_to))
        await uow.commit()
    tally.months += 1
    return open_leads


async def _keep_up(
    db: Database,
    settings: CrmSettings,
    store: DemoStore,
    leads: list[tuple[str, str]],
    now: datetime,
) -> None:
    """Open leads whose follow-up is overdue got their latest call lately: completing it books the
    next one in the grade's rhythm."""
    crm = DemoCrm(db, settings, now)
    rng = random.Random(f"{SEED}:{store.id}:keep-up")
    for lead_id, subject in leads:
        async with db.session() as session:
            task = (
                (
                    await session.execute(
                        select(Task).where(
                            col(Task.lead_id) == lead_id,
                            col(Task.status) == "open",
                            col(Task.kind) == "grade_interval",
                            col(Task.due_at) < now,
                        )
                    )
                )
                .scalars()
                .first()
            )
        if task is None:
            continue
        crm.at(max(task.due_at, now - timedelta(days=rng.uniform(0.2, 6))))
        outcome = "已电话跟进 followed up by phone"
        await tasks_service.complete(
            crm, consultant(store, subject), task.id, outcome, task.version
        )


async def _announced(db: Database, stores: Sequence[str], now: datetime) -> None:
    """Follow-ups that fell due before now were announced when they did (no reminder backlog)."""
    async with db.session() as session, session.begin():
        await session.execute(
            update(Task)
            .where(
                col(Task.store_id).in_(stores),
                col(Task.status) == "open",
                col(Task.notified_at).is_(None),
                col(Task.due_at) < now,
            )
            .values(notified_at=col(Task.due_at))
        )


async def _campaign(db: Database, settings: CrmSettings, now: datetime) -> int:
    """Shanghai's draft launch invitation for everyone interested in the Seal with SMS consent."""
    store = next(s for s in STORES if s.id == "SH01")
    boss = manager(store)
    crm = DemoCrm(db, settings, now)
    name = "海豹新款上市邀约 Seal launch invitation"
    async with crm.uow() as uow:
        exists = await uow.session.execute(
            select(col(Campaign.id)).where(col(Campaign.name) == name)
        )
        if exists.first() is not None:
            return 0
        segment = await uow.session.execute(
            select(Segment).where(col(Segment.name) == "意向海豹且同意短信 Seal, SMS consent")
        )
        found = segment.scalars().first()
        if found is None:
            found = await marketing_service.create_segment(
                uow.session,
                crm,
                boss,
                "意向海豹且同意短信 Seal, SMS consent",
                {"stores": ["SH01"], "model_interest": ["BYD-SEAL"], "consent_channel": "sms"},
            )
        await marketing_service.create_campaign(
            uow.session,
            crm,
            boss,
            marketing_service.NewCampaign(
                name=name,
                segment_id=found.id,
                channel="sms",
                template="{name}您好！比亚迪海豹新款本周六在浦东店上市品鉴，诚邀您到店试驾。回TD退订",
                cap=FrequencyCap(),
            ),
        )
        await uow.commit()
    return 1


async def _play_store(
    db: Database,
    settings: CrmSettings,
    store: DemoStore,
    months: Sequence[date],
    now: datetime,
    tally: Tally,
) -> None:
    still_open: list[tuple[str, str]] = []
    for month in months:
        still_open += await _play_month(db, settings, store, month, now, tally)
    await _keep_up(db, settings, store, still_open, now)


def store_groups(workers: int) -> list[list[str]]:
    """The stores split into `workers` groups of about equal volume (largest first)."""
    groups: list[list[DemoStore]] = [[] for _ in range(max(1, min(workers, len(STORES))))]
    for store in sorted(STORES, key=lambda s: -s.size):
        min(groups, key=lambda g: sum(s.size for s in g)).append(store)
    return [[s.id for s in group] for group in groups]


async def _play_group(
    settings: CrmSettings, store_ids: Sequence[str], months: Sequence[date], now: datetime
) -> Tally:
    stores = [s for s in STORES if s.id in store_ids]
    db = Database(settings.database_url, pool_size=len(stores) + 1)
    tally = Tally()
    try:
        await asyncio.gather(
            *(_play_store(db, settings, store, months, now, tally) for store in stores)
        )
    finally:
        await db.dispose()
    return tally


def _play(
    settings: CrmSettings, store_ids: Sequence[str], months: Sequence[date], now: datetime
) -> Tally:
    """A worker process: its stores, concurrently, on its own event loop and connections."""
    return asyncio.run(_play_group(settings, store_ids, months, now))


async def seed(settings: CrmSettings, *, workers: int = WORKERS) -> str:
    """Load the demo year into CRM's database; a second run creates nothing.

    The work is Python-bound (two cores): the stores are played in `workers` processes, each
    playing its stores concurrently; `workers=1` plays them all in this process."""
    started = time.monotonic()
    zone = ZoneInfo(settings.timezone)
    now = datetime.now(UTC)
    months = window(now.astimezone(zone).date())
    db = Database(settings.database_url, pool_size=2)
    try:
        await _roster(db, STORES, months)
        groups = store_groups(workers)
        if len(groups) == 1:
            tallies = [await _play_group(settings, groups[0], months, now)]
        else:
            loop = asyncio.get_running_loop()
            spawn = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=len(groups), mp_context=spawn) as pool:
                tallies = await asyncio.gather(
                    *(
                        loop.run_in_executor(pool, _play, settings, group, months, now)
                        for group in groups
                    )
                )
        tally = Tally()
        for part in tallies:
            tally.add(part)
        campaigns = await _campaign(db, settings, now)
        if tally.months:
            await _announced(db, [s.id for s in STORES], now)
        async with db.session() as session:
            total = (
                await session.execute(
                    select(func.count()).where(col(Lead.store_id).in_([s.id for s in STORES]))
                )
            ).scalar_one()
    finally:
        await db.dispose()
    if not tally.months and not campaigns:
        return f"(already loaded: {total:,} leads in the demo stores)"
    return (
        f"{tally.leads:,} leads ({tally.attached} repeat enquiries attached), "
        f"{tally.complaints} complaints, {campaigns} campaign for {len(STORES)} stores, "
        f"{months[0]:%Y-%m}..{months[-1]:%Y-%m}; {tally.skipped_months} store-months were "
        f"there already ({total:,} leads in the demo stores; {time.monotonic() - started:.1f} s)"
    )
