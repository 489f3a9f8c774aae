"""The group's chart of accounts template (会计科目表), after China's enterprise accounting codes.

Every store gets a copy when its books open; a store may add accounts of its own under these
(e.g. `6602.20` for a local expense), but never removes or renames a template account.

Sub-accounts are written `parent.NN`; balances of a parent include its sub-accounts. Revenue,
cost and inventory are split by business line so that gross profit reads off the accounts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from marque_kit.errors import InvalidInput


class Category(StrEnum):
    ASSET = "asset"  # 资产类
    LIABILITY = "liability"  # 负债类
    EQUITY = "equity"  # 所有者权益类
    REVENUE = "revenue"  # 损益类 (收入)
    EXPENSE = "expense"  # 损益类 (成本费用)


class Side(StrEnum):
    DEBIT = "debit"
    CREDIT = "credit"


NORMAL_SIDE = {
    Category.ASSET: Side.DEBIT,
    Category.EXPENSE: Side.DEBIT,
    Category.LIABILITY: Side.CREDIT,
    Category.EQUITY: Side.CREDIT,
    Category.REVENUE: Side.CREDIT,
}


class BusinessLine(StrEnum):
    NEW_VEHICLES = "new_vehicles"  # 新车
    USED_VEHICLES = "used_vehicles"  # 二手车
    PARTS = "parts"  # 配件
    SERVICE_LABOR = "service_labor"  # 维修工时
    ACCESSORIES = "accessories"  # 精品
    INSURANCE_COMMISSION = "insurance_commission"  # 保险佣金
    LOAN_COMMISSION = "loan_commission"  # 贷款佣金


@dataclass(frozen=True)
class AccountDef:
    code: str
    name: str  # the Chinese name staff read
    name_en: str
    category: Category

    @property
    def normal_side(self) -> Side:
        return NORMAL_SIDE[self.category]

    @property
    def parent_code(self) -> str:
        return self.code.rsplit(".", 1)[0] if "." in self.code else ""


# Well-known accounts the posting rules use, by name, so that no rule spells a code twice.
CASH = "1001"
BANK = "1002"
AR = "1122"
GOODS_IN_TRANSIT = "1402"
INVENTORY = "1405"
INVENTORY_NEW_VEHICLES = "1405.01"
INVENTORY_USED_VEHICLES = "1405.02"
INVENTORY_PARTS = "1405.03"
INVENTORY_ACCESSORIES = "1405.05"
INTER_STORE = "1901"  # 内部往来: one store's claim on (debit) or debt to (credit) another
SHORT_TERM_LOANS_FLOORPLAN = "2001.01"
AP = "2202"
AP_OEM = "2202.01"
AP_SUPPLIERS = "2202.02"
CUSTOMER_ADVANCES = "2203"
VAT_INPUT = "2221.01"
VAT_OUTPUT = "2221.02"
INTEREST_PAYABLE = "2231"
EMPLOYEE_CLAIMS_PAYABLE = "2241.01"
RETAINED_EARNINGS = "4104"
CURRENT_YEAR_PROFIT = "4103"
REVENUE = "6001"
OTHER_REVENUE = "6051"
COST_OF_SALES = "6401"
SELLING_EXPENSES = "6601"  # a parent: post to its sub-accounts (6601.01 ...)
ADMIN_EXPENSES = "6602"  # a parent: post to its sub-accounts (6602.01 ...)
# Expense-claim accounts (报销), one per claim category; see domain/expenses.py.
SELLING_ADVERTISING = "6601.01"  # 广告宣传费
SELLING_ENTERTAINMENT = "6601.02"  # 业务招待费
SELLING_VEHICLE = "6601.03"  # 车辆费用
ADMIN_TRAVEL = "6602.01"  # 差旅费
ADMIN_OFFICE = "6602.02"  # 办公费
ADMIN_TRAINING = "6602.03"  # 培训费
ADMIN_OTHER = "6602.09"  # 其他
FINANCE_COSTS = "6603"

_A, _L, _E, _R, _X = (
    Category.ASSET,
    Category.LIABILITY,
    Category.EQUITY,
    Category.REVENUE,
    Category.EXPENSE,
)

TEMPLATE: tuple[AccountDef, ...] = (
    AccountDef("1001", "库存现金", "Cash on hand", _A),
    AccountDef("1002", "银行存款", "Bank deposits", _A),
    AccountDef("1122", "应收账款", "Accounts receivable", _A),
    AccountDef("1123", "预付账款", "Prepayments", _A),
    AccountDef("1221", "其他应收款", "Other receivables", _A),
    AccountDef("1402", "在途物资", "Goods in transit", _A),
    AccountDef("1405", "库存商品", "Inventory", _A),
    AccountDef("1405.01", "库存商品-新车", "Inventory: new vehicles", _A),
    AccountDef("1405.02", "库存商品-二手车", "Inventory: used vehicles", _A),
    AccountDef("1405.03", "库存商品-配件", "Inventory: parts", _A),
    AccountDef("1405.05", "库存商品-精品", "Inventory: accessories", _A),
    AccountDef("1601", "固定资产", "Fixed assets", _A),
    AccountDef("1901", "内部往来", "Inter-store current account", _A),
    AccountDef("2001", "短期借款", "Short-term borrowings", _L),
    AccountDef("2001.01", "短期借款-库存融资", "Floor-plan financing", _L),
    AccountDef("2202", "应付账款", "Accounts payable", _L),
    AccountDef("2202.01", "应付账款-主机厂", "Payables: OEM", _L),
    AccountDef("2202.02", "应付账款-供应商", "Payables: suppliers", _L),
    AccountDef("2203", "预收账款", "Customer advances and deposits", _L),
    AccountDef("2211", "应付职工薪酬", "Salaries payable", _L),
    AccountDef("2221", "应交税费", "Taxes payable", _L),
    AccountDef("2221.01", "应交税费-应交增值税(进项税额)", "VAT payable: input VAT", _L),
    AccountDef("2221.02", "应交税费-应交增值税(销项税额)", "VAT payable: output VAT", _L),
    AccountDef("2231", "应付利息", "Interest payable", _L),
    AccountDef("2241", "其他应付款", "Other payables", _L),
    AccountDef("2241.01", "其他应付款-员工报销", "Other payables: employee claims", _L),
    AccountDef("4001", "实收资本", "Paid-in capital", _E),
    AccountDef("4103", "本年利润", "Current-year profit", _E),
    AccountDef("4104", "利润分配", "Retained earnings", _E),
    AccountDef("6001", "主营业务收入", "Main revenue", _R),
    AccountDef("6001.01", "主营业务收入-新车", "Revenue: new vehicles", _R),
    AccountDef("6001.02", "主营业务收入-二手车", "Revenue: used vehicles", _R),
    AccountDef("6001.03", "主营业务收入-配件", "Revenue: parts", _R),
    AccountDef("6001.04", "主营业务收入-维修工时", "Revenue: service labor", _R),
    AccountDef("6001.05", "主营业务收入-精品", "Revenue: accessories", _R),
    AccountDef("6051", "其他业务收入", "Other revenue", _R),
    AccountDef("6051.01", "其他业务收入-保险佣金", "Other revenue: insurance commission", _R),
    AccountDef("6051.02", "其他业务收入-贷款佣金", "Other revenue: loan commission", _R),
    AccountDef("6401", "主营业务成本", "Cost of sales", _X),
    AccountDef("6401.01", "主营业务成本-新车", "Cost of sales: new vehicles", _X),
    AccountDef("6401.02", "主营业务成本-二手车", "Cost of sales: used vehicles", _X),
    AccountDef("6401.03", "主营业务成本-配件", "Cost of sales: parts", _X),
    AccountDef("6401.04", "主营业务成本-维修工时", "Cost of sales: service labor", _X),
    AccountDef("6401.05", "主营业务成本-精品", "Cost of sales: accessories", _X),
    AccountDef("6601", "销售费用", "Selling expenses", _X),
    AccountDef("6601.01", "销售费用-广告宣传费", "Selling: advertising and promotion", _X),
    AccountDef("6601.02", "销售费用-业务招待费", "Selling: business entertainment", _X),
    AccountDef("6601.03", "销售费用-车辆费用", "Selling: vehicle running costs", _X),
    AccountDef("6602", "管理费用", "Administrative expenses", _X),
    AccountDef("6602.01", "管理费用-差旅费", "Admin: travel", _X),
    AccountDef("6602.02", "管理费用-办公费", "Admin: office supplies", _X),
    AccountDef("6602.03", "管理费用-培训费", "Admin: training", _X),
    AccountDef("6602.09", "管理费用-其他", "Admin: other", _X),
    AccountDef("6603", "财务费用", "Finance costs", _X),
)

TEMPLATE_BY_CODE = {a.code: a for a in TEMPLATE}

# Where each business line's revenue, cost and stock live.
REVENUE_ACCOUNT = {
    BusinessLine.NEW_VEHICLES: "6001.01",
    BusinessLine.USED_VEHICLES: "6001.02",
    BusinessLine.PARTS: "6001.03",
    BusinessLine.SERVICE_LABOR: "6001.04",
    BusinessLine.ACCESSORIES: "6001.05",
    BusinessLine.INSURANCE_COMMISSION: "6051.01",
    BusinessLine.LOAN_COMMISSION: "6051.02",
}
COST_ACCOUNT = {
    BusinessLine.NEW_VEHICLES: "6401.01",
    BusinessLine.USED_VEHICLES: "6401.02",
    BusinessLine.PARTS: "6401.03",
    BusinessLine.SERVICE_LABOR: "6401.04",
    BusinessLine.ACCESSORIES: "6401.05",
}
INVENTORY_ACCOUNT = {
    BusinessLine.NEW_VEHICLES: INVENTORY_NEW_VEHICLES,
    BusinessLine.USED_VEHICLES: INVENTORY_USED_VEHICLES,
    BusinessLine.PARTS: INVENTORY_PARTS,
    BusinessLine.ACCESSORIES: INVENTORY_ACCESSORIES,
}

_CODE = re.compile(r"^[1-6]\d{3}(\.\d{2})?$")


def new_store_account(code: str, name: str, name_en: str, existing: set[str]) -> AccountDef:
    """A store's own sub-account under a template account (`6602.20 办公费`)."""
    if not _CODE.match(code) or "." not in code:
        raise InvalidInput(
            f"Account code {code!r} must be a sub-account of a template account, like '6602.20'.",
            errors=[{"field": "code", "rule": "format"}],
        )
    if code in existing:
        raise InvalidInput(f"Account {code} already exists in this store's chart.")
    parent = TEMPLATE_BY_CODE.get(code.rsplit(".", 1)[0])
    if parent is None:
        raise InvalidInput(
            f"Account {code} has no parent in the group template; "
            f"store accounts extend a template account.",
            errors=[{"field": "code", "rule": "parent"}],
        )
    if not name.strip():
        raise InvalidInput("An account needs a name.", errors=[{"field": "name"}])
    return AccountDef(code, name.strip(), name_en.strip() or name.strip(), parent.category)


def covers(parent: str, code: str) -> bool:
    """Does a balance of `parent` include `code` (itself or one of its sub-accounts)?"""
    return code == parent or code.startswith(parent + ".")
