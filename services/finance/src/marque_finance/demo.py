"""A year of plausible books for the demo dealer group (`marque seed`, `marque up`), so that the
reports mean something.

Six stores, the twelve months that end with last month (business dates in Asia/Shanghai), each
store-month with what a Chinese 4S store's books hold, scaled down to about nine new cars and
eight repair orders a store-month so that the year (about 8,000 entries) loads in under a minute:

- new vehicles from the OEM (the inventory posting rule, the OEM payable; from the third month a
  floor-plan loan per vehicle, 库存融资), most sold within one to three months: a deposit on the
  sales order (定金), the invoice (vehicle at cost + 2-6 %, accessories, insurance and loan
  commissions), the balance by bank transfer or a car loan paid out by the lender, the cost of
  sale and the floor-plan payoff; a few vehicles move between stores (调拨) before they sell;
- repair orders (维修工单): parts issued, labour and parts invoiced, paid on the spot by WeChat
  Pay, Alipay, POS or cash, or by the insurer weeks later, or never (disputed claims);
- parts deliveries and accessories bought on 30 days' terms and paid the next month (some in two
  instalments); OEM invoices of the months before floor-planning paid from the bank;
- payroll (accrued at month end, paid on the 10th), rent and the OEMs' quarterly volume rebates
  (厂家返利) as journal entries, the floor-plan interest accrued every month and paid the next,
  and expense claims (报销) filed by the staff, approved by the store manager (and HQ finance
  above the threshold) and paid;
- every month but the last closed (月结).

Everything goes through the service's own commands and posting rules, on a simulated clock
(`DemoFinance.today()` is the day being played). The work is Python-bound, so the stores are
played in two worker processes (three stores each, vehicles move within a group).

Demo data is reference state, not business events (decision 0006): the demo's unit of work drops
the events the commands record and deletes the outbox rows its own transaction wrote before it
commits, so the relay never publishes a year of demo receipts to sales and aftersales.

It is deterministic and idempotent. Random draws come from `random.Random` seeded per store and
month (2026:<store>:<month>), so a month looks the same whichever window it falls in. Every
posting has a deterministic key (`demo:<store>:<month>:<kind>:<n>`); a store-month's documents
are written in one transaction that starts by posting the month's rent under its key, so a second
run finds that key and skips the month; expense claims are found again by their invoice number,
transfers by their event keys, accruals and closes by their state. A second run posts nothing.
"""

from __future__ import annotations

import asyncio
import math
import multiprocessing
import random
import time
import zlib
from collections import defaultdict
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from marque_finance import (
    books,
    expenses_service,
    floorplan_service,
    payables_service,
    periods_service,
)
from marque_finance import receivables_service as ar
from marque_finance.demo_data import (
    ACCESSORIES_SUPPLIER,
    ACCESSORY_PACKS,
    ACCIDENT_PARTS,
    ADMIN_PAYROLL,
    AUTO_LOAN_LENDERS,
    EXPENSE_TEMPLATES,
    FLEET_BUYERS,
    GIVEN_NAMES,
    INSURERS,
    LENDERS,
    MAINTENANCE_KITS,
    PARTS,
    RENT,
    SALES_COMMISSION,
    SALES_PAYROLL,
    SEASON,
    STORE_ACCOUNTS,
    STORES,
    SURNAMES,
    TRIMS,
    WEAR_REPAIRS,
    WMI,
    DemoStore,
)
from marque_finance.domain.accounts import (
    BANK,
    COST_ACCOUNT,
    INTEREST_PAYABLE,
    INVENTORY_ACCESSORIES,
    INVENTORY_PARTS,
    BusinessLine,
)
from marque_finance.domain.expenses import ClaimStatus, Step
from marque_finance.domain.ledger import EntryDraft, Line, credit, debit, first_day, next_period
from marque_finance.domain.money import add_vat, split_vat
from marque_finance.domain.posting_rules.inventory import (
    CostedPart,
    PartsIssue,
    PartsReceipt,
    TransferArrival,
    TransferKind,
    TransferMove,
    VehicleDelivery,
    VehicleReceipt,
    drafts_for,
)
from marque_finance.domain.receivables import InvoiceLineDraft
from marque_finance.events import SOURCE
from marque_finance.models import (
    Account,
    ExpenseClaimRow,
    FloorplanLoan,
    JournalEntry,
    Lender,
    Payable,
    Period,
    StoreFloorplan,
)
from marque_finance.settings import FinanceSettings
from marque_finance.unit_of_work import Finance
from marque_kit.auth import Principal
from marque_kit.db import Database, QuietUnitOfWork, UnitOfWork

SEED = 2026
MONTHS = 12
# Volume at a store of size 1.0 in an average month (the seasons and the store's size scale it).
VEHICLES_PER_MONTH = 9
REPAIR_ORDERS_PER_MONTH = 7
EXPENSE_CLAIMS_PER_MONTH = 3
# Processes that play the stores (see `seed`).
WORKERS = 2
# The group signed its floor-plan agreements in the window's third month; vehicles that arrived
# before are paid to the OEM from the bank.
FLOORPLAN_FROM_MONTH = 2
# Opening balances at a store of size 1.0, yuan: paid-in capital in the bank and stock on hand.
OPENING_BANK = 12_000_000
OPENING_PARTS = 400_000
OPENING_ACCESSORIES = 150_000

NEW_VEHICLES = BusinessLine.NEW_VEHICLES
MANUAL = "manual"
CAPITAL = "4001"
SALARIES_PAYABLE = "2211"
YEAR_CODES = {2023: "P", 2024: "R", 2025: "S", 2026: "T", 2027: "V"}  # VIN position 10
# VIN check digit: letters' values and the positions' weights.
_VIN_VALUES = dict(zip("ABCDEFGHJKLMNPRSTUVWXYZ", map(int, "12345678123457923456789"), strict=True))
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


# --- small helpers -----------------------------------------------------------------------------


def yuan(amount: float, step: int = 1) -> int:
    """Fen from an amount in yuan, rounded to a multiple of `step` yuan (prices are quoted in
    whole yuan, car prices in hundreds)."""
    return round(amount / step) * step * 100


def vin_with_check_digit(body: str) -> str:
    """A 17-character VIN with its check digit (position 9) computed (ISO 3779 / GB 16735)."""
    total = sum(
        (int(c) if c.isdigit() else _VIN_VALUES[c]) * w
        for c, w in zip(body, _VIN_WEIGHTS, strict=True)
    )
    digit = total % 11
    return body[:8] + ("X" if digit == 10 else str(digit)) + body[9:]


def month_of(day: date) -> str:
    return f"{day:%Y-%m}"


def last_day_of(month: str) -> date:
    return first_day(next_period(month)) - timedelta(days=1)


