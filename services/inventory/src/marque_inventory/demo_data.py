"""Demo data for a dealer group: real brands and models sold in China, plausible 2026 prices.

Prices are VAT-inclusive MSRP (指导价) in fen; dealer cost is what the store paid the OEM.
"""

from __future__ import annotations

# (id, name, city, timezone)
STORES = [
    ("BJ01", "北京朝阳4S店 Beijing Chaoyang", "Beijing", "Asia/Shanghai"),
    ("SH01", "上海浦东4S店 Shanghai Pudong", "Shanghai", "Asia/Shanghai"),
    ("GZ01", "广州天河4S店 Guangzhou Tianhe", "Guangzhou", "Asia/Shanghai"),
    ("CD01", "成都高新4S店 Chengdu Gaoxin", "Chengdu", "Asia/Shanghai"),
    ("HZ01", "杭州西湖4S店 Hangzhou Xihu", "Hangzhou", "Asia/Shanghai"),
    ("WH01", "武汉光谷4S店 Wuhan Optics Valley", "Wuhan", "Asia/Shanghai"),
]

# (code, name, country, WMI used on demo VINs)
BRANDS = [
    ("BYD", "比亚迪 BYD", "CN", "LGX"),
    ("TESLA", "特斯拉 Tesla", "US", "LRW"),
    ("VW", "大众 Volkswagen (SAIC-VW)", "DE", "LSV"),
    ("TOYOTA", "丰田 Toyota (GAC Toyota)", "JP", "LVG"),
    ("BMW", "宝马 BMW Brilliance", "DE", "LBV"),
    ("LI", "理想 Li Auto", "CN", "HLX"),
]

# (code, brand, name, body)
MODELS = [
    ("BYD-HAN", "BYD", "汉 Han", "sedan"),
    ("BYD-SONG", "BYD", "宋PLUS DM-i Song PLUS", "suv"),
    ("BYD-SEAL", "BYD", "海豹 Seal", "sedan"),
    ("TSL-M3", "TESLA", "Model 3", "sedan"),
    ("TSL-MY", "TESLA", "Model Y", "suv"),
    ("VW-LAVIDA", "VW", "朗逸 Lavida", "sedan"),
    ("VW-PASSAT", "VW", "帕萨特 Passat", "sedan"),
    ("VW-ID4X", "VW", "ID.4 X", "suv"),
    ("TYT-CAMRY", "TOYOTA", "凯美瑞 Camry", "sedan"),
    ("TYT-RAV4", "TOYOTA", "RAV4 荣放", "suv"),
    ("BMW-3", "BMW", "3系 3 Series", "sedan"),
    ("BMW-X3", "BMW", "X3", "suv"),
    ("LI-L6", "LI", "理想L6", "suv"),
    ("LI-L9", "LI", "理想L9", "suv"),
]

