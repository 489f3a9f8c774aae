"""The demo dealer group as finance sees it: stores, what they sell and at what cost, parts,
lenders, customers and the seasons of the Chinese car market.

Store ids, models, trims, dealer costs and parts are copied from inventory's demo
(`services/inventory/src/marque_inventory/demo_data.py`), so that both services tell the same
story; finance does not import inventory's package. Amounts here are in yuan (元); the demo turns
them into fen.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DemoStore:
    id: str
    city: str  # Chinese city name, for local company names
    prefix: str  # the demo staff's user ids: demo-<prefix>-manager (as the gateway's demo users)
    size: float  # relative size: sales volume, payroll, rent
    brands: tuple[tuple[str, float], ...]  # (brand, share of the store's new-vehicle sales)
    lender: str  # floor-plan lender (库存融资), by name
    bank: str  # the store's bank, as the prefix of its transaction references (流水号)


# Ids copied from inventory's demo STORES (BJ01 ... WH01).
STORES: tuple[DemoStore, ...] = (
    DemoStore(
        "BJ01",
        "北京",
        "bj",
        1.25,
        (("BMW", 0.6), ("LI", 0.4)),
        "宝马汽车金融 BMW Automotive Finance",
        "ICBC",
    ),
    DemoStore(
        "SH01",
        "上海",
        "sh",
        1.3,
        (("TESLA", 0.5), ("VW", 0.5)),
        "招商银行 China Merchants Bank",
        "CMB",
    ),
    DemoStore(
        "GZ01",
        "广州",
        "gz",
        1.1,
        (("TOYOTA", 0.6), ("BYD", 0.4)),
        "丰田汽车金融 Toyota Motor Finance",
        "GDB",
    ),
    DemoStore(
        "CD01",
        "成都",
        "cd",
        0.9,
        (("BYD", 0.7), ("VW", 0.3)),
        "比亚迪汽车金融 BYD Auto Finance",
        "BOC",
    ),
    DemoStore(
        "HZ01",
        "杭州",
        "hz",
        1.0,
        (("VW", 0.6), ("TOYOTA", 0.4)),
        "大众汽车金融 Volkswagen Finance China",
        "HZB",
    ),
    DemoStore(
        "WH01",
        "武汉",
        "wh",
        0.8,
        (("BYD", 0.6), ("LI", 0.4)),
        "比亚迪汽车金融 BYD Auto Finance",
        "CCB",
    ),
)

# Floor-plan lenders: (name, annual rate in basis points, day-count basis).
LENDERS: tuple[tuple[str, int, int], ...] = (
    ("宝马汽车金融 BMW Automotive Finance", 395, 360),
    ("招商银行 China Merchants Bank", 450, 360),
    ("丰田汽车金融 Toyota Motor Finance", 410, 360),
    ("比亚迪汽车金融 BYD Auto Finance", 435, 360),
    ("大众汽车金融 Volkswagen Finance China", 420, 360),
)

# Brand code -> WMI used on demo VINs (inventory's BRANDS).
WMI: dict[str, str] = {
    "BYD": "LGX",
    "TESLA": "LRW",
    "VW": "LSV",
    "TOYOTA": "LVG",
    "BMW": "LBV",
    "LI": "HLX",
}

# (model code, brand, trim, dealer cost ex VAT in yuan) from inventory's TRIMS; cost is what the
# OEM invoices (the VAT comes on top).
TRIMS: tuple[tuple[str, str, str, int], ...] = (
    ("BYD-HAN", "BYD", "EV 610km 尊贵型", 191_000),
    ("BYD-HAN", "BYD", "DM-i 121km 尊享型", 172_500),
    ("BYD-SONG", "BYD", "DM-i 112km 旗舰型", 146_000),
    ("BYD-SEAL", "BYD", "650km 四驱性能版", 209_000),
    ("TSL-M3", "TESLA", "后轮驱动版 RWD", 218_000),
    ("TSL-M3", "TESLA", "长续航全轮驱动版 Long Range AWD", 264_000),
    ("TSL-MY", "TESLA", "后轮驱动版 RWD", 244_000),
    ("TSL-MY", "TESLA", "长续航全轮驱动版 Long Range AWD", 281_000),
    ("VW-LAVIDA", "VW", "1.5L 自动满逸版", 98_000),
    ("VW-PASSAT", "VW", "330TSI 星空精英版", 181_000),
    ("VW-ID4X", "VW", "Pure+ 纯净智享版", 172_000),
    ("TYT-CAMRY", "TOYOTA", "2.0L 豪华版", 171_000),
    ("TYT-CAMRY", "TOYOTA", "2.0HS 双擎 HEV 旗舰版", 208_000),
    ("TYT-RAV4", "TOYOTA", "2.5L 双擎四驱旗舰版 HEV", 231_000),
    ("BMW-3", "BMW", "325Li M运动套装", 289_000),
    ("BMW-X3", "BMW", "xDrive30L 尊享型M运动套装", 399_000),
    ("LI-L6", "LI", "Pro", 228_000),
    ("LI-L9", "LI", "Ultra", 376_000),
)

# (part number, name, retail price VAT incl., cost ex VAT) in yuan; inventory's PARTS plus the
# body parts accident repairs use.
PARTS: dict[str, tuple[str, int, int]] = {
    "06L115562B": ("机油滤清器 Oil filter (VW EA888)", 98, 52),
    "G052167M2": ("机油 5W-40 4L Engine oil", 468, 290),
    "04152-YZZA1": ("机油滤芯 Oil filter (Toyota)", 85, 41),
    "17801-21050": ("空气滤芯 Air filter (Toyota)", 186, 96),
    "87139-YZZ08": ("空调滤芯 Cabin filter (Toyota)", 158, 72),
    "1K0698151": ("前刹车片 Front brake pads (VW)", 680, 395),
    "34116860242": ("前刹车片 Front brake pads (BMW)", 1_580, 980),
    "11428593186": ("机油滤芯 Oil filter (BMW)", 168, 88),
    "1534076-00-A": ("空调滤芯 Cabin filter (Tesla)", 320, 170),
    "BYD-BATT-12V": ("12V蓄电池 12V battery (BYD)", 1_150, 720),
    "BYD-WIPER-F": ("前雨刮 Front wiper blades (BYD)", 198, 95),
    "LI-FILTER-AC": ("空调滤芯 Cabin filter (Li Auto)", 299, 150),
    "TIRE-23555R19": ("轮胎 235/55 R19 Tyre", 1_480, 1_050),
    "TIRE-22545R18": ("轮胎 225/45 R18 Tyre", 1_120, 780),
    "COOLANT-4L": ("防冻液 4L Coolant", 220, 120),
    "SPARK-NGK": ("火花塞 Spark plug (NGK)", 95, 48),
    "BODY-BUMPER-F": ("前保险杠总成 Front bumper assembly", 3_800, 2_450),
    "BODY-HEADLAMP": ("大灯总成 Headlamp assembly", 5_200, 3_550),
    "BODY-FENDER-F": ("前翼子板 Front fender", 1_900, 1_200),
    "BODY-PAINT": ("钣喷辅料(每面) Paint materials, per panel", 900, 520),
}

# A routine service (保养) per brand: (part number, quantity).
MAINTENANCE_KITS: dict[str, tuple[tuple[str, int], ...]] = {
    "VW": (("06L115562B", 1), ("G052167M2", 1)),
    "TOYOTA": (("04152-YZZA1", 1), ("G052167M2", 1), ("17801-21050", 1), ("87139-YZZ08", 1)),
    "BMW": (("11428593186", 1), ("G052167M2", 2)),
    "TESLA": (("1534076-00-A", 1), ("COOLANT-4L", 1)),
    "BYD": (("BYD-WIPER-F", 1), ("COOLANT-4L", 1)),
    "LI": (("LI-FILTER-AC", 1), ("G052167M2", 1)),
}
# Wear repairs (brakes, tyres, battery) per brand.
WEAR_REPAIRS: dict[str, tuple[tuple[str, int], ...]] = {
    "VW": (("1K0698151", 1), ("TIRE-22545R18", 2)),
    "TOYOTA": (("TIRE-22545R18", 2), ("SPARK-NGK", 4)),
    "BMW": (("34116860242", 1), ("TIRE-23555R19", 2)),
    "TESLA": (("TIRE-23555R19", 2),),
    "BYD": (("BYD-BATT-12V", 1), ("TIRE-23555R19", 2)),
    "LI": (("TIRE-23555R19", 4),),
}
ACCIDENT_PARTS: tuple[str, ...] = ("BODY-BUMPER-F", "BODY-HEADLAMP", "BODY-FENDER-F")

# Sales volume over the year (金九银十, the year-end push, the Spring Festival lull).
SEASON: dict[int, float] = {
    1: 1.05,
    2: 0.70,
    3: 0.95,
    4: 0.90,
    5: 0.95,
    6: 1.10,
    7: 0.85,
    8: 0.90,
    9: 1.10,
    10: 1.15,
    11: 1.05,
    12: 1.25,
}

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN_NAMES = (
    "伟", "芳", "娜", "敏", "静", "磊", "洋", "勇", "艳", "杰", "军", "强", "婷", "涛",
    "明", "超", "秀英", "建华", "志强", "晓东", "丽华", "海燕", "子涵", "浩然", "一鸣", "思远",
)  # fmt: skip
# Fleet buyers (企业客户), `{city}` is the store's city; they pay on terms, and some pay late.
FLEET_BUYERS: tuple[str, ...] = (
    "{city}顺达物流有限公司 Shunda Logistics",
    "{city}华信科技有限公司 Huaxin Technology",
    "{city}新航线汽车租赁有限公司 Xinhangxian Car Rental",
)
# Insurers who pay accident repairs directly (直赔): (customer id, name).
INSURERS: tuple[tuple[str, str], ...] = (
    ("INS-PICC", "中国人民财产保险 PICC P&C"),
    ("INS-PINGAN", "平安财产保险 Ping An P&C"),
    ("INS-CPIC", "太平洋财产保险 CPIC P&C"),
)
# Who pays out a customer's car loan (按揭放款) to the store.
AUTO_LOAN_LENDERS: tuple[str, ...] = (
    "平安银行汽车金融 Ping An Bank Auto Finance",
    "招商银行信用卡分期 CMB Card Instalments",
    "上汽通用汽车金融 SAIC-GMAC",
)
ACCESSORIES_SUPPLIER = "车品汇精品 Chepinhui Accessories"
ACCESSORY_PACKS: tuple[tuple[str, int, int], ...] = (
    # (description, lowest and highest price in yuan, VAT incl.)
    ("精品: 隐形车衣 Paint protection film", 6_000, 12_000),
    ("精品: 太阳膜+脚垫 Window film and floor mats", 2_500, 4_800),
    ("精品: 行车记录仪+防爆膜 Dash cam and security film", 3_000, 6_500),
)

# Expense claims (报销): (category, description, lowest and highest yuan, claimant role).
EXPENSE_TEMPLATES: tuple[tuple[str, str, int, int, str], ...] = (
    ("marketing", "抖音本地推广 Douyin local ads", 6_000, 18_000, "sales-manager"),
    ("marketing", "车展展位物料 Auto-show booth materials", 2_500, 9_000, "sales-manager"),
    ("entertainment", "客户接待餐费 Customer dinner", 600, 2_800, "sales-manager"),
    (
        "vehicle",
        "试驾车充电加油及停车 Test-drive charging, fuel and parking",
        400,
        1_600,
        "consultant",
    ),
    ("travel", "厂家培训差旅 Travel to OEM training", 1_500, 5_200, "advisor"),
    ("office", "展厅办公用品 Showroom office supplies", 200, 1_200, "consultant"),
    ("training", "售后技师认证培训 Technician certification course", 2_000, 6_500, "advisor"),
)

# Store accounts the demo adds under the template's grouping accounts (payroll and rent).
STORE_ACCOUNTS: tuple[tuple[str, str, str], ...] = (
    ("6601.10", "销售费用-职工薪酬", "Selling: salaries"),
    ("6602.10", "管理费用-职工薪酬", "Admin: salaries"),
    ("6602.11", "管理费用-租赁费", "Admin: rent"),
)

# Monthly payroll and rent at a store of size 1.0, in yuan, scaled to the demo's volume (a
# real 4S store sells ten times as many cars, with ten times the staff).
SALES_PAYROLL = 38_000  # the sales team's base pay
SALES_COMMISSION = 800  # per car delivered (提成)
ADMIN_PAYROLL = 18_000  # back office
RENT = 30_000  # showroom and workshop