def bank_ref(store: DemoStore, on: date, key: str) -> str:
    """A deterministic bank transaction reference (流水号) for a demo movement."""
    return f"{store.bank}{on:%Y%m%d}{zlib.crc32(key.encode()) % 1_000_000:06d}"


def window(today: date) -> list[str]:
    """The twelve months that end with the month before `today`'s, oldest first."""
    months = []
    month = month_of(today.replace(day=1) - timedelta(days=1))
    for _ in range(MONTHS):
        months.append(month)
        month = month_of(first_day(month) - timedelta(days=1))
    return months[::-1]


def _person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN_NAMES)


def _staff(store: DemoStore, slug: str, role: str) -> Principal:
    return Principal(subject=f"demo-{store.prefix}-{slug}", roles=(role,), stores=(store.id,))


def store_groups(workers: int = 1) -> list[tuple[DemoStore, ...]]:
    """The stores split over `workers` processes; vehicles move between stores of one group."""
    count = max(1, min(workers, len(STORES)))
    return [STORES[i::count] for i in range(count)]


def group_of(store: DemoStore) -> tuple[DemoStore, ...]:
    return next(g for g in store_groups(WORKERS) if store in g)


HQ_FINANCE = Principal(subject="demo-hq-finance", roles=("hq_finance",), stores=("*",))
_STORE_BY_ID = {s.id: s for s in STORES}
_TRIMS_BY_BRAND: dict[str, list[tuple[str, str, str, int]]] = defaultdict(list)
for _trim in TRIMS:
    _TRIMS_BY_BRAND[_trim[1]].append(_trim)


# --- the plan: what happens, when, where ---------------------------------------------------------


@dataclass
class Vehicle:
    store: DemoStore
    key: str
    vin: str
    brand: str
    model_code: str
    trim: str
    cost_fen: int
    arrived_on: date


@dataclass
class Deal:
    """The sale of one vehicle: the order, its deposit, the invoice and how it is paid."""

    seller: DemoStore
    vehicle: Vehicle
    sold_on: date
    ordered_on: date
    customer_id: str
    customer_name: str
    vehicle_gross: int
    deposit: int  # 0 for a fleet buyer
    accessories: tuple[str, int, int] | None  # (description, gross, cost ex VAT)
    insurance_commission: int
    loan: tuple[str, int, int] | None  # (lender, amount lent, commission)
    fleet: bool
    order_ref: str = ""

    @property
    def total(self) -> int:
        extras = (self.accessories[1] if self.accessories else 0) + self.insurance_commission
        return self.vehicle_gross + extras + (self.loan[2] if self.loan else 0)


@dataclass
class RepairOrder:
    store: DemoStore
    key: str
    reference: str
    on: date
    brand: str
    customer_id: str
    customer_name: str
    labour: tuple[str, int]  # (description, gross)
    parts: tuple[tuple[str, int], ...]  # (part number, quantity)


@dataclass
class Act:
    """One dated thing a store does; `rank` orders the acts of a day."""

    on: date
    store: DemoStore
    rank: int
    run: Callable[[Runner], Awaitable[None]]
    seq: int = 0


@dataclass
class Claim:
    store: DemoStore
    number: str  # the invoice number (发票号) on the claim: finds the claim again on a re-run
    claimant: Principal
    category: str
    description: str
    amount: int
    incurred_on: date
    pay: bool  # False: left approved and unpaid (the last month)
    approve: bool  # False: left waiting for approval (the last month)


@dataclass
class Transfer:
    vehicle: Vehicle
    to: DemoStore
    shipped_on: date
    received_on: date


@dataclass
class Plan:
    months: list[str]
    acts: dict[tuple[str, str], list[Act]] = field(default_factory=lambda: defaultdict(list))
    claims: dict[tuple[str, str], list[Claim]] = field(default_factory=lambda: defaultdict(list))
    transfers: dict[str, list[Transfer]] = field(default_factory=lambda: defaultdict(list))
    deals: list[Deal] = field(default_factory=list)
    # (store, month) -> salaries of sales and back office, technicians' time, before commissions.
    payroll: dict[tuple[str, str], tuple[int, int, int]] = field(default_factory=dict)
    # (store, quarter's last month, brand) -> what the store bought from the OEM (cost).
    purchases: dict[tuple[str, str, str], int] = field(default_factory=lambda: defaultdict(int))
    counter: int = 0

    @property
    def first(self) -> date:
        return first_day(self.months[0])

    @property
    def end(self) -> date:
        return last_day_of(self.months[-1])

    def add(
        self, on: date, store: DemoStore, rank: int, run: Callable[[Runner], Awaitable[None]]
    ) -> None:
        """Schedule an act; one dated after the window (not happened yet) is left out."""
        if self.first <= on <= self.end:
            self.counter += 1
            self.acts[(month_of(on), store.id)].append(Act(on, store, rank, run, self.counter))


def build_plan(months: list[str]) -> Plan:
    """Everything the stores do over `months`, dated; the same months give the same plan."""
    plan = Plan(months)
    for index, month in enumerate(months):
        for store in STORES:
            rng = random.Random(f"{SEED}:{store.id}:{month}")
            _plan_vehicles(plan, rng, store, month, index)
            labour = _plan_workshop(plan, rng, store, month)
            _plan_overheads(plan, rng, store, month, index, labour)
            _plan_claims(plan, rng, store, month, last=index == len(months) - 1)
    _plan_sales(plan)
    _plan_payroll(plan)
    _plan_rebates(plan)
    return plan


# Act ranks within a day: set-up, goods in, orders, sales and repairs, money in, money out, books.
SETUP, GOODS_IN, ORDERS, SALES, MONEY_IN, MONEY_OUT, BOOKS = range(7)