# (code, model, name, energy, msrp_yuan, dealer_cost_yuan)
TRIMS = [
    ("BYD-HAN-EV-610", "BYD-HAN", "EV 610km 尊贵型", "BEV", 209_800, 191_000),
    ("BYD-HAN-DMI-121", "BYD-HAN", "DM-i 121km 尊享型", "PHEV", 189_800, 172_500),
    ("BYD-SONG-DMI-112", "BYD-SONG", "DM-i 112km 旗舰型", "PHEV", 159_800, 146_000),
    ("BYD-SEAL-650", "BYD-SEAL", "650km 四驱性能版", "BEV", 229_800, 209_000),
    ("TSL-M3-RWD", "TSL-M3", "后轮驱动版 RWD", "BEV", 235_500, 218_000),
    ("TSL-M3-LR", "TSL-M3", "长续航全轮驱动版 Long Range AWD", "BEV", 285_500, 264_000),
    ("TSL-MY-RWD", "TSL-MY", "后轮驱动版 RWD", "BEV", 263_500, 244_000),
    ("TSL-MY-LR", "TSL-MY", "长续航全轮驱动版 Long Range AWD", "BEV", 303_500, 281_000),
    ("VW-LAVIDA-15", "VW-LAVIDA", "1.5L 自动满逸版", "ICE", 120_900, 98_000),
    ("VW-PASSAT-330", "VW-PASSAT", "330TSI 星空精英版", "ICE", 219_900, 181_000),
    ("VW-ID4X-PURE", "VW-ID4X", "Pure+ 纯净智享版", "BEV", 199_900, 172_000),
    ("TYT-CAMRY-20", "TYT-CAMRY", "2.0L 豪华版", "ICE", 199_800, 171_000),
    ("TYT-CAMRY-HEV", "TYT-CAMRY", "2.0HS 双擎 HEV 旗舰版", "HEV", 239_800, 208_000),
    ("TYT-RAV4-HEV", "TYT-RAV4", "2.5L 双擎四驱旗舰版 HEV", "HEV", 265_800, 231_000),
    ("BMW-3-325LI", "BMW-3", "325Li M运动套装", "ICE", 349_900, 289_000),
    ("BMW-X3-30L", "BMW-X3", "xDrive30L 尊享型M运动套装", "ICE", 469_900, 399_000),
    ("LI-L6-PRO", "LI-L6", "Pro", "PHEV", 249_800, 228_000),
    ("LI-L9-ULTRA", "LI-L9", "Ultra", "PHEV", 409_800, 376_000),
]

# (code, name, hex)
COLOURS = [
    ("WHT", "珍珠白 Pearl White", "#F4F4F2"),
    ("BLK", "曜石黑 Obsidian Black", "#111111"),
    ("GRY", "星空灰 Stellar Grey", "#6B6E70"),
    ("BLU", "深海蓝 Deep Blue", "#1F3A68"),
    ("RED", "中国红 China Red", "#B3121B"),
    ("SLV", "冰川银 Glacier Silver", "#C0C3C6"),
]

# (code, name, price_yuan)
OPTIONS = [
    ("OPT-FSD", "增强版自动辅助驾驶 Enhanced Autopilot", 32_000),
    ("OPT-TOW", "拖车钩 Tow hitch", 6_500),
    ("OPT-SEAT7", "7座布局 7-seat layout", 8_000),
    ("OPT-PAINT", "特殊车漆 Premium paint", 8_000),
    ("OPT-HUD", "抬头显示 Head-up display", 4_500),
    ("OPT-WHEEL20", "20英寸轮毂 20-inch wheels", 8_500),
]

# (part_number, name, unit_price_yuan, unit_cost_yuan)
PARTS = [
    ("06L115562B", "机油滤清器 Oil filter (VW EA888)", 98, 52),
    ("G052167M2", "机油 5W-40 4L Engine oil", 468, 290),
    ("04152-YZZA1", "机油滤芯 Oil filter (Toyota)", 85, 41),
    ("17801-21050", "空气滤芯 Air filter (Toyota)", 186, 96),
    ("87139-YZZ08", "空调滤芯 Cabin filter (Toyota)", 158, 72),
    ("1K0698151", "前刹车片 Front brake pads (VW)", 680, 395),
    ("34116860242", "前刹车片 Front brake pads (BMW)", 1_580, 980),
    ("11428593186", "机油滤芯 Oil filter (BMW)", 168, 88),
    ("1534076-00-A", "空调滤芯 Cabin filter (Tesla)", 320, 170),
    ("BYD-BATT-12V", "12V蓄电池 12V battery (BYD)", 1_150, 720),
    ("BYD-WIPER-F", "前雨刮 Front wiper blades (BYD)", 198, 95),
    ("LI-FILTER-AC", "空调滤芯 Cabin filter (Li Auto)", 299, 150),
    ("TIRE-23555R19", "轮胎 235/55 R19 Tyre", 1_480, 1_050),
    ("TIRE-22545R18", "轮胎 225/45 R18 Tyre", 1_120, 780),
    ("COOLANT-4L", "防冻液 4L Coolant", 220, 120),
    ("SPARK-NGK", "火花塞 Spark plug (NGK)", 95, 48),
]