def _plan_vehicles(
    plan: Plan, rng: random.Random, store: DemoStore, month: str, index: int
) -> None:
    start = first_day(month)
    days = (last_day_of(month) - start).days + 1
    count = max(
        4, round(VEHICLES_PER_MONTH * store.size * SEASON[start.month] * rng.uniform(0.9, 1.1))
    )
    brands, shares = zip(*store.brands, strict=True)
    arrivals = sorted(rng.randrange(days) for _ in range(count))
    for n, offset in enumerate(arrivals, start=1):
        brand = rng.choices(brands, shares)[0]
        model_code, _, trim, cost_yuan = rng.choice(_TRIMS_BY_BRAND[brand])
        options = rng.choice((0, 0, 0, 3_000, 6_500, 8_000))
        arrived_on = start + timedelta(days=offset)
        serial = f"{arrived_on.year % 10}{arrived_on.month:02d}{n:03d}"
        # Descriptor (VDS): the model's last letters, the trim's number, a restraint-system code.
        letters = "".join(c for c in model_code.upper() if c in _VIN_VALUES or c.isdigit())
        trim_no = _TRIMS_BY_BRAND[brand].index((model_code, brand, trim, cost_yuan))
        vds = f"{letters[-3:]:X>3}{trim_no % 10}A"
        body = f"{WMI[brand]}{vds}0{YEAR_CODES[arrived_on.year]}{store.id[0]}{serial}"
        vehicle = Vehicle(
            store=store,
            key=f"demo:{store.id}:{month}:vehicle:{n}",
            vin=vin_with_check_digit(body),
            brand=brand,
            model_code=model_code,
            trim=trim,
            cost_fen=yuan(cost_yuan + options),
            arrived_on=arrived_on,
        )
        plan.add(arrived_on, store, GOODS_IN, _arrive(vehicle))
        quarter_end = f"{arrived_on.year}-{(arrived_on.month - 1) // 3 * 3 + 3:02d}"
        plan.purchases[(store.id, quarter_end, brand)] += vehicle.cost_fen
        if index < FLOORPLAN_FROM_MONTH:
            _plan_oem_payment(plan, rng, vehicle)
        fate = rng.random()
        if fate < 0.04:  # moved to another store (调拨), sold there the month after
            to = rng.choice([s for s in group_of(store) if s is not store])
            shipped = arrived_on + timedelta(days=rng.randint(5, 15))
            received = min(
                shipped + timedelta(days=rng.randint(1, 3)), last_day_of(month_of(shipped))
            )
            if shipped <= plan.end:
                plan.transfers[month_of(shipped)].append(Transfer(vehicle, to, shipped, received))
                sold_on = first_day(next_period(month_of(shipped))) + timedelta(
                    days=rng.randint(3, 40)
                )
                plan.deals.append(_deal(rng, to, vehicle, sold_on, plan.first))
        elif fate < 0.92:
            sold_on = arrived_on + timedelta(days=rng.randint(12, 80))
            plan.deals.append(_deal(rng, store, vehicle, sold_on, plan.first))
        # else: still in stock (aged stock: the floor-plan interest keeps running)


def _plan_oem_payment(plan: Plan, rng: random.Random, vehicle: Vehicle) -> None:
    """Before floor-planning the store pays the OEM from the bank, some in two instalments."""
    paid_on = vehicle.arrived_on + timedelta(days=rng.randint(18, 32))
    gross = add_vat(vehicle.cost_fen).gross
    if rng.random() < 0.2:
        first = gross * 6 // 10
        plan.add(paid_on, vehicle.store, MONEY_OUT, _pay_payable(vehicle.key, first))
        later = paid_on + timedelta(days=rng.randint(25, 40))
        plan.add(later, vehicle.store, MONEY_OUT, _pay_payable(vehicle.key, None))
    else:
        plan.add(paid_on, vehicle.store, MONEY_OUT, _pay_payable(vehicle.key, None))


def _deal(
    rng: random.Random, seller: DemoStore, vehicle: Vehicle, sold_on: date, first: date
) -> Deal:
    fleet = rng.random() < 0.04
    markup = rng.uniform(1.02, 1.06)
    vehicle_gross = yuan(vehicle.cost_fen / 100 * markup * 1.13, 100)
    if fleet:
        name = rng.choice(FLEET_BUYERS).format(city=seller.city)
        customer = f"FLEET-{seller.id}-{zlib.crc32(name.encode()) % 1000:03d}"
    else:
        name = _person(rng)
        customer = f"CUST-{seller.id}-{vehicle.vin[-7:]}"
    accessories = None
    if not fleet and rng.random() < 0.5:
        what, low, high = rng.choice(ACCESSORY_PACKS)
        gross = yuan(rng.uniform(low, high), 100)
        accessories = (what, gross, round(split_vat(gross).net * rng.uniform(0.55, 0.65)))
    insurance = yuan(rng.uniform(1_500, 4_500)) if rng.random() < 0.7 else 0
    loan = None
    if not fleet and rng.random() < 0.4:
        lent = yuan(vehicle_gross / 100 * rng.uniform(0.5, 0.7), 1000)
        loan = (rng.choice(AUTO_LOAN_LENDERS), lent, yuan(rng.uniform(2_000, 6_000)))
    ordered_on = max(sold_on - timedelta(days=rng.randint(5, 25)), first)
    return Deal(
        seller=seller,
        vehicle=vehicle,
        sold_on=sold_on,
        ordered_on=ordered_on,
        customer_id=customer,
        customer_name=name,
        vehicle_gross=vehicle_gross,
        deposit=0 if fleet else yuan(rng.choice((5_000, 10_000, 20_000))),
        accessories=accessories,
        insurance_commission=insurance,
        loan=loan,
        fleet=fleet,
    )


def _plan_sales(plan: Plan) -> None:
    """Number the sales orders per store and month, and schedule each deal's acts."""
    plan.deals.sort(key=lambda d: (d.seller.id, d.sold_on, d.vehicle.vin))
    numbers: dict[tuple[str, str], int] = defaultdict(int)
    accessories: dict[tuple[str, str], int] = defaultdict(int)
    for deal in plan.deals:
        month = month_of(deal.sold_on)
        numbers[(deal.seller.id, month)] += 1
        deal.order_ref = (
            f"SO-{deal.seller.id}-{deal.sold_on:%y%m}-{numbers[(deal.seller.id, month)]:04d}"
        )
        rng = random.Random(f"{SEED}:{deal.vehicle.key}:payments")
        if deal.deposit:
            plan.add(deal.ordered_on, deal.seller, ORDERS, _deposit(deal))
        plan.add(deal.sold_on, deal.seller, SALES, _sell(deal))
        _plan_deal_payments(plan, rng, deal)
        if deal.accessories and plan.first <= deal.sold_on <= plan.end:
            accessories[(deal.seller.id, month)] += deal.accessories[2]
    for (store_id, month), cost in sorted(accessories.items()):
        store = _STORE_BY_ID[store_id]
        bought = first_day(month)
        number = f"CPH-{store_id}-{bought:%y%m}"  # the supplier's invoice number
        net = yuan(cost * 1.08 / 100)
        plan.add(bought, store, GOODS_IN, _supplier_invoice(number, net, bought))
        paid = first_day(next_period(month)) + timedelta(days=14)
        plan.add(paid, store, MONEY_OUT, _pay_payable(number, None, by_reference=True))


def _plan_deal_payments(plan: Plan, rng: random.Random, deal: Deal) -> None:
    owed = deal.total - deal.deposit
    if deal.fleet:  # 30 % on delivery, the rest on terms; now and then late, or only in part
        first = owed * 3 // 10
        plan.add(deal.sold_on, deal.seller, MONEY_IN, _receive(deal, "bank_transfer", first, "1"))
        later = deal.sold_on + timedelta(days=rng.randint(40, 75))
        rest = owed - first
        if rng.random() < 0.3:
            rest //= 2  # the other half is disputed and still owed
        plan.add(later, deal.seller, MONEY_IN, _receive(deal, "bank_transfer", rest, "2"))
        return
    if deal.loan is not None:
        lender, lent, _ = deal.loan
        down = owed - lent
        plan.add(deal.sold_on, deal.seller, MONEY_IN, _receive(deal, "pos_card", down, "down"))
        disbursed = deal.sold_on + timedelta(days=rng.randint(3, 12))
        plan.add(
            disbursed,
            deal.seller,
            MONEY_IN,
            _receive(deal, "loan_disbursement", lent, "loan", payer=lender),
        )
        return
    plan.add(deal.sold_on, deal.seller, MONEY_IN, _receive(deal, "bank_transfer", owed, "balance"))


def _plan_payroll(plan: Plan) -> None:
    """Payroll accrued at month end (with 800 CNY commission per car delivered, 提成) and paid
    on the 10th of the next month."""
    delivered: dict[tuple[str, str], int] = defaultdict(int)
    for deal in plan.deals:
        delivered[(deal.seller.id, month_of(deal.sold_on))] += 1
    for (store_id, month), (sales, admin, workshop) in plan.payroll.items():
        store = _STORE_BY_ID[store_id]
        payroll = (sales + yuan(SALES_COMMISSION) * delivered[(store_id, month)], admin, workshop)
        end = last_day_of(month)
        plan.add(end, store, BOOKS, _journal(_payroll_accrual(store, month, end, payroll)))
        paid = first_day(next_period(month)) + timedelta(days=9)
        plan.add(paid, store, MONEY_OUT, _journal(_payroll_paid(store, month, paid, sum(payroll))))


def _plan_rebates(plan: Plan) -> None:
    """The OEMs' quarterly volume rebates (厂家返利), paid into the bank on the 25th of the month
    after the quarter and taken off the cost of new vehicles sold."""
    for (store_id, quarter_end, brand), bought in sorted(plan.purchases.items()):
        store = _STORE_BY_ID[store_id]
        on = first_day(next_period(quarter_end)) + timedelta(days=24)
        rate = random.Random(f"{SEED}:{store_id}:{quarter_end}:{brand}").uniform(0.015, 0.025)
        amount = round(bought * rate / 100) * 100
        key = f"demo:{store_id}:{month_of(on)}:rebate:{brand}"
        what = {"business_line": NEW_VEHICLES.value, "party": f"OEM:{brand}"}
        rebate = _manual(
            store,
            key,
            on,
            f"厂家返利 {brand} volume rebate, quarter ending {quarter_end}",
            debit(BANK, amount, memo=bank_ref(store, on, key), party=f"OEM:{brand}"),
            credit(COST_ACCOUNT[NEW_VEHICLES], amount, **what),
        )
        plan.add(on, store, MONEY_IN, _journal(rebate))


def _plan_workshop(plan: Plan, rng: random.Random, store: DemoStore, month: str) -> int:
    """The month's repair orders and parts deliveries; returns the labour billed (net)."""
    start = first_day(month)
    days = (last_day_of(month) - start).days + 1
    lull = 0.8 if start.month == 2 else 1.0
    count = round(REPAIR_ORDERS_PER_MONTH * store.size * lull * rng.uniform(0.85, 1.15))
    brands, shares = zip(*store.brands, strict=True)
    used: dict[str, int] = defaultdict(int)
    labour_net = 0
    for n, offset in enumerate(sorted(rng.randrange(days) for _ in range(count)), start=1):
        on = start + timedelta(days=offset)
        brand = rng.choices(brands, shares)[0]
        kind = rng.random()
        insurer = None
        if kind < 0.6:
            labour = ("工时: 常规保养 Routine service labour", yuan(rng.uniform(300, 800)))
            parts = MAINTENANCE_KITS[brand]
        elif kind < 0.85:
            labour = ("工时: 刹车/轮胎/电瓶 Wear repair labour", yuan(rng.uniform(600, 2_000)))
            parts = WEAR_REPAIRS[brand]
        else:
            panels = rng.randint(2, 5)
            labour = (
                "工时: 事故车钣喷 Accident body and paint labour",
                yuan(panels * rng.uniform(700, 1_100)),
            )
            parts = ((rng.choice(ACCIDENT_PARTS), 1), ("BODY-PAINT", panels))
            if rng.random() < 0.7:
                insurer = rng.choice(INSURERS)
        if insurer is not None:
            customer_id, name = insurer
        else:
            name = _person(rng)
            customer_id = f"CUST-{store.id}-R{start:%y%m}{n:03d}"
        order = RepairOrder(
            store=store,
            key=f"demo:{store.id}:{month}:ro:{n}",
            reference=f"RO-{store.id}-{on:%Y%m%d}-{n:04d}",
            on=on,
            brand=brand,
            customer_id=customer_id,
            customer_name=name,
            labour=labour,
            parts=parts,
        )
        for pn, qty in parts:
            used[pn] += qty
        labour_net += split_vat(labour[1]).net
        plan.add(on, store, SALES, _repair(order))
        if insurer is None:
            method = rng.choices(("wechat_pay", "alipay", "pos_card", "cash"), (45, 25, 20, 10))[0]
            plan.add(on, store, MONEY_IN, _receive_repair(order, method, on))
        elif rng.random() < 0.88:  # the insurer pays weeks later; some claims stay disputed
            paid_on = on + timedelta(days=rng.randint(25, 110))
            plan.add(paid_on, store, MONEY_IN, _receive_repair(order, "bank_transfer", paid_on))
    _plan_parts_deliveries(plan, rng, store, month, used)
    return labour_net


def _plan_parts_deliveries(
    plan: Plan, rng: random.Random, store: DemoStore, month: str, used: dict[str, int]
) -> None:
    """Three deliveries a month restock what the workshop used (at cost, a little more)."""
    if not used:
        return
    value = sum(PARTS[pn][2] * 100 * qty for pn, qty in used.items())
    top = sorted(used, key=lambda pn: -PARTS[pn][2] * used[pn])[:3]
    for k, (pn, day) in enumerate(zip(top, (1, 10, 19), strict=False), start=1):
        unit_cost = PARTS[pn][2] * 100
        quantity = max(1, math.ceil(value * rng.uniform(1.0, 1.1) / len(top) / unit_cost))
        key = f"demo:{store.id}:{month}:parts:{k}"
        on = first_day(month) + timedelta(days=day)
        receipt = PartsReceipt(
            event_id=key,
            store_id=store.id,
            part_number=pn,
            quantity=quantity,
            unit_cost_fen=unit_cost,
            reference=f"DN-{store.id}-{on:%y%m}-{k:02d}",
            received_on=on,
        )
        plan.add(on, store, GOODS_IN, _receive_parts(receipt))
        paid_on = first_day(next_period(month)) + timedelta(days=rng.randint(9, 14))
        if rng.random() < 0.2:  # half now, the rest with the next month's run
            half = add_vat(receipt.net_fen).gross // 2
            plan.add(paid_on, store, MONEY_OUT, _pay_payable(key, half))
            plan.add(paid_on + timedelta(days=30), store, MONEY_OUT, _pay_payable(key, None))
        else:
            plan.add(paid_on, store, MONEY_OUT, _pay_payable(key, None))


def _plan_overheads(
    plan: Plan, rng: random.Random, store: DemoStore, month: str, index: int, labour_net: int
) -> None:
    """The month's payroll before commissions (see `_plan_payroll`), the floor-plan interest of
    the month before paid on the 8th, and the floor-plan start. (The rent is the month's
    marker, posted first by `_store_month`.)"""
    start = first_day(month)
    if index == FLOORPLAN_FROM_MONTH:
        plan.add(start, store, SETUP, _start_floorplan())
    sales = yuan(SALES_PAYROLL * store.size * rng.uniform(0.97, 1.03))
    admin = yuan(ADMIN_PAYROLL * store.size * rng.uniform(0.98, 1.03))
    workshop = round(labour_net * rng.uniform(0.42, 0.5) / 100) * 100
    plan.payroll[(store.id, month)] = (sales, admin, workshop)
    if index > FLOORPLAN_FROM_MONTH:
        plan.add(start + timedelta(days=7), store, MONEY_OUT, _pay_interest(month))


def _plan_claims(
    plan: Plan, rng: random.Random, store: DemoStore, month: str, *, last: bool
) -> None:
    start = first_day(month)
    picks = [EXPENSE_TEMPLATES[0], *rng.sample(EXPENSE_TEMPLATES[1:], EXPENSE_CLAIMS_PER_MONTH - 1)]
    roles = {
        "sales-manager": "sales_manager",
        "consultant": "sales_consultant",
        "advisor": "service_advisor",
    }
    for n, (category, description, low, high, slug) in enumerate(picks, start=1):
        plan.claims[(month, store.id)].append(
            Claim(
                store=store,
                number=f"FP{store.id}{start:%y%m}{n:02d}",
                claimant=_staff(store, slug, roles[slug]),
                category=category,
                description=description,
                amount=yuan(rng.uniform(low, high)),
                incurred_on=start + timedelta(days=rng.randint(1, 16)),
                approve=not (last and n == 3),
                pay=not (last and n >= 2),
            )
        )


# --- the simulated clock and the quiet unit of work ----------------------------------------------


class DemoFinance(Finance):
    """Finance on a simulated clock: `today()` is the business day being played."""

    def __init__(self, db: Database, settings: FinanceSettings, day: date) -> None:
        super().__init__(db, settings)
        self.day = day

    def today(self) -> date:
        return self.day

    def uow(self) -> UnitOfWork:
        return QuietUnitOfWork(self.db, source=SOURCE)


@dataclass
class Runner:
    """What an act runs with: the store's finance on the act's day and the month's transaction."""

    finance: DemoFinance
    uow: UnitOfWork
    store: DemoStore
    on: date

    @property
    def session(self) -> AsyncSession:
        return self.uow.session

    @property
    def cashier(self) -> Principal:
        return _staff(self.store, "finance", "finance")


# --- acts ------------------------------------------------------------------------------------


def _arrive(vehicle: Vehicle) -> Callable[[Runner], Awaitable[None]]:
    async def run(r: Runner) -> None:
        fact = VehicleReceipt(
            event_id=vehicle.key,
            store_id=vehicle.store.id,
            vin=vehicle.vin,
            brand=vehicle.brand,
            model_code=vehicle.model_code,
            cost_fen=vehicle.cost_fen,
            received_on=vehicle.arrived_on,
        )
        if await _post_all(r.session, drafts_for(fact)):
            amount = add_vat(fact.cost_fen)
            await payables_service.oem_vehicle_received(
                r.session,
                r.finance,
                store_id=fact.store_id,
                vin=fact.vin,
                brand=fact.brand,
                model_code=fact.model_code,
                net_fen=amount.net,
                vat_fen=amount.vat,
                received_on=fact.received_on,
                source_event_id=vehicle.key,
            )

    return run


def _receive_parts(receipt: PartsReceipt) -> Callable[[Runner], Awaitable[None]]:
    async def run(r: Runner) -> None:
        if await _post_all(r.session, drafts_for(receipt)):
            amount = add_vat(receipt.net_fen)
            await payables_service.supplier_parts_received(
                r.session,
                r.finance,
                store_id=receipt.store_id,
                reference=receipt.reference,
                part_number=receipt.part_number,
                quantity=receipt.quantity,
                net_fen=amount.net,
                vat_fen=amount.vat,
                received_on=receipt.received_on,
                source_event_id=receipt.event_id,
            )

    return run


def _supplier_invoice(number: str, net: int, on: date) -> Callable[[Runner], Awaitable[None]]:
    async def run(r: Runner) -> None:
        await payables_service.create_supplier_invoice(
            r.session,
            r.finance,
            r.cashier,
            store_id=r.store.id,
            supplier=ACCESSORIES_SUPPLIER,
            reference=number,
            net_fen=net,
            vat_fen=None,
            account=INVENTORY_ACCESSORIES,
            issued_on=on,
            due_on=None,
            description="精品采购 Accessories bought",
        )

    return run


def _pay_payable(
    key: str, amount: int | None, *, by_reference: bool = False
) -> Callable[[Runner], Awaitable[None]]:
    """Pay the payable booked under `key` (its source event, or with `by_reference` the
    supplier's invoice number): `amount`, or what is still owed."""

    async def run(r: Runner) -> None:
        if by_reference:
            found = select(Payable).where(
                col(Payable.store_id) == r.store.id, col(Payable.reference) == key
            )
        else:
            found = select(Payable).where(col(Payable.source_event_id) == key)
        payable = (await r.session.execute(found)).scalar_one()
        outstanding = payable.gross_fen - payable.paid_fen
        pay = outstanding if amount is None else min(amount, outstanding)
        if pay <= 0:
            return
        await payables_service.pay(
            r.session,
            r.finance,
            r.cashier,
            payable.id,
            amount_fen=pay,
            paid_on=r.on,
            bank_reference=bank_ref(r.store, r.on, f"{key}:{amount}"),
        )

    return run


def _deposit(deal: Deal) -> Callable[[Runner], Awaitable[None]]:
    async def run(r: Runner) -> None:
        method = random.Random(deal.vehicle.key).choice(("wechat_pay", "alipay", "pos_card"))
        await _record(r, deal, method, deal.deposit, "deposit", payer=deal.customer_name)

    return run


def _receive(
    deal: Deal, method: str, amount: int, tag: str, *, payer: str = ""
) -> Callable[[Runner], Awaitable[None]]:
    async def run(r: Runner) -> None:
        if amount > 0:
            await _record(r, deal, method, amount, tag, payer=payer or deal.customer_name)

    return run


async def _record(r: Runner, deal: Deal, method: str, amount: int, tag: str, *, payer: str) -> None:
    key = f"{deal.vehicle.key}:{tag}"
    await ar.record_receipt(
        r.uow,
        r.finance,
        r.cashier,
        ar.RecordReceipt(
            store_id=deal.seller.id,
            customer_id=deal.customer_id,
            reference_type="sales_order",
            reference=deal.order_ref,
            method=method,
            amount=amount,
            received_on=r.on,
            payer_name=payer,
            bank_reference="" if method == "cash" else bank_ref(r.store, r.on, key),
            request_id=key,
        ),
    )


def _sell(deal: Deal) -> Callable[[Runner], Awaitable[None]]:
    """Delivery (交车): invoice, cost of sale, accessories issued, floor-plan loan paid off."""

    async def run(r: Runner) -> None:
        v = deal.vehicle
        lines = [
            InvoiceLineDraft(
                description=f"新车 {v.brand} {v.model_code} {v.trim}",
                business_line=NEW_VEHICLES,
                gross=deal.vehicle_gross,
                model_code=v.model_code,
                vin=v.vin,
            )
        ]
        if deal.accessories:
            lines.append(
                InvoiceLineDraft(deal.accessories[0], BusinessLine.ACCESSORIES, deal.accessories[1])
            )
        if deal.insurance_commission:
            lines.append(
                InvoiceLineDraft(
                    "保险代办服务费 Insurance agency service",
                    BusinessLine.INSURANCE_COMMISSION,
                    deal.insurance_commission,
                )
            )
        if deal.loan:
            lines.append(
                InvoiceLineDraft(
                    f"金融服务费 Loan arrangement ({deal.loan[0]})",
                    BusinessLine.LOAN_COMMISSION,
                    deal.loan[2],
                )
            )
        await ar.issue_invoice(
            r.uow,
            r.finance,
            r.cashier,
            ar.IssueInvoice(
                store_id=deal.seller.id,
                customer_id=deal.customer_id,
                customer_name=deal.customer_name,
                reference_type="sales_order",
                reference=deal.order_ref,
                lines=lines,
                issued_on=r.on,
                due_on=r.on + timedelta(days=60) if deal.fleet else None,
            ),
        )
        delivery = VehicleDelivery(
            event_id=f"{v.key}:delivered",
            store_id=deal.seller.id,
            vin=v.vin,
            model_code=v.model_code,
            cost_fen=v.cost_fen,
            on=r.on,
            order_ref=deal.order_ref,
        )
        await _post_all(r.session, drafts_for(delivery))
        if deal.accessories:
            cost = deal.accessories[2]
            what = {"business_line": BusinessLine.ACCESSORIES.value, "memo": deal.order_ref}
            await _post_all(
                r.session,
                [
                    _manual(
                        r.store,
                        f"{v.key}:accessories",
                        r.on,
                        f"精品出库 Accessories fitted on {deal.order_ref}",
                        debit(COST_ACCOUNT[BusinessLine.ACCESSORIES], cost, **what),
                        credit(INVENTORY_ACCESSORIES, cost, **what),
                    )
                ],
            )
        await _pay_off(r, v.vin)

    return run


async def _pay_off(r: Runner, vin: str) -> None:
    """The floor-plan loan on the vehicle, if the store has one open, is repaid from the bank."""
    loan = (
        await r.session.execute(
            select(col(FloorplanLoan.id)).where(
                col(FloorplanLoan.vin) == vin,
                col(FloorplanLoan.store_id) == r.store.id,
                col(FloorplanLoan.status) == "open",
            )
        )
    ).first()
    if loan is not None:
        await floorplan_service.pay_off(
            r.session,
            r.finance,
            r.cashier,
            vin,
            paid_on=r.on,
            bank_reference=bank_ref(r.store, r.on, f"payoff:{vin}"),
        )


def _repair(order: RepairOrder) -> Callable[[Runner], Awaitable[None]]:
    async def run(r: Runner) -> None:
        issue = PartsIssue(
            event_id=f"{order.key}:parts",
            store_id=order.store.id,
            reference=order.reference,
            lines=tuple(CostedPart(pn, qty, PARTS[pn][2] * 100) for pn, qty in order.parts),
            on=order.on,
        )
        await _post_all(r.session, drafts_for(issue))
        lines = [InvoiceLineDraft(order.labour[0], BusinessLine.SERVICE_LABOR, order.labour[1])]
        lines += [
            InvoiceLineDraft(
                f"配件 {PARTS[pn][0]} x{qty}", BusinessLine.PARTS, PARTS[pn][1] * 100 * qty
            )
            for pn, qty in order.parts
        ]
        await ar.issue_invoice(
            r.uow,
            r.finance,
            r.cashier,
            ar.IssueInvoice(
                store_id=order.store.id,
                customer_id=order.customer_id,
                customer_name=order.customer_name,
                reference_type="repair_order",
                reference=order.reference,
                lines=lines,
                issued_on=order.on,
            ),
        )

    return run


def _receive_repair(
    order: RepairOrder, method: str, on: date
) -> Callable[[Runner], Awaitable[None]]:
    async def run(r: Runner) -> None:
        gross = order.labour[1] + sum(PARTS[pn][1] * 100 * qty for pn, qty in order.parts)
        key = f"{order.key}:paid"
        await ar.record_receipt(
            r.uow,
            r.finance,
            r.cashier,
            ar.RecordReceipt(
                store_id=order.store.id,
                customer_id=order.customer_id,
                reference_type="repair_order",
                reference=order.reference,
                method=method,
                amount=gross,
                received_on=on,
                payer_name=order.customer_name,
                bank_reference="" if method == "cash" else bank_ref(order.store, on, key),
                request_id=key,
            ),
        )

    return run


def _start_floorplan() -> Callable[[Runner], Awaitable[None]]:
    async def run(r: Runner) -> None:
        lender = (
            await r.session.execute(select(Lender).where(col(Lender.name) == r.store.lender))
        ).scalar_one()
        current = await r.session.get(StoreFloorplan, r.store.id)
        if current is None or current.lender_id != lender.id:
            await floorplan_service.set_store_lender(
                r.session,
                _staff(r.store, "manager", "store_manager"),
                r.store.id,
                lender_id=lender.id,
                expected_version=None,
            )

    return run


def _pay_interest(month: str) -> Callable[[Runner], Awaitable[None]]:
    """The interest accrued so far (last month's) goes to each lender: Dr 2231 / Cr 1002."""

    async def run(r: Runner) -> None:
        rows = await r.session.execute(
            text(
                "SELECT party, SUM(credit_fen - debit_fen) FROM journal_lines "
                "WHERE store_id = :s AND account_code = :a GROUP BY party ORDER BY party"
            ),
            {"s": r.store.id, "a": INTEREST_PAYABLE},
        )
        owed = [(party, int(amount)) for party, amount in rows if amount > 0]
        if not owed:
            return
        key = f"demo:{r.store.id}:{month}:interest-paid"
        ref = bank_ref(r.store, r.on, key)
        lines = [debit(INTEREST_PAYABLE, amount, party=party) for party, amount in owed]
        lines.append(credit(BANK, sum(a for _, a in owed), memo=ref))
        await _post_all(
            r.session,
            [_manual(r.store, key, r.on, "支付库存融资利息 Floor-plan interest paid", *lines)],
        )

    return run


def _journal(draft: EntryDraft) -> Callable[[Runner], Awaitable[None]]:
    async def run(r: Runner) -> None:
        await _post_all(r.session, [draft])

    return run


def _manual(store: DemoStore, key: str, on: date, description: str, *lines: Line) -> EntryDraft:
    """A journal entry by the store's accountant (手工凭证), under a deterministic key."""
    return EntryDraft(
        store_id=store.id,
        entry_date=on,
        description=description,
        source_type=MANUAL,
        source_id=key,
        lines=lines,
        source_event_id=key,
        rule=MANUAL,
        created_by=f"user:demo-{store.prefix}-finance",
    )


def _rent(store: DemoStore, month: str) -> EntryDraft:
    on = first_day(month)
    key = f"demo:{store.id}:{month}:rent"
    amount = yuan(RENT * store.size)
    return _manual(
        store,
        key,
        on,
        f"房租 Showroom and workshop rent {month}",
        debit("6602.11", amount),
        credit(BANK, amount, memo=bank_ref(store, on, key)),
    )


def _payroll_accrual(
    store: DemoStore, month: str, on: date, payroll: tuple[int, int, int]
) -> EntryDraft:
    sales, admin, workshop = payroll
    return _manual(
        store,
        f"demo:{store.id}:{month}:payroll",
        on,
        f"计提工资 Payroll {month}: sales, back office, workshop (technicians' time on repair "
        "orders)",
        debit("6601.10", sales),
        debit("6602.10", admin),
        debit(
            COST_ACCOUNT[BusinessLine.SERVICE_LABOR],
            workshop,
            business_line=BusinessLine.SERVICE_LABOR.value,
        ),
        credit(SALARIES_PAYABLE, sales + admin + workshop),
    )


def _payroll_paid(store: DemoStore, month: str, on: date, total: int) -> EntryDraft:
    key = f"demo:{store.id}:{month}:payroll-paid"
    return _manual(
        store,
        key,
        on,
        f"发放工资 Payroll {month} paid",
        debit(SALARIES_PAYABLE, total),
        credit(BANK, total, memo=bank_ref(store, on, key)),
    )


async def _post_all(session: AsyncSession, drafts: list[EntryDraft]) -> int:
    """Post without announcing (reference state); how many were new."""
    posted = 0
    for draft in drafts:
        if await books.post(session, draft, publish=False) is not None:
            posted += 1
    return posted


# --- running it ----------------------------------------------------------------------------------


async def _setup(db: Database, settings: FinanceSettings, plan: Plan) -> None:
    """Lenders (group reference data), each store's books, its own accounts and opening balances."""
    fin = DemoFinance(db, settings, plan.first)
    async with fin.uow() as uow:
        for name, rate, basis in LENDERS:
            found = await uow.session.execute(
                select(col(Lender.id)).where(col(Lender.name) == name)
            )
            if found.first() is None:
                await floorplan_service.create_lender(
                    uow.session, HQ_FINANCE, name=name, annual_rate_bp=rate, day_count=basis
                )
        for store in STORES:
            await books.ensure_books(uow.session, store.id)
            await uow.session.execute(
                pg_insert(Account)
                .values(
                    [
                        {
                            "store_id": store.id,
                            "code": code,
                            "name": name,
                            "name_en": name_en,
                            "category": "expense",
                            "normal_side": "debit",
                            "parent_code": code.split(".")[0],
                            "from_template": False,
                        }
                        for code, name, name_en in STORE_ACCOUNTS
                    ]
                )
                .on_conflict_do_nothing()
            )
            key = f"demo:{store.id}:opening"
            bank, parts = yuan(OPENING_BANK * store.size), yuan(OPENING_PARTS * store.size)
            accessories = yuan(OPENING_ACCESSORIES * store.size)
            await _post_all(
                uow.session,
                [
                    _manual(
                        store,
                        key,
                        plan.first,
                        "期初余额 Opening balances: paid-in capital, parts and accessories stock",
                        debit(BANK, bank, memo=bank_ref(store, plan.first, key)),
                        debit(INVENTORY_PARTS, parts, business_line=BusinessLine.PARTS.value),
                        debit(
                            INVENTORY_ACCESSORIES,
                            accessories,
                            business_line=BusinessLine.ACCESSORIES.value,
                        ),
                        credit(CAPITAL, bank + parts + accessories),
                    )
                ],
            )
        await uow.commit()


async def _store_month(
    db: Database, settings: FinanceSettings, plan: Plan, store: DemoStore, month: str
) -> None:
    """The month's documents in one transaction (skipped if its rent is posted), then its
    expense claims."""
    fin = DemoFinance(db, settings, first_day(month))
    async with fin.uow() as uow:
        if await books.post(uow.session, _rent(store, month), publish=False) is not None:
            acts = sorted(plan.acts[(month, store.id)], key=lambda a: (a.on, a.rank, a.seq))
            for act in acts:
                fin.day = act.on
                await act.run(Runner(fin, uow, store, act.on))
            await uow.commit()
    for claim in plan.claims[(month, store.id)]:
        await _expense_claim(fin, claim)


async def _expense_claim(fin: DemoFinance, claim: Claim) -> None:
    """File, submit, approve (store manager; HQ finance above the threshold) and pay a claim,
    picking it up where a previous run left it."""
    store = claim.store
    async with fin.db.session() as session:
        row = (
            await session.execute(
                select(ExpenseClaimRow).where(
                    col(ExpenseClaimRow.store_id) == store.id,
                    col(ExpenseClaimRow.receipt_number) == claim.number,
                )
            )
        ).scalar_one_or_none()
    fin.day = claim.incurred_on + timedelta(days=1)
    if row is None:
        async with fin.uow() as uow:
            record = await expenses_service.create_claim(
                fin,
                uow,
                claim.claimant,
                expenses_service.NewClaim(
                    store_id=store.id,
                    category=claim.category,
                    amount_fen=claim.amount,
                    description=claim.description,
                    incurred_on=claim.incurred_on,
                    receipt_number=claim.number,
                ),
            )
            await uow.commit()
        state = record.claim
    else:
        state = expenses_service.claim_from_row(row)
    if state.status is ClaimStatus.DRAFT:
        state = (
            await expenses_service.submit_claim(
                fin, claim.claimant, state.id, expected_version=state.version
            )
        ).claim
    manager = _staff(store, "manager", "store_manager")
    day = 2
    while state.status is ClaimStatus.SUBMITTED and claim.approve:
        fin.day = claim.incurred_on + timedelta(days=day)
        approver = HQ_FINANCE if state.next_step is Step.HQ_FINANCE else manager
        state = (
            await expenses_service.approve_claim(
                fin, approver, state.id, expected_version=state.version
            )
        ).claim
        day += 1
    if state.status is ClaimStatus.APPROVED and claim.pay:
        fin.day = claim.incurred_on + timedelta(days=day + 1)
        by_bank = claim.amount > 100_000  # above 1,000 CNY by transfer, else from the till
        await expenses_service.pay_claim(
            fin,
            _staff(store, "finance", "finance"),
            state.id,
            method="bank_transfer" if by_bank else "cash",
            bank_reference=bank_ref(store, fin.day, claim.number) if by_bank else "",
            paid_on=fin.day,
            expected_version=state.version,
        )


async def _transfers(
    db: Database, settings: FinanceSettings, plan: Plan, month: str, store_ids: list[str]
) -> None:
    """Vehicles moved between stores this month: the sender pays off its floor-plan loan, both
    stores book the shipment (meeting on 1901), the receiver books the arrival."""
    for transfer in plan.transfers[month]:
        v = transfer.vehicle
        if v.store.id not in store_ids:
            continue
        fin = DemoFinance(db, settings, transfer.shipped_on)
        transfer_id = f"TR-{v.store.id}-{transfer.shipped_on:%y%m%d}-{v.vin[-4:]}"
        async with fin.uow() as uow:
            shipped = TransferMove(
                event_id=f"{v.key}:shipped",
                transfer_id=transfer_id,
                kind=TransferKind.VEHICLE,
                from_store_id=v.store.id,
                to_store_id=transfer.to.id,
                on=transfer.shipped_on,
                vin=v.vin,
                vehicle_cost_fen=v.cost_fen,
            )
            if not await _post_all(uow.session, drafts_for(shipped)):
                continue
            await _pay_off(Runner(fin, uow, v.store, transfer.shipped_on), v.vin)
            fin.day = transfer.received_on
            arrived = TransferArrival(
                event_id=f"{v.key}:received",
                transfer_id=transfer_id,
                kind=TransferKind.VEHICLE,
                from_store_id=v.store.id,
                to_store_id=transfer.to.id,
                on=transfer.received_on,
                vin=v.vin,
                vehicle_cost_fen=v.cost_fen,
            )
            await _post_all(uow.session, drafts_for(arrived))
            await uow.commit()


async def _month_end(
    db: Database, settings: FinanceSettings, store: DemoStore, month: str, close: bool, today: date
) -> None:
    """The month's floor-plan interest, then the close (月结), each once."""
    fin = DemoFinance(db, settings, first_day(next_period(month)))
    manager = _staff(store, "manager", "store_manager")
    async with fin.uow() as uow:
        await floorplan_service.accrue_month(uow.session, fin, manager, store.id, month)
        await uow.commit()
    if close:
        async with db.session() as session:
            period = await session.get(Period, (store.id, month))
        if period is None or period.status != "closed":
            fin.day = today
            await periods_service.close_period(fin, manager, store.id, month)


async def _entries(db: Database) -> int:
    async with db.session() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(JournalEntry)
            .where(col(JournalEntry.store_id).in_([s.id for s in STORES]))
        )
    return int(count or 0)


def _play(settings: FinanceSettings, store_ids: list[str], months: list[str], today: date) -> None:
    """A worker process: one group of stores through the year (its own event loop and pool)."""
    asyncio.run(_play_stores(settings, store_ids, months, today))


async def _play_stores(
    settings: FinanceSettings, store_ids: list[str], months: list[str], today: date
) -> None:
    stores = [_STORE_BY_ID[s] for s in store_ids]
    plan = build_plan(months)
    db = Database(settings.database_url, pool_size=len(stores) + 2)
    try:
        for month in months:
            await asyncio.gather(*(_store_month(db, settings, plan, s, month) for s in stores))
            await _transfers(db, settings, plan, month, store_ids)
            close = month != months[-1]
            await asyncio.gather(
                *(_month_end(db, settings, s, month, close, today) for s in stores)
            )
    finally:
        await db.dispose()


async def seed(settings: FinanceSettings, *, workers: int = WORKERS) -> str:
    """Load the demo year into finance's database; a second run posts nothing.

    The stores are played in `workers` processes (the work is Python-bound: two cores, two
    processes), each group with its own stores' transfers; `workers=1` plays them in-process."""
    started = time.monotonic()
    today = datetime.now(ZoneInfo(settings.timezone)).date()
    months = window(today)
    plan = build_plan(months)
    db = Database(settings.database_url, pool_size=2)
    try:
        before = await _entries(db)
        await _setup(db, settings, plan)
        groups = [[s.id for s in group] for group in store_groups(workers)]
        if len(groups) == 1:
            await _play_stores(settings, groups[0], months, today)
        else:
            loop = asyncio.get_running_loop()
            spawn = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=len(groups), mp_context=spawn) as pool:
                await asyncio.gather(
                    *(
                        loop.run_in_executor(pool, _play, settings, group, months, today)
                        for group in groups
                    )
                )
        after = await _entries(db)
    finally:
        await db.dispose()
    return (
        f"{after - before:,} journal entries posted for {len(STORES)} stores, "
        f"{months[0]}..{months[-1]} ({after:,} in their books, {len(plan.deals):,} vehicle sales; "
        f"{time.monotonic() - started:.1f} s)"
    )
