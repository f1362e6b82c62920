"""Deterministic, realistic sample data for the seed catalogs.

Each generator yields rows (dicts whose keys are its ``columns``, in order) for one jurisdiction.
Rows come one at a time from a ``random.Random`` seeded with the generator's name, the
jurisdiction's code and the caller's seed — never the global RNG, the clock or ``uuid`` — so the
same arguments give the same rows, and a million rows take constant memory.

Values are what the data items in ``seeds/*.yaml`` declare: ``YYYY-MM-DD`` strings for dates,
ISO 8601 with the +08:00 offset for date-times, ``int`` for 整型, ``float`` for 浮点型 and 货币型
(two decimals), ``bool`` for 逻辑型, ``None`` for an empty optional item. Identifiers are valid:
统一社会信用代码 carry a GB 11714 organisation code and the GB 32100 check character; 公民身份号码
a real birth date, a sequence digit that matches the gender, and the GB 11643 check character.

Time series end at ``EPOCH_END`` (the end of the plans' period) and reach back as far as the
requested number of rows needs (but not before ``FLOOR``: beyond that they run on past the end).
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from govdata.platform.identifiers import (
    USCC_ALPHABET,
    id_number_check_character,
    uscc_check_character,
)

Row = dict[str, Any]
EPOCH_END = dt.datetime(2018, 6, 30, 23, 0)
FLOOR = dt.datetime(1990, 1, 1)  # no series starts earlier; absurd counts run on past EPOCH_END
TZ = "+08:00"
LARGE_DATASET = "air_quality_hourly"
# Per scale, the row counts that differ from each generator's own small size (200–2000 rows).
SCALES: dict[str, dict[str, int]] = {"small": {}, "large": {LARGE_DATASET: 1_000_000}}


# --- regions: what differs between the jurisdictions (keyed by the province's two digits) ------

@dataclass(frozen=True)
class Region:
    abbr: str  # short name in document numbers: 渝环许〔2017〕12号
    plate: str  # vehicle plate prefix
    area_code: str  # telephone area code
    center: tuple[float, float]  # longitude, latitude of the city centre
    spread: float  # how far (degrees) the divisions' centres lie from it
    mean_temp: float  # annual mean temperature, °C
    temp_swing: float  # half the difference between the July and January means
    pressure: float  # mean station pressure, hPa
    pm25: float  # annual mean PM2.5, μg/m³
    station_prefix: str  # first digits of the weather stations' 区站号
    minorities: tuple[str, ...]
    warnings: tuple[str, ...]
    fares: tuple[float, ...]


REGIONS = {
    "50": Region("渝", "渝A", "023", (106.55, 29.56), 0.15, 18.5, 10.5, 985.0, 48.0, "575",
                 ("土家族", "苗族", "回族"), ("暴雨", "高温", "大雾", "雷电", "大风", "霾"),
                 (2.0,)),
    "44": Region("深", "粤B", "0755", (114.06, 22.55), 0.12, 23.0, 7.0, 1006.0, 28.0, "594",
                 ("壮族", "土家族", "苗族", "瑶族"),
                 ("暴雨", "台风", "高温", "雷电", "大风", "寒冷"), (2.0, 2.5, 3.0)),
    "21": Region("沈", "辽A", "024", (123.43, 41.80), 0.15, 8.5, 18.0, 1009.0, 54.0, "543",
                 ("满族", "朝鲜族", "回族", "锡伯族", "蒙古族"),
                 ("暴雪", "寒潮", "大风", "道路结冰", "暴雨", "霾"), (1.0, 2.0)),
    "41": Region("豫", "豫A", "0371", (113.65, 34.76), 0.9, 15.0, 13.5, 1002.0, 66.0, "570",
                 ("回族", "蒙古族", "满族"), ("暴雨", "高温", "干热风", "大风", "霾", "寒潮"),
                 (1.0, 2.0)),
}
DEFAULT_REGION = REGIONS["50"]
MUNICIPALITIES = ("11", "12", "31", "50")  # 直辖市: their districts are named with the city

# --- vocabulary -----------------------------------------------------------------------------

SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余"
            "杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史"
            "陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
# Rough frequency: the first surnames are far commoner (王 and 李 alone are ~14% of people).
_SURNAME_WEIGHTS = list(itertools.accumulate(max(1.0, 70 / (i + 5)) for i in range(len(SURNAMES))))
COMPOUND_SURNAMES = ("欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "令狐", "慕容", "夏侯", "尉迟")
MALE_CHARS = ("伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭"
              "宁龙林洋峰建国志文博翔晨昊然轩睿哲瑞")
FEMALE_CHARS = ("芳娜敏静丽艳娟霞秀燕玲桂丹萍红婷雪琳晶慧颖倩欣怡佳悦"
                "梦雨思彤琪蕾洁璐瑶雯婧岚薇妍涵馨诗")
ROADS = ("人民路", "解放路", "建设路", "中山路", "和平路", "文化路", "新华路", "胜利路", "长江路",
         "黄河路", "滨江路", "学府路", "科技路", "东风路", "光明路", "幸福路", "友谊路", "青年路",
         "健康路", "工业路", "花园路", "民主路", "红旗路", "朝阳路", "迎宾大道", "环城路", "金山路",
         "银河路", "北京路", "南京路")
STREETS = ("东风", "建设", "新村", "滨江", "花园", "人民", "南湖", "北苑", "西城", "东城", "中心",
           "城关", "和平", "长安", "朝阳", "新华", "友谊", "丰收")
BRANDS = ("华信", "鑫源", "恒通", "宏达", "金泰", "瑞丰", "博远", "天成", "万家", "嘉禾", "众诚",
          "佳美", "伟业", "安泰", "昌盛", "永兴", "鼎盛", "盛世", "汇丰", "融通", "新锐", "卓越",
          "远航", "德润", "金桥", "腾飞", "中联", "华创", "智达", "云帆", "绿源", "长青", "福瑞",
          "祥和", "明辉", "聚力", "诚信", "泰和", "开元", "星河", "蓝海", "凯旋", "同心", "正大",
          "方圆", "联合", "百川", "东升")
INDUSTRIES = (
    ("科技", "计算机软硬件技术开发、技术咨询、技术服务;销售:电子产品、通讯设备。"),
    ("机械制造", "通用机械设备、汽车零部件的制造与销售;机电设备安装。"),
    ("建筑工程", "房屋建筑工程、市政公用工程施工;建筑材料销售。"),
    ("商贸", "销售:日用百货、五金交电、服装鞋帽、预包装食品。"),
    ("物流", "普通货运;货物仓储(不含危险品);国内货运代理。"),
    ("餐饮管理", "餐饮服务;餐饮管理咨询;食品销售。"),
    ("食品", "食品生产;农副产品收购;预包装食品批发。"),
    ("医药", "药品零售;医疗器械销售;保健食品销售。"),
    ("信息技术", "信息系统集成服务;数据处理和存储服务;软件开发。"),
    ("房地产开发", "房地产开发经营;物业管理;房屋租赁。"),
    ("环保科技", "环保设备研发与销售;污水处理;环境监测服务。"),
    ("农业开发", "农作物种植;农产品初加工;农业技术推广服务。"),
    ("电子", "电子元器件制造;电子产品研发与销售。"),
    ("文化传媒", "设计、制作、代理、发布国内广告;文化艺术交流活动策划。"),
    ("物业管理", "物业管理;房屋维修;保洁服务;停车场管理。"),
    ("网络科技", "互联网信息服务;网络技术开发;电子商务平台运营。"),
    ("新材料", "新型材料研发、生产与销售;化工产品(不含危险化学品)销售。"),
    ("生物科技", "生物技术研发;实验室试剂(不含危险化学品)销售。"),
    ("汽车服务", "汽车维修;汽车零配件销售;二手车经纪。"),
    ("教育咨询", "教育信息咨询(不含培训);会议及展览服务。"),
)
ENTERPRISE_FORMS = (  # ((name suffix, enterprise type), weight)
    (("有限公司", "有限责任公司(自然人投资或控股)"), 60),
    (("有限责任公司", "有限责任公司(自然人投资或控股)"), 15),
    (("有限公司", "有限责任公司(法人独资)"), 10),
    (("股份有限公司", "股份有限公司(非上市、自然人投资或控股)"), 8),
    (("专业合作社", "农民专业合作社"), 4),
    (("商行", "个人独资企业"), 3),
)
FARMING = ("蔬菜种植", "水果种植", "生猪养殖", "茶叶", "中药材种植", "农机服务", "食用菌")
COOP_SCOPE = "组织采购、供应成员所需的农业生产资料;组织收购、销售成员及同类生产经营者的产品。"
MOBILE_PREFIXES = ("130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151",
                   "152", "155", "157", "158", "159", "166", "176", "177", "180", "181", "182",
                   "185", "186", "187", "188", "189", "198")


# --- identifiers ----------------------------------------------------------------------------

# Organisation code (GB 11714) characters that are also 统一社会信用代码 characters.
_ORG_CHARS = [c for c in USCC_ALPHABET if c.isdigit() or c in "ABCDEFGHJKLMNPQRTUWXY"]
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def org_code(body: str) -> str:
    """The 9-character 组织机构代码 for an 8-character body (GB 11714 check character)."""
    total = sum((int(c) if c.isdigit() else ord(c) - 55) * w
                for c, w in zip(body, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return body + {10: "X", 11: "0"}.get(check, str(check))


def uscc(rng: random.Random, prefix: str, division: str, *, new: bool) -> str:
    """A 统一社会信用代码: ``prefix`` is 登记管理部门 + 机构类别 (91 企业, 12 事业单位 …).
    Bodies registered since the 2015 reform start with ``MA``; older ones are numeric."""
    if new:
        body = "MA" + "".join(rng.choice(_ORG_CHARS) for _ in range(6))
    else:
        body = "".join(rng.choice("0123456789") for _ in range(8))
    first17 = prefix + division + org_code(body)
    return first17 + uscc_check_character(first17)


def id_number(rng: random.Random, division: str, born: dt.date, male: bool) -> str:
    """A 公民身份号码; the sequence (positions 15–17) is odd for men, even for women."""
    first17 = f"{division}{born:%Y%m%d}{rng.randrange(0, 500) * 2 + male:03d}"
    return first17 + id_number_check_character(first17)


# --- air quality (HJ 633-2012) --------------------------------------------------------------

_IAQI_STEPS = (0, 50, 100, 150, 200, 300, 400, 500)
BREAKPOINTS_24H = {
    "PM2.5": (0, 35, 75, 115, 150, 250, 350, 500), "PM10": (0, 50, 150, 250, 350, 420, 500, 600),
    "SO2": (0, 50, 150, 475, 800, 1600, 2100, 2620), "NO2": (0, 40, 80, 180, 280, 565, 750, 940),
    "CO": (0, 2, 4, 14, 24, 36, 48, 60), "O3_8h": (0, 100, 160, 215, 265, 800),
}
BREAKPOINTS_1H = {
    "PM2.5": BREAKPOINTS_24H["PM2.5"], "PM10": BREAKPOINTS_24H["PM10"],
    "SO2": (0, 150, 500, 650, 800), "NO2": (0, 100, 200, 700, 1200, 2340, 3090, 3840),
    "CO": (0, 5, 10, 35, 60, 90, 120, 150), "O3": (0, 160, 200, 300, 400, 800, 1000, 1200),
}
AQI_LEVELS = ((50, "优"), (100, "良"), (150, "轻度污染"), (200, "中度污染"), (300, "重度污染"))


def iaqi(concentration: float, breakpoints: tuple[float, ...]) -> int:
    for i in range(1, len(breakpoints)):
        if concentration <= breakpoints[i]:
            lo, hi = breakpoints[i - 1], breakpoints[i]
            ilo, ihi = _IAQI_STEPS[i - 1], _IAQI_STEPS[i]
            return math.ceil(ilo + (ihi - ilo) * (concentration - lo) / (hi - lo))
    return _IAQI_STEPS[len(breakpoints) - 1]


def aqi_level(aqi: int) -> str:
    """空气质量指数级别: 优, 良, 轻度污染 … 严重污染."""
    return next((name for limit, name in AQI_LEVELS if aqi <= limit), "严重污染")


def air_quality(values: dict[str, float], breakpoints: dict) -> tuple[int, str | None, str]:
    """(AQI, primary pollutant — None when AQI ≤ 50 —, level) for pollutant concentrations."""
    primary, aqi = max(((k, iaqi(v, breakpoints[k])) for k, v in values.items()),
                       key=lambda kv: kv[1])
    return aqi, (primary if aqi > 50 else None), aqi_level(aqi)


def _season(day_of_year: int) -> float:
    """+1 in mid-January, −1 in mid-July."""
    return math.cos(2 * math.pi * (day_of_year - 15) / 365)


# --- context: one jurisdiction, one RNG, and the helpers every generator uses ---------------

class Context:
    def __init__(self, jurisdiction: dict[str, Any], rng: random.Random, count: int) -> None:
        self.rng, self.count = rng, count
        self.name: str = jurisdiction["name"]
        self.code: str = jurisdiction["division_code"]
        self.short = self.name.removesuffix("市").removesuffix("省")
        self.region = REGIONS.get(self.code[:2], DEFAULT_REGION)
        self.divisions = [d for d in jurisdiction.get("divisions") or [] if d["code"] != self.code]
        self.divisions = self.divisions or [{"code": self.code, "name": self.name}]
        self.names_by_code = {d["code"]: d["name"] for d in self.divisions}
        # People are registered in county-level divisions (codes not ending in 00).
        counties = [d for d in self.divisions if not d["code"].endswith("00")]
        self.counties = counties or self.divisions
        (lon, lat), spread = self.region.center, self.region.spread
        self._centers = {d["code"]: (lon + rng.uniform(-spread, spread) * 1.3,
                                     lat + rng.uniform(-spread, spread)) for d in self.divisions}

    # choices
    def pick(self, seq):
        return self.rng.choice(seq)

    def weighted(self, options: tuple) -> Any:
        """``options``: (value, weight) pairs."""
        return self.rng.choices([v for v, _ in options], weights=[w for _, w in options])[0]

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def digits(self, n: int) -> str:
        return "".join(self.rng.choice("0123456789") for _ in range(n))

    def money(self, lo: float, hi: float) -> float:
        return round(self.rng.uniform(lo, hi), 2)

    # places
    def division(self) -> dict[str, str]:
        return self.pick(self.divisions)

    def full_area(self, code: str) -> str:
        """``河南省郑州市金水区``: the jurisdiction, the prefecture if listed, the division."""
        name = self.names_by_code.get(code, self.name)
        parent = None if code.endswith("00") else self.names_by_code.get(code[:4] + "00")
        return ("" if name.startswith(self.name) else self.name) + (parent or "") + name

    def local_area(self, code: str) -> str:
        """How a body there names itself: ``郑州市金水区`` (no province), ``重庆市渝中区``."""
        area = self.full_area(code)
        if self.code.endswith("0000") and self.code[:2] not in MUNICIPALITIES and area != self.name:
            return area.removeprefix(self.name)
        return area

    def address(self, code: str, *, dwelling: bool = False) -> str:
        base = f"{self.full_area(code)}{self.pick(ROADS)}{self.rng.randint(1, 399)}号"
        if not dwelling:
            return base
        building, floor, room = (self.rng.randint(1, n) for n in (30, 33, 8))
        return f"{base}{building}栋{floor}-{room}"

    def street(self) -> str:
        return self.pick(STREETS) + "街道"

    def point(self, code: str, spread: float = 0.05) -> tuple[float, float]:
        lon, lat = self._centers.get(code, self.region.center)
        gauss = self.rng.gauss
        return round(lon + gauss(0, spread), 6), round(lat + gauss(0, spread), 6)

    # people
    def person_name(self, male: bool | None = None) -> str:
        male = self.chance(0.5) if male is None else male
        if self.chance(0.012):
            surname = self.pick(COMPOUND_SURNAMES)
        else:
            surname = self.rng.choices(SURNAMES, cum_weights=_SURNAME_WEIGHTS)[0]
        chars = MALE_CHARS if male else FEMALE_CHARS
        return surname + "".join(self.pick(chars) for _ in range(1 if self.chance(0.3) else 2))

    def citizen(self, min_age: int = 0, max_age: int = 90) -> tuple[str, str, bool, dt.date, str]:
        """(id_number, name, male, birth date, division code) of one consistent person."""
        male = self.chance(0.51)
        youngest = EPOCH_END.date() - dt.timedelta(days=365 * min_age)
        born = youngest - dt.timedelta(days=self.rng.randrange(365 * (max_age - min_age) + 1))
        code = self.pick(self.counties)["code"]
        return id_number(self.rng, code, born, male), self.person_name(male), male, born, code

    def mobile(self) -> str:
        return self.pick(MOBILE_PREFIXES) + self.digits(8)

    def office_phone(self) -> str:
        return f"{self.region.area_code}-{self.rng.randint(2, 8)}{self.digits(7)}"

    # organisations
    def uscc(self, prefix: str = "91", code: str | None = None,
             established: dt.date | None = None) -> str:
        new = self.chance(0.4) if established is None else established >= dt.date(2015, 10, 1)
        return uscc(self.rng, prefix, code or self.division()["code"], new=new)

    def enterprise(self) -> tuple[str, str, str]:
        """(name, enterprise type, business scope)."""
        suffix, kind = self.weighted(ENTERPRISE_FORMS)
        if kind == "农民专业合作社":
            name = f"{self.short}{self.pick(BRANDS)}{self.pick(FARMING)}专业合作社"
            return name, kind, COOP_SCOPE
        industry, scope = self.pick(INDUSTRIES)
        return f"{self.short}{self.pick(BRANDS)}{industry}{suffix}", kind, scope

    def enterprise_name(self) -> str:
        return self.enterprise()[0]

    def authority(self, body: str, code: str | None = None) -> str:
        """A department of the jurisdiction (``code`` None) or of one of its divisions."""
        return self.name + body if code in (None, self.code) else self.local_area(code) + body

    def doc_no(self, word: str, year: int, seq: int) -> str:
        return f"{self.region.abbr}{word}〔{year}〕{seq}号"

    # time
    def date_between(self, start: dt.date, end: dt.date) -> dt.date:
        return start + dt.timedelta(days=self.rng.randrange((end - start).days + 1))

    def recent_date(self, years: float = 3.0) -> dt.date:
        return EPOCH_END.date() - dt.timedelta(days=self.rng.randrange(int(365 * years) + 1))

    def back(self, step: dt.timedelta, steps: int) -> dt.datetime:
        """``steps`` steps before EPOCH_END, but not before FLOOR."""
        return EPOCH_END - step * min(steps, (EPOCH_END - FLOOR) // step)

    def series(self, entities: int, step: dt.timedelta) -> Iterator[tuple[dt.datetime, int]]:
        """(time, entity index) ascending, reaching EPOCH_END after about ``count`` pairs."""
        start = self.back(step, math.ceil(self.count / max(entities, 1)) - 1)
        for k in itertools.count():
            for entity in range(entities):
                yield start + step * k, entity

    def months(self, per_month: int) -> Iterator[tuple[int, str]]:
        """(months after EPOCH_END's month, ``YYYY-MM``) ascending, reaching EPOCH_END's month
        after about ``count`` rows of ``per_month`` each."""
        last = EPOCH_END.year * 12 + EPOCH_END.month - 1
        first = max(FLOOR.year * 12, last - math.ceil(self.count / max(per_month, 1)) + 1)
        for k in itertools.count(first):
            yield k - last, f"{k // 12}-{k % 12 + 1:02d}"


def iso_date(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def iso_time(value: dt.datetime | None) -> str | None:
    return f"{value:%Y-%m-%dT%H:%M:%S}{TZ}" if value else None


def _place_word(division_name: str) -> str:
    """``渝中区`` → ``渝中``; two-character names stay whole."""
    if len(division_name) > 2 and division_name[-1] in "区县市":
        return division_name[:-1]
    return division_name


# --- the registry ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Generator:
    name: str
    columns: tuple[str, ...]
    small: int  # rows at the "small" scale
    make: Callable[[Context], Iterator[Row]]

    def rows(self, *, jurisdiction: dict[str, Any], count: int, seed: int) -> Iterator[Row]:
        """``count`` rows for ``jurisdiction`` (the YAML's jurisdiction plus its divisions)."""
        rng = random.Random(f"{self.name}|{jurisdiction['division_code']}|{seed}")
        yield from itertools.islice(self.make(Context(jurisdiction, rng, count)), count)


GENERATORS: dict[str, Generator] = {}


def generator(name: str, columns: str, small: int = 500):
    def register(make: Callable[[Context], Iterator[Row]]) -> Callable[[Context], Iterator[Row]]:
        if name in GENERATORS:
            raise ValueError(f"duplicate generator {name}")
        GENERATORS[name] = Generator(name, tuple(columns.split()), small, make)
        return make
    return register


def sample_size(generator_name: str, scale: str) -> int:
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; expected one of {sorted(SCALES)}")
    return SCALES[scale].get(generator_name, GENERATORS[generator_name].small)


# --- environment ----------------------------------------------------------------------------

_AIR_SITES = ("监测站", "人民公园", "体育中心", "市政府", "职业学院", "水厂", "奥体中心", "开发区",
              "图书馆", "中学", "植物园", "环保大楼")


def _air_stations(ctx: Context, per_division: int) -> list[tuple[str, str, str]]:
    """(station code, station name, division name): ``per_division`` sites in each division."""
    sites = []
    for d in ctx.divisions:
        for place in ctx.rng.sample(_AIR_SITES, per_division):
            sites.append((f"{ctx.code[:2]}{len(sites) + 1:03d}A", f"{d['name']}{place}", d["name"]))
    return sites


def _pollution(ctx: Context, day_of_year: int, state: float) -> dict[str, float]:
    """24-hour concentrations: seasonal, regional, and a persistent weather ``state``."""
    season, noise = _season(day_of_year), ctx.rng.lognormvariate
    pm25 = max(3.0, ctx.region.pm25 * (1 + 0.45 * season) * state * noise(0, 0.25))
    return {
        "PM2.5": pm25, "PM10": pm25 * ctx.rng.uniform(1.35, 1.9),
        "SO2": max(2.0, ctx.region.pm25 / 4 * (1 + 0.5 * season) * noise(0, 0.3)),
        "NO2": max(5.0, 38 * state * noise(0, 0.25)),
        "CO": max(0.2, 0.9 * (1 + 0.3 * season) * state * noise(0, 0.2)),
        "O3_8h": max(10.0, 105 * (1 - 0.45 * season) * noise(0, 0.25)),
    }


@generator("air_quality_daily",
           "district station day aqi pm25 pm10 so2 no2 co o3_8h primary_pollutant level", 720)
def _air_quality_daily(ctx: Context) -> Iterator[Row]:
    sites = _air_stations(ctx, 1)
    state = [1.0] * len(sites)
    for moment, i in ctx.series(len(sites), dt.timedelta(days=1)):
        state[i] = 0.7 * state[i] + 0.3 * ctx.rng.lognormvariate(0, 0.5)
        c = _pollution(ctx, moment.timetuple().tm_yday, state[i])
        aqi, primary, level = air_quality(c, BREAKPOINTS_24H)
        yield {"district": sites[i][2], "station": sites[i][1], "day": iso_date(moment.date()),
               "aqi": aqi, "pm25": round(c["PM2.5"]), "pm10": round(c["PM10"]),
               "so2": round(c["SO2"]), "no2": round(c["NO2"]), "co": round(c["CO"], 1),
               "o3_8h": round(c["O3_8h"]), "primary_pollutant": primary, "level": level}


@generator("air_quality_hourly", "station_code station district observed_at aqi pm25 pm10 so2 "
           "no2 co o3 primary_pollutant level", 1000)
def _air_quality_hourly(ctx: Context) -> Iterator[Row]:
    sites = _air_stations(ctx, 2)
    state = [1.0] * len(sites)
    for moment, i in ctx.series(len(sites), dt.timedelta(hours=1)):
        state[i] = 0.92 * state[i] + 0.08 * ctx.rng.lognormvariate(0, 0.6)
        c = _pollution(ctx, moment.timetuple().tm_yday, state[i])
        h = moment.hour
        rush = 1 + 0.35 * (math.exp(-((h - 8) ** 2) / 4) + math.exp(-((h - 19) ** 2) / 6))
        sun = max(0.25, math.sin(math.pi * (h - 6) / 14)) if 6 <= h <= 20 else 0.25
        hourly = {"PM2.5": c["PM2.5"], "PM10": c["PM10"], "SO2": c["SO2"] * 1.2,
                  "NO2": c["NO2"] * rush, "CO": c["CO"] * rush, "O3": c["O3_8h"] * 1.25 * sun}
        aqi, primary, level = air_quality(hourly, BREAKPOINTS_1H)
        yield {"station_code": sites[i][0], "station": sites[i][1], "district": sites[i][2],
               "observed_at": iso_time(moment), "aqi": aqi, "pm25": round(hourly["PM2.5"]),
               "pm10": round(hourly["PM10"]), "so2": round(hourly["SO2"]),
               "no2": round(hourly["NO2"]), "co": round(hourly["CO"], 1), "o3": round(hourly["O3"]),
               "primary_pollutant": primary, "level": level}


@generator("air_quality_rankings",
           "month district rank composite_index good_days pm25 pm10 change_pct", 360)
def _air_quality_rankings(ctx: Context) -> Iterator[Row]:
    bias = {d["name"]: ctx.rng.uniform(0.8, 1.25) for d in ctx.divisions}
    for _, month in ctx.months(len(ctx.divisions)):
        season = _season(dt.date.fromisoformat(f"{month}-15").timetuple().tm_yday)
        scored = []
        for name, factor in bias.items():
            pm25 = ctx.region.pm25 * (1 + 0.4 * season) * factor * ctx.rng.uniform(0.85, 1.15)
            pm10 = pm25 * ctx.rng.uniform(1.4, 1.8)
            good = max(0, min(30, round(30 - pm25 / 4 + ctx.rng.uniform(-3, 3))))
            index = pm25 / 35 + pm10 / 70 + ctx.rng.uniform(1.6, 2.4)
            scored.append((index, name, good, pm25, pm10))
        for rank, (index, name, good, pm25, pm10) in enumerate(sorted(scored), start=1):
            yield {"month": month, "district": name, "rank": rank,
                   "composite_index": round(index, 2), "good_days": good, "pm25": round(pm25),
                   "pm10": round(pm10), "change_pct": round(ctx.rng.uniform(-25, 12), 1)}


_RIVERS = ("长江", "嘉陵江", "乌江", "深圳河", "茅洲河", "观澜河", "龙岗河", "浑河", "辽河", "蒲河",
           "细河", "黄河", "淮河", "贾鲁河", "伊洛河", "沙颍河")
_GRADES = ("Ⅰ类", "Ⅱ类", "Ⅲ类", "Ⅳ类", "Ⅴ类", "劣Ⅴ类")


@generator("water_quality", "section river district sample_date ph dissolved_oxygen cod_mn "
           "ammonia_nitrogen total_phosphorus grade meets_target", 480)
def _water_quality(ctx: Context) -> Iterator[Row]:
    rivers = ctx.rng.sample(_RIVERS, 4)
    marks = ("大桥", "渡口", "入境", "出境", "水厂", "入河口")
    sections = [(f"{d['name']}{ctx.pick(marks)}断面", ctx.pick(rivers), d["name"],
                 ctx.rng.randint(1, 4), ctx.rng.randint(2, 4)) for d in ctx.divisions for _ in "ab"]
    for moment, i in ctx.series(len(sections), dt.timedelta(days=30)):
        name, river, district, usual, target = sections[i]
        g = max(0, min(5, usual + ctx.rng.choice((-1, 0, 0, 0, 1))))  # index into _GRADES
        yield {"section": name, "river": river, "district": district,
               "sample_date": iso_date(moment.date()), "ph": round(ctx.rng.uniform(6.8, 8.4), 2),
               "dissolved_oxygen": round(max(1.0, 9.0 - 1.2 * g + ctx.rng.uniform(-0.8, 0.8)), 2),
               "cod_mn": round(1.5 + g * 2.2 + ctx.rng.uniform(0, 1.5), 2),
               "ammonia_nitrogen": round(0.1 + g * 0.35 * ctx.rng.uniform(0.6, 1.4), 3),
               "total_phosphorus": round(0.02 + g * 0.06 * ctx.rng.uniform(0.6, 1.4), 3),
               "grade": _GRADES[g], "meets_target": g + 1 <= target}


_POLLUTANTS = (("烟尘", 20.0, "mg/m³", "废气排放口"), ("二氧化硫", 100.0, "mg/m³", "废气排放口"),
               ("氮氧化物", 150.0, "mg/m³", "废气排放口"),
               ("化学需氧量", 50.0, "mg/L", "废水总排口"), ("氨氮", 5.0, "mg/L", "废水总排口"))


@generator("pollution_sources", "uscc enterprise_name district monitored_at outlet pollutant "
           "concentration limit_value unit exceeded", 600)
def _pollution_sources(ctx: Context) -> Iterator[Row]:
    firms = [(ctx.uscc("91", d["code"]), ctx.enterprise_name(), d["name"],
              ctx.rng.sample(_POLLUTANTS, 2)) for d in ctx.divisions]
    for moment, i in ctx.series(len(firms) * 2, dt.timedelta(hours=1)):
        code, name, district, pollutants = firms[i // 2]
        pollutant, limit, unit, outlet = pollutants[i % 2]
        value = round(limit * ctx.rng.lognormvariate(-0.8, 0.45), 2)
        yield {"uscc": code, "enterprise_name": name, "district": district,
               "monitored_at": iso_time(moment), "outlet": f"{outlet}{i % 2 + 1:02d}",
               "pollutant": pollutant, "concentration": value, "limit_value": limit, "unit": unit,
               "exceeded": value > limit}


# --- weather and farming --------------------------------------------------------------------

@generator("weather_observations", "station_id station_name district observed_at temperature "
           "humidity precipitation wind_direction wind_speed pressure visibility", 960)
def _weather_observations(ctx: Context) -> Iterator[Row]:
    sites = [(f"{ctx.region.station_prefix}{i + 10:02d}", f"{d['name']}国家气象观测站", d["name"])
             for i, d in enumerate(ctx.divisions)]
    offset = [ctx.rng.uniform(-1.5, 1.5) for _ in sites]
    rain = [0.0] * len(sites)
    winds = ("北", "东北", "东", "东南", "南", "西南", "西", "西北")
    for moment, i in ctx.series(len(sites), dt.timedelta(hours=1)):
        season = _season(moment.timetuple().tm_yday)
        temperature = (ctx.region.mean_temp - ctx.region.temp_swing * season + offset[i]
                       + 4 * math.sin(2 * math.pi * (moment.hour - 9) / 24) + ctx.rng.gauss(0, 1.2))
        wet = ctx.chance(0.04 + 0.04 * (1 - season)) or (rain[i] > 0 and ctx.chance(0.6))
        rain[i] = round(ctx.rng.expovariate(1 / 2.5), 1) if wet else 0.0
        humidity = round(68 - 9 * season + (25 if wet else 0) + ctx.rng.gauss(0, 8))
        humidity = min(100, max(15, humidity))
        visibility = round(30000 - humidity * 220 + ctx.rng.gauss(0, 2500), -2)
        yield {"station_id": sites[i][0], "station_name": sites[i][1], "district": sites[i][2],
               "observed_at": iso_time(moment), "temperature": round(temperature, 1),
               "humidity": humidity, "precipitation": rain[i], "wind_direction": ctx.pick(winds),
               "wind_speed": round(ctx.rng.gammavariate(2.0, 1.1), 1),
               "pressure": round(ctx.region.pressure + 8 * season + ctx.rng.gauss(0, 2.5), 1),
               "visibility": max(200, int(visibility))}


@generator("weather_warnings",
           "warning_id warning_type level area issued_at lifted_at issuer content", 300)
def _weather_warnings(ctx: Context) -> Iterator[Row]:
    moment = ctx.back(dt.timedelta(days=2), ctx.count)
    levels = (("蓝色", 40), ("黄色", 35), ("橙色", 18), ("红色", 7))
    for seq in itertools.count(1):
        moment += dt.timedelta(hours=ctx.rng.randint(8, 88))
        kind, level = ctx.pick(ctx.region.warnings), ctx.weighted(levels)
        area = ctx.division() if ctx.chance(0.6) else {"code": ctx.code, "name": ctx.name}
        issuer = f"{area['name']}气象台"
        lifted = moment + dt.timedelta(hours=ctx.rng.randint(3, 48))
        yield {"warning_id": f"{area['code']}-{moment:%Y%m%d%H%M}-{seq % 1000:03d}",
               "warning_type": kind, "level": level, "area": area["name"],
               "issued_at": iso_time(moment),
               "lifted_at": iso_time(lifted if lifted < EPOCH_END else None),
               "issuer": issuer,
               "content": f"{issuer}{moment:%Y年%m月%d日%H时%M分}发布{kind}{level}预警信号:预计未来"
                          f"12小时内{area['name']}可能出现{kind}天气,请有关单位和人员做好防范工作。"}


@generator("soil_moisture", "station_id station_name district observed_date depth_cm "
           "moisture_pct drought_level crop", 600)
def _soil_moisture(ctx: Context) -> Iterator[Row]:
    sites = [(f"SM{ctx.code[:2]}{i + 1:04d}", f"{d['name']}{ctx.pick(STREETS)}墒情站", d["name"],
              ctx.pick(("小麦", "玉米", "花生"))) for i, d in enumerate(ctx.divisions)]
    for moment, i in ctx.series(len(sites) * 2, dt.timedelta(days=5)):
        site = sites[i // 2]
        moisture = round(min(100.0, max(25.0, ctx.rng.gauss(70, 14))), 1)
        level = ("重旱" if moisture < 40 else "中旱" if moisture < 50 else "轻旱" if moisture < 60
                 else "适宜" if moisture <= 90 else "过湿")
        yield {"station_id": site[0], "station_name": site[1], "district": site[2],
               "observed_date": iso_date(moment.date()), "depth_cm": (10, 20)[i % 2],
               "moisture_pct": moisture, "drought_level": level, "crop": site[3]}


# --- transport ------------------------------------------------------------------------------

_LANDMARKS = ("医院", "小学", "中学", "公园", "广场", "体育馆", "火车站", "汽车站", "菜市场",
              "社区", "大学", "地铁站", "商场", "图书馆", "政务中心")


def _stop_name(ctx: Context) -> str:
    if ctx.chance(0.5):
        return ctx.pick(ROADS).removesuffix("路") + ctx.pick(("口", "东", "西", "南", "北", "中段"))
    return ctx.pick(STREETS) + ctx.pick(_LANDMARKS)


@generator("bus_routes_stops", "route_no route_name direction stop_seq stop_name district "
           "longitude latitude first_bus last_bus fare", 1200)
def _bus_routes_stops(ctx: Context) -> Iterator[Row]:
    """Route after route, each with its up and down stops; memory is one route."""
    for number in itertools.chain(ctx.rng.sample(range(1, 1000), 999), itertools.count(1000)):
        d = ctx.division()
        lon, lat = ctx.point(d["code"], 0.03)
        heading = ctx.rng.uniform(0, 2 * math.pi)
        stops: list[tuple[str, float, float]] = []
        length = ctx.rng.randint(12, 32)
        while len(stops) < length:
            name = _stop_name(ctx)
            if any(name == s[0] for s in stops):
                continue
            stops.append((name, round(lon, 6), round(lat, 6)))
            heading += ctx.rng.gauss(0, 0.35)
            lon, lat = lon + 0.006 * math.cos(heading), lat + 0.005 * math.sin(heading)
        first = f"0{ctx.rng.randint(5, 6)}:{ctx.pick(('00', '20', '30'))}"
        last = f"2{ctx.rng.randint(0, 2)}:{ctx.pick(('00', '30'))}"
        fare = ctx.pick(ctx.region.fares)
        for direction, ordered in (("上行", stops), ("下行", stops[::-1])):
            for seq, (name, x, y) in enumerate(ordered, start=1):
                yield {"route_no": f"{number}路", "route_name": f"{ordered[0][0]}—{ordered[-1][0]}",
                       "direction": direction, "stop_seq": seq, "stop_name": name,
                       "district": d["name"], "longitude": x, "latitude": y, "first_bus": first,
                       "last_bus": last, "fare": fare}


_CONGESTION = ((2, "畅通"), (4, "基本畅通"), (6, "轻度拥堵"), (8, "中度拥堵"), (10.01, "严重拥堵"))


@generator("traffic_congestion",
           "road_name district recorded_at congestion_index avg_speed level", 960)
def _traffic_congestion(ctx: Context) -> Iterator[Row]:
    roads = [(ctx.pick(ROADS), d["name"], ctx.rng.uniform(0.8, 1.3)) for d in ctx.divisions
             for _ in "ab"]
    for moment, i in ctx.series(len(roads), dt.timedelta(minutes=15)):
        road, district, load = roads[i]
        hour = moment.hour + moment.minute / 60
        peak = (4.2 * math.exp(-((hour - 8.2) ** 2) / 1.2)
                + 4.6 * math.exp(-((hour - 18.0) ** 2) / 1.6))
        workday = 1.0 if moment.weekday() < 5 else 0.6
        index = min(10.0, max(0.1, (1.2 + peak * workday) * load + ctx.rng.gauss(0, 0.5)))
        yield {"road_name": road, "district": district, "recorded_at": iso_time(moment),
               "congestion_index": round(index, 1),
               "avg_speed": round(max(5.0, 58 - 4.8 * index + ctx.rng.gauss(0, 3)), 1),
               "level": next(name for limit, name in _CONGESTION if index < limit)}


@generator("parking_lots", "parking_id name district address total_spaces charging_piles "
           "fee_rule longitude latitude open_24h", 400)
def _parking_lots(ctx: Context) -> Iterator[Row]:
    for n in itertools.count(1):
        d = ctx.division()
        spaces = ctx.rng.choice((ctx.rng.randint(30, 150), ctx.rng.randint(150, 900)))
        lon, lat = ctx.point(d["code"])
        hourly = ctx.pick((2, 3, 4, 5, 6, 8, 10))
        kind = ctx.pick(("地下", "地面", "立体"))
        yield {"parking_id": f"P{d['code']}{n:05d}",
               "name": f"{ctx.pick(STREETS)}{ctx.pick(_LANDMARKS)}{kind}停车场",
               "district": d["name"], "address": ctx.address(d["code"]), "total_spaces": spaces,
               "charging_piles": ctx.rng.randint(0, spaces // 10),
               "fee_rule": f"首小时{hourly}元,之后每小时{max(1, hourly // 2)}元",
               "longitude": lon, "latitude": lat, "open_24h": ctx.chance(0.6)}


# Demonstration codes in the style of the public-security violation code table.
_VIOLATIONS = (("1039", "机动车违反规定停放、临时停车", 0, 150.0),
               ("1625", "不按导向车道行驶", 2, 100.0), ("1345", "违反禁令标志指示", 3, 200.0),
               ("1302", "违反道路交通信号灯通行", 6, 200.0),
               ("1352", "超过规定时速10%以上未达20%", 3, 200.0),
               ("1042", "不按规定使用安全带", 2, 50.0),
               ("1223", "驾驶时拨打接听手持电话", 2, 100.0))


@generator("traffic_violations", "record_id plate_no vehicle_type violation_time location "
           "violation_code violation_desc fine points handled", 800)
def _traffic_violations(ctx: Context) -> Iterator[Row]:
    moment = ctx.back(dt.timedelta(minutes=9), ctx.count)
    plate_chars = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
    for n in itertools.count(1):
        moment += dt.timedelta(minutes=ctx.rng.randint(1, 17))
        code, desc, points, fine = ctx.pick(_VIOLATIONS)
        d = ctx.division()
        plate = ctx.region.plate + ctx.pick(plate_chars) + ctx.pick(plate_chars) + ctx.digits(3)
        yield {"record_id": f"{ctx.code}{moment:%Y%m%d}{n:07d}", "plate_no": plate,
               "vehicle_type": ctx.weighted((("小型汽车", 85), ("大型汽车", 10), ("摩托车", 5))),
               "violation_time": iso_time(moment),
               "location": f"{ctx.full_area(d['code'])}{ctx.pick(ROADS)}与{ctx.pick(ROADS)}交叉口",
               "violation_code": code, "violation_desc": desc, "fine": fine, "points": points,
               "handled": moment < EPOCH_END - dt.timedelta(days=30) or ctx.chance(0.4)}


# --- legal persons, registration and credit -------------------------------------------------

@generator("enterprise_registration", "uscc enterprise_name enterprise_type legal_representative "
           "registered_capital establish_date registration_authority business_status "
           "division_code address business_scope", 2000)
def _enterprise_registration(ctx: Context) -> Iterator[Row]:
    statuses = (("存续", 70), ("在业", 15), ("吊销", 5), ("注销", 8), ("迁出", 2))
    while True:
        d = ctx.pick(ctx.counties)
        name, kind, scope = ctx.enterprise()
        founded = ctx.date_between(dt.date(1993, 1, 1), EPOCH_END.date())
        prefix = "93" if kind == "农民专业合作社" else "91"
        yield {"uscc": ctx.uscc(prefix, d["code"], founded), "enterprise_name": name,
               "enterprise_type": kind, "legal_representative": ctx.person_name(),
               "registered_capital": float(ctx.pick((3, 5, 10, 50, 100, 200, 500, 1000, 5000))),
               "establish_date": iso_date(founded),
               "registration_authority": ctx.authority("工商行政管理局", d["code"]),
               "business_status": ctx.weighted(statuses), "division_code": d["code"],
               "address": ctx.address(d["code"]), "business_scope": scope}


_GOV_BODIES = ("教育委员会", "民政局", "财政局", "人力资源和社会保障局", "卫生和计划生育委员会",
               "司法局", "城乡建设委员会", "农业委员会", "文化委员会", "统计局")
_INSTITUTIONS = ("第一人民医院", "中医院", "疾病预防控制中心", "第二中学", "实验小学", "图书馆",
                 "文化馆", "社会福利院", "不动产登记中心", "公共就业服务中心")
_ASSOCIATIONS = ("软件", "物流", "餐饮", "摄影", "书法", "老年体育", "建筑业")
_NONPROFITS = ("培训学校", "养老院", "幼儿园", "社会工作服务中心")


def _organisation(ctx: Context, kind: str, code: str) -> tuple[str, str, str]:
    """(uscc prefix, name, registration authority) of a legal person of ``kind``."""
    area = ctx.local_area(code)
    if kind == "机关法人":
        return "11", area + ctx.pick(_GOV_BODIES), ctx.authority("机构编制委员会办公室")
    if kind == "事业单位法人":
        return "12", area + ctx.pick(_INSTITUTIONS), ctx.authority("机构编制委员会办公室")
    if kind == "社会团体法人":
        return "51", f"{ctx.name}{ctx.pick(_ASSOCIATIONS)}协会", ctx.authority("民政局")
    if kind == "民办非企业单位":
        name = area + ctx.pick(BRANDS) + ctx.pick(_NONPROFITS)
        return "52", name, ctx.authority("民政局", code)
    if kind == "基金会":
        return "53", f"{ctx.name}{ctx.pick(BRANDS)}慈善基金会", ctx.authority("民政局")
    return "91", ctx.enterprise_name(), ctx.authority("工商行政管理局", code)


@generator("legal_person_basic", "uscc org_name org_type legal_representative division_code "
           "address establish_date registration_authority status", 1500)
def _legal_person_basic(ctx: Context) -> Iterator[Row]:
    kinds = (("企业法人", 70), ("机关法人", 5), ("事业单位法人", 12), ("社会团体法人", 6),
             ("民办非企业单位", 6), ("基金会", 1))
    while True:
        d = ctx.pick(ctx.counties)
        kind = ctx.weighted(kinds)
        prefix, name, authority = _organisation(ctx, kind, d["code"])
        earliest = dt.date(1993, 1, 1) if kind == "企业法人" else dt.date(1980, 1, 1)
        founded = ctx.date_between(earliest, EPOCH_END.date())
        yield {"uscc": ctx.uscc(prefix, d["code"], founded), "org_name": name, "org_type": kind,
               "legal_representative": ctx.person_name(), "division_code": d["code"],
               "address": ctx.address(d["code"]), "establish_date": iso_date(founded),
               "registration_authority": authority,
               "status": ctx.weighted((("正常", 90), ("注销", 7), ("吊销", 3)))}


@generator("social_organizations", "uscc name org_type legal_representative "
           "registration_authority registered_date initial_fund business_scope status", 400)
def _social_organizations(ctx: Context) -> Iterator[Row]:
    kinds = {"社会团体法人": ("社会团体", "行业交流、业务培训、咨询服务、编印资料。", 45),
             "民办非企业单位": ("民办非企业单位", "开展社区养老、职业技能培训等公益性服务。", 50),
             "基金会": ("基金会", "资助扶贫济困、助学助医等公益慈善项目。", 5)}
    while True:
        d = ctx.pick(ctx.counties)
        kind = ctx.weighted(tuple((k, v[2]) for k, v in kinds.items()))
        prefix, name, authority = _organisation(ctx, kind, d["code"])
        registered = ctx.date_between(dt.date(1995, 1, 1), EPOCH_END.date())
        yield {"uscc": ctx.uscc(prefix, d["code"], registered), "name": name,
               "org_type": kinds[kind][0], "legal_representative": ctx.person_name(),
               "registration_authority": authority, "registered_date": iso_date(registered),
               "initial_fund": float(ctx.pick((3, 5, 10, 20, 200, 400))),
               "business_scope": kinds[kind][1],
               "status": ctx.weighted((("正常", 92), ("注销", 6), ("撤销", 2)))}


_RED = (("纳税信用A级纳税人", "依据纳税信用评价结果被评为A级", "地方税务局"),
        ("守合同重信用企业", "连续两年被认定为守合同重信用企业", "工商行政管理局"),
        ("海关高级认证企业", "经海关认证为高级认证企业", "海关"))
_BLACK = (("重大税收违法案件当事人", "存在偷税、骗取出口退税等重大税收违法行为", "国家税务局"),
          ("失信被执行人", "有履行能力而拒不履行生效法律文书确定的义务", "中级人民法院"),
          ("严重违法失信企业", "被列入经营异常名录届满3年仍未履行相关义务", "工商行政管理局"),
          ("拖欠农民工工资失信联合惩戒对象", "克扣、无故拖欠农民工工资数额较大",
           "人力资源和社会保障局"),
          ("安全生产失信联合惩戒对象", "发生较大及以上生产安全责任事故", "安全生产监督管理局"))


@generator("credit_records", "record_id list_type category subject_name uscc "
           "legal_representative reason decision_authority decision_date valid_until", 800)
def _credit_records(ctx: Context) -> Iterator[Row]:
    for n in itertools.count(1):
        red = ctx.chance(0.45)
        category, reason, body = ctx.pick(_RED if red else _BLACK)
        decided = ctx.recent_date(3)
        yield {"record_id": f"XY{ctx.code}{decided:%Y}{n:08d}",
               "list_type": "红名单" if red else "黑名单",
               "category": category, "subject_name": ctx.enterprise_name(), "uscc": ctx.uscc(),
               "legal_representative": ctx.person_name(), "reason": reason,
               "decision_authority": ctx.authority(body), "decision_date": iso_date(decided),
               "valid_until": iso_date(decided + dt.timedelta(days=365 * (2 if red else 3)))}


_PERSONAL_CREDIT = (("守信", "优秀志愿者", "志愿服务时长累计超过1500小时", "民政局"),
                    ("守信", "无偿献血先进个人", "获得无偿献血奉献奖", "卫生和计划生育委员会"),
                    ("失信", "失信被执行人", "有履行能力而拒不履行生效法律文书确定的义务",
                     "中级人民法院"),
                    ("失信", "拖欠农民工工资责任人", "作为用人单位负责人拖欠农民工工资",
                     "人力资源和社会保障局"),
                    ("失信", "交通严重违法行为人", "醉酒驾驶机动车被依法吊销机动车驾驶证",
                     "公安局"))


@generator("personal_credit_records", "id_number name record_type category reason "
           "decision_authority decision_date valid_until", 600)
def _personal_credit_records(ctx: Context) -> Iterator[Row]:
    while True:
        number, name, _, _, _ = ctx.citizen(18, 75)
        kind, category, reason, body = ctx.pick(_PERSONAL_CREDIT)
        decided = ctx.recent_date(3)
        years = 2 if kind == "守信" else 5
        yield {"id_number": number, "name": name, "record_type": kind, "category": category,
               "reason": reason, "decision_authority": ctx.authority(body),
               "decision_date": iso_date(decided),
               "valid_until": iso_date(decided + dt.timedelta(days=365 * years))}


_LICENSING = (("食品经营许可", "登记", "市场监督管理局", "从事预包装食品销售、热食类食品制售"),
              ("药品经营许可", "普通", "食品药品监督管理局",
               "经营处方药、甲类非处方药、乙类非处方药"),
              ("建设项目环境影响评价文件审批", "普通", "环境保护局",
               "同意该项目按报告表所列性质、规模、地点建设"),
              ("排污许可证核发", "普通", "环境保护局", "准予按许可排放浓度和排放量排放大气污染物"),
              ("道路货物运输经营许可", "普通", "交通委员会", "道路普通货物运输"),
              ("建筑工程施工许可", "核准", "城乡建设委员会", "准予该建筑工程开工建设"),
              ("危险化学品经营许可", "普通", "安全生产监督管理局",
               "经营汽油、柴油等危险化学品(无储存)"),
              ("医疗机构执业许可", "普通", "卫生和计划生育委员会",
               "诊疗科目:内科、外科、预防保健科"),
              ("公共场所卫生许可", "普通", "卫生和计划生育委员会", "住宿、沐浴场所卫生许可"),
              ("户外广告设施设置审批", "普通", "市政管理委员会", "设置户外广告牌一处,期限一年"))


@generator("administrative_licensing", "licence_no project_name approval_type subject_name uscc "
           "legal_representative content decision_date valid_until authority status", 1000)
def _administrative_licensing(ctx: Context) -> Iterator[Row]:
    for n in itertools.count(1):
        project, kind, body, content = ctx.pick(_LICENSING)
        d = ctx.division()
        decided = ctx.recent_date(3)
        lasting = project in ("建设项目环境影响评价文件审批", "建筑工程施工许可")
        yield {"licence_no": ctx.doc_no("许", decided.year, n), "project_name": project,
               "approval_type": kind, "subject_name": ctx.enterprise_name(),
               "uscc": ctx.uscc(code=d["code"]), "legal_representative": ctx.person_name(),
               "content": content, "decision_date": iso_date(decided),
               "valid_until": None if lasting else iso_date(decided + dt.timedelta(days=365 * 5)),
               "authority": ctx.authority(body, d["code"] if ctx.chance(0.5) else None),
               "status": ctx.weighted((("有效", 88), ("注销", 8), ("撤销", 4)))}


_PENALTIES = (
    ("销售不符合食品安全标准的食品", "《中华人民共和国食品安全法》第一百二十四条",
     "市场监督管理局"),
    ("超过大气污染物排放标准排放污染物", "《中华人民共和国大气污染防治法》第九十九条",
     "环境保护局"),
    ("未按规定对从业人员进行安全生产教育和培训", "《中华人民共和国安全生产法》第九十四条",
     "安全生产监督管理局"),
    ("发布虚假广告", "《中华人民共和国广告法》第五十五条", "工商行政管理局"),
    ("未按照规定期限办理纳税申报", "《中华人民共和国税收征收管理法》第六十二条",
     "地方税务局"),
    ("销售不符合保障人体健康的国家标准的产品", "《中华人民共和国产品质量法》第四十九条",
     "质量技术监督局"),
)


@generator("administrative_penalties", "decision_no case_name subject_name uscc "
           "legal_representative violation basis penalty_type fine_amount decision_date authority",
           800)
def _administrative_penalties(ctx: Context) -> Iterator[Row]:
    kinds = (("罚款", 60), ("警告、罚款", 25), ("没收违法所得、罚款", 15))
    for n in itertools.count(1):
        violation, basis, body = ctx.pick(_PENALTIES)
        subject = ctx.enterprise_name()
        decided = ctx.recent_date(3)
        yield {"decision_no": ctx.doc_no("罚", decided.year, n),
               "case_name": f"{subject}{violation}案", "subject_name": subject, "uscc": ctx.uscc(),
               "legal_representative": ctx.person_name(),
               "violation": violation, "basis": basis, "penalty_type": ctx.weighted(kinds),
               "fine_amount": float(ctx.pick((2000, 5000, 10000, 20000, 50000, 100000))),
               "decision_date": iso_date(decided), "authority": ctx.authority(body)}


_LICENCE_TYPES = (("营业执照", "工商行政管理局", None), ("食品经营许可证", "市场监督管理局", 5),
                  ("药品经营许可证", "食品药品监督管理局", 5),
                  ("道路运输经营许可证", "交通委员会", 4), ("排污许可证", "环境保护局", 3),
                  ("医疗机构执业许可证", "卫生和计划生育委员会", 5))


@generator("electronic_licenses", "license_id license_type holder_name holder_uscc issuer "
           "issue_date valid_until status", 1000)
def _electronic_licenses(ctx: Context) -> Iterator[Row]:
    for n in itertools.count(1):
        kind, body, years = ctx.pick(_LICENCE_TYPES)
        issued = ctx.recent_date(5)
        expires = issued + dt.timedelta(days=365 * years) if years else None
        status = "有效" if expires is None or expires > EPOCH_END.date() else "过期"
        if ctx.chance(0.05):
            status = ctx.pick(("注销", "吊销"))
        yield {"license_id": f"{ctx.code}{issued:%Y}{n:010d}", "license_type": kind,
               "holder_name": ctx.enterprise_name(), "holder_uscc": ctx.uscc(established=issued),
               "issuer": ctx.authority(body), "issue_date": iso_date(issued),
               "valid_until": iso_date(expires), "status": status}


@generator("tax_credit_ratings", "uscc taxpayer_name rating_year rating authority published_date",
           600)
def _tax_credit_ratings(ctx: Context) -> Iterator[Row]:
    while True:
        year = ctx.rng.randint(2014, 2017)
        yield {"uscc": ctx.uscc(), "taxpayer_name": ctx.enterprise_name(), "rating_year": year,
               "rating": "A", "authority": ctx.authority(ctx.pick(("国家税务局", "地方税务局"))),
               "published_date": iso_date(dt.date(year + 1, 4, ctx.rng.randint(20, 30)))}


_TECH_FIELDS = ("电子信息", "生物与新医药", "航空航天", "新材料", "高技术服务", "新能源与节能",
                "资源与环境", "先进制造与自动化")


@generator("high_tech_enterprises",
           "certificate_no uscc enterprise_name district tech_field issue_date valid_until", 500)
def _high_tech_enterprises(ctx: Context) -> Iterator[Row]:
    for n in itertools.count(1):
        d = ctx.division()
        year, month = ctx.rng.randint(2015, 2017), ctx.pick((8, 10, 11, 12))
        issued = dt.date(year, month, ctx.rng.randint(1, 28))
        yield {"certificate_no": f"GR{issued.year}{ctx.code[:2]}{n:06d}",
               "uscc": ctx.uscc(code=d["code"]), "enterprise_name": ctx.enterprise_name(),
               "district": d["name"], "tech_field": ctx.pick(_TECH_FIELDS),
               "issue_date": iso_date(issued),
               "valid_until": iso_date(issued.replace(year=issued.year + 3) - dt.timedelta(days=1))}


_SECTORS = ("制造业", "批发和零售业", "住宿和餐饮业", "信息传输、软件和信息技术服务业", "建筑业",
            "交通运输、仓储和邮政业", "租赁和商务服务业", "科学研究和技术服务业")
_STAFF = {"微型": (1, 19), "小型": (20, 99), "中型": (100, 999), "大型": (1000, 8000)}


@generator("enterprise_directory",
           "uscc enterprise_name scale industry district employees revenue", 1000)
def _enterprise_directory(ctx: Context) -> Iterator[Row]:
    while True:
        d = ctx.division()
        scale = ctx.weighted((("微型", 55), ("小型", 32), ("中型", 10), ("大型", 3)))
        staff = ctx.rng.randint(*_STAFF[scale])
        yield {"uscc": ctx.uscc(code=d["code"]), "enterprise_name": ctx.enterprise_name(),
               "scale": scale, "industry": ctx.pick(_SECTORS), "district": d["name"],
               "employees": staff, "revenue": round(staff * ctx.rng.uniform(15, 80), 2)}


@generator("law_firms", "uscc name district address director lawyers organization_form "
           "licensed_date status", 300)
def _law_firms(ctx: Context) -> Iterator[Row]:
    while True:
        d = ctx.division()
        form = ctx.weighted((("合伙", 85), ("个人", 12), ("国资", 3)))
        licensed = ctx.date_between(dt.date(1995, 1, 1), EPOCH_END.date())
        # A law firm's 统一社会信用代码: 登记管理部门 3 (司法行政), 机构类别 1 (律师执业机构).
        yield {"uscc": ctx.uscc("31", d["code"], licensed),
               "name": f"{ctx.short}{ctx.pick(BRANDS)}律师事务所", "district": d["name"],
               "address": ctx.address(d["code"]), "director": ctx.person_name(),
               "lawyers": 3 if form == "个人" else ctx.rng.randint(3, 120),
               "organization_form": form, "licensed_date": iso_date(licensed),
               "status": ctx.weighted((("正常", 95), ("注销", 5)))}


# --- health, education, social security, civil affairs --------------------------------------

_SPECIALTIES = ("口腔医院", "眼科医院", "儿童医院", "肿瘤医院", "精神卫生中心", "骨科医院")
_HOSPITALS = (("综合医院", ("三级甲等", "三级乙等", "二级甲等", "二级乙等"), (300, 2500)),
              ("中医医院", ("三级甲等", "二级甲等"), (150, 1200)),
              ("专科医院", ("三级甲等", "二级甲等", "一级"), (50, 800)),
              ("妇幼保健院", ("三级甲等", "二级甲等"), (80, 600)),
              ("社区卫生服务中心", ("未定级",), (0, 60)),
              ("乡镇卫生院", ("一级", "未定级"), (10, 99)))


@generator("medical_institutions", "uscc name category grade ownership district address phone "
           "beds insurance_designated", 500)
def _medical_institutions(ctx: Context) -> Iterator[Row]:
    while True:
        d = ctx.division()
        category, grades, beds = ctx.pick(_HOSPITALS)
        public = ctx.chance(0.7) or category in ("社区卫生服务中心", "乡镇卫生院", "妇幼保健院")
        if category in ("社区卫生服务中心", "乡镇卫生院"):
            name = f"{d['name']}{ctx.pick(STREETS)}{category}"
        elif not public:
            kind = "医院" if category == "综合医院" else ctx.pick(_SPECIALTIES)
            name = f"{ctx.short}{ctx.pick(BRANDS)}{kind}"
        elif category == "综合医院":
            name = f"{d['name']}{ctx.pick(('第一', '第二', '第三', '中心', ''))}人民医院"
        elif category == "专科医院":
            name = d["name"] + ctx.pick(_SPECIALTIES)
        else:
            name = d["name"] + category
        yield {"uscc": ctx.uscc("12" if public else "52", d["code"]), "name": name,
               "category": category, "grade": ctx.pick(grades),
               "ownership": "公立" if public else "民营", "district": d["name"],
               "address": ctx.address(d["code"]), "phone": ctx.office_phone(),
               "beds": ctx.rng.randint(*beds), "insurance_designated": public or ctx.chance(0.6)}


# ((type, name ending, pupils), weight)
_SCHOOL_TYPES = ((("小学", "小学", (300, 2800)), 55), (("初级中学", "中学", (400, 2500)), 20),
                 (("完全中学", "中学", (1200, 4500)), 6),
                 (("高级中学", "高级中学", (900, 4000)), 7),
                 (("九年一贯制学校", "学校", (600, 3000)), 8),
                 (("中等职业学校", "职业教育中心", (600, 5000)), 4))


@generator("schools", "school_code name school_type nature district address students teachers "
           "founded_year phone", 600)
def _schools(ctx: Context) -> Iterator[Row]:
    for n in itertools.count(1):
        d = ctx.division()
        kind, label, size = ctx.weighted(_SCHOOL_TYPES)
        public = ctx.chance(0.85)
        if public:
            name = f"{ctx.local_area(d['code'])}{ctx.pick(STREETS)}{label}"
        else:
            flavour = "外国语" if kind != "中等职业学校" else ""
            name = f"{ctx.short}{ctx.pick(BRANDS)}{flavour}{label}"
        students = ctx.rng.randint(*size)
        yield {"school_code": f"2{ctx.code[:2]}{n:07d}", "name": name, "school_type": kind,
               "nature": "公办" if public else "民办", "district": d["name"],
               "address": ctx.address(d["code"]), "students": students,
               "teachers": max(8, round(students / ctx.rng.uniform(12, 19))),
               "founded_year": ctx.rng.randint(1905, 2016), "phone": ctx.office_phone()}


_GRADE_NAMES = ("一年级", "二年级", "三年级", "四年级", "五年级", "六年级", "七年级", "八年级",
                "九年级")


@generator("student_status",
           "student_id id_number name gender school_name grade enrollment_date", 1000)
def _student_status(ctx: Context) -> Iterator[Row]:
    while True:
        number, name, male, born, code = ctx.citizen(6, 15)
        grade = max(0, min(8, (EPOCH_END.date() - born).days // 365 - 6))
        school = f"{ctx.local_area(code)}{ctx.pick(STREETS)}{'小学' if grade < 6 else '中学'}"
        yield {"student_id": "G" + number, "id_number": number, "name": name,
               "gender": "男" if male else "女", "school_name": school,
               "grade": _GRADE_NAMES[grade],
               "enrollment_date": iso_date(dt.date(EPOCH_END.year - grade - 1, 9, 1))}


@generator("health_records", "id_number name gender birth_date blood_type chronic_disease allergy "
           "family_doctor_team created_date institution", 1000)
def _health_records(ctx: Context) -> Iterator[Row]:
    blood = (("A", 28), ("B", 24), ("O", 41), ("AB", 7))
    while True:
        number, name, male, born, code = ctx.citizen(0, 95)
        older = (EPOCH_END.date() - born).days > 365 * 40
        chronic = (ctx.pick(("高血压", "2型糖尿病", "冠心病", "慢性阻塞性肺疾病"))
                   if older and ctx.chance(0.35) else None)
        doctor = f"{ctx.person_name()}家庭医生团队" if ctx.chance(0.4) else None
        created = ctx.date_between(max(born, dt.date(2010, 1, 1)), EPOCH_END.date())
        yield {"id_number": number, "name": name, "gender": "男" if male else "女",
               "birth_date": iso_date(born), "blood_type": ctx.weighted(blood),
               "chronic_disease": chronic,
               "allergy": ctx.pick(("青霉素", "磺胺类", "花粉")) if ctx.chance(0.08) else None,
               "family_doctor_team": doctor,
               "created_date": iso_date(created),
               "institution": f"{ctx.local_area(code)}{ctx.pick(STREETS)}社区卫生服务中心"}


_INSURANCE = ("企业职工基本养老保险", "城乡居民基本养老保险", "职工基本医疗保险",
              "城乡居民基本医疗保险", "失业保险", "工伤保险", "生育保险")


@generator("social_insurance_persons", "id_number name insurance_type unit_uscc unit_name status "
           "start_date contribution_base", 1200)
def _social_insurance_persons(ctx: Context) -> Iterator[Row]:
    while True:
        number, name, _, born, code = ctx.citizen(18, 80)
        kind = ctx.pick(_INSURANCE)
        employed = "城乡居民" not in kind
        adult = min(dt.date(born.year + 18, born.month, 1), EPOCH_END.date())
        start = ctx.date_between(max(dt.date(1995, 1, 1), adult), EPOCH_END.date())
        yield {"id_number": number, "name": name, "insurance_type": kind,
               "unit_uscc": ctx.uscc(code=code) if employed else None,
               "unit_name": ctx.enterprise_name() if employed else None,
               "status": ctx.weighted((("参保缴费", 80), ("暂停缴费", 15), ("终止参保", 5))),
               "start_date": iso_date(start),
               "contribution_base": ctx.money(3000, 18000) if employed else None}


@generator("social_insurance_units", "uscc unit_name district insured_persons pension medical "
           "unemployment injury maternity registered_date", 800)
def _social_insurance_units(ctx: Context) -> Iterator[Row]:
    while True:
        d = ctx.division()
        registered = ctx.date_between(dt.date(1995, 1, 1), EPOCH_END.date())
        full = ctx.chance(0.8)  # most units pay all five insurances
        yield {"uscc": ctx.uscc(code=d["code"], established=registered),
               "unit_name": ctx.enterprise_name(), "district": d["name"],
               "insured_persons": ctx.rng.randint(1, 900), "pension": True, "medical": True,
               "unemployment": full or ctx.chance(0.5), "injury": full or ctx.chance(0.7),
               "maternity": full or ctx.chance(0.4), "registered_date": iso_date(registered)}


_POSITIONS = (("普工", "初中", 3000, 5500), ("销售代表", "高中", 3500, 8000),
              ("会计", "大专", 4000, 7000), ("软件工程师", "本科", 8000, 20000),
              ("护士", "大专", 4000, 7500), ("厨师", "不限", 3500, 6500),
              ("快递员", "不限", 4000, 8000), ("电工", "中专", 4000, 7000),
              ("行政文员", "大专", 3000, 5000), ("机械设计工程师", "本科", 6000, 13000),
              ("保安", "不限", 2800, 4200), ("幼儿教师", "大专", 3000, 5500))


@generator("job_postings", "job_id employer_name employer_uscc position openings salary_min "
           "salary_max education district published_date valid_until", 800)
def _job_postings(ctx: Context) -> Iterator[Row]:
    wages = {"44": 1.35, "21": 0.8, "41": 0.8}.get(ctx.code[:2], 1.0)
    for n in itertools.count(1):
        d = ctx.division()
        position, education, low, high = ctx.pick(_POSITIONS)
        published = ctx.recent_date(1)
        yield {"job_id": f"ZP{ctx.code}{n:08d}", "employer_name": ctx.enterprise_name(),
               "employer_uscc": ctx.uscc(code=d["code"]), "position": position,
               "openings": ctx.rng.randint(1, 30), "salary_min": float(round(low * wages, -2)),
               "salary_max": float(round(high * wages, -2)), "education": education,
               "district": d["name"], "published_date": iso_date(published),
               "valid_until": iso_date(published + dt.timedelta(days=60))}


@generator("elderly_care_institutions", "uscc name nature district address beds occupied_beds "
           "nursing_beds phone opened_date", 300)
def _elderly_care_institutions(ctx: Context) -> Iterator[Row]:
    while True:
        d = ctx.division()
        nature = ctx.weighted((("公办", 35), ("民办", 50), ("公建民营", 15)))
        beds = ctx.rng.randint(30, 600)
        opened = ctx.date_between(dt.date(1990, 1, 1), EPOCH_END.date())
        if nature == "公办" and ctx.chance(0.3):
            name = f"{ctx.local_area(d['code'])}社会福利院"
        else:
            name = d["name"] + ctx.pick(BRANDS) + ctx.pick(("养老院", "老年公寓", "颐养中心"))
        prefix = "12" if nature == "公办" else "52"
        yield {"uscc": ctx.uscc(prefix, d["code"], opened), "name": name,
               "nature": nature, "district": d["name"], "address": ctx.address(d["code"]),
               "beds": beds, "occupied_beds": round(beds * ctx.rng.uniform(0.35, 0.95)),
               "nursing_beds": round(beds * ctx.rng.uniform(0.2, 0.6)), "phone": ctx.office_phone(),
               "opened_date": iso_date(opened)}


_COMMUNITY_SERVICES = ("社会救助申请", "居住证办理", "就业登记", "计划生育服务", "老年人优待证办理",
                       "残疾人服务", "医保参保登记", "法律援助咨询")


@generator("community_service_centers", "name district street address phone service_items "
           "open_hours longitude latitude", 300)
def _community_service_centers(ctx: Context) -> Iterator[Row]:
    while True:
        d = ctx.division()
        street = ctx.street()
        lon, lat = ctx.point(d["code"])
        yield {"name": f"{d['name']}{street}{ctx.pick(('社区', '便民'))}服务中心",
               "district": d["name"],
               "street": street, "address": ctx.address(d["code"]), "phone": ctx.office_phone(),
               "service_items": "、".join(ctx.rng.sample(_COMMUNITY_SERVICES, 4)),
               "open_hours": "周一至周五 9:00-12:00,14:00-17:30", "longitude": lon, "latitude": lat}


_CAUSES = (("因病", 40), ("因残", 14), ("缺技术", 12), ("缺劳力", 10), ("缺资金", 10), ("因学", 8),
           ("交通条件落后", 3), ("自身发展动力不足", 3))
_MEASURES = ("产业扶持", "转移就业", "易地扶贫搬迁", "教育扶贫", "健康扶贫", "生态补偿",
             "社会保障兜底")


@generator("poverty_households", "household_id id_number name district household_size "
           "poverty_cause income_per_capita assistance status year_identified", 800)
def _poverty_households(ctx: Context) -> Iterator[Row]:
    for n in itertools.count(1):
        number, name, _, _, code = ctx.citizen(25, 85)
        exited = ctx.chance(0.55)
        yield {"household_id": f"{code}{n:08d}", "id_number": number, "name": name,
               "district": ctx.names_by_code[code], "household_size": ctx.rng.randint(1, 7),
               "poverty_cause": ctx.weighted(_CAUSES),
               "income_per_capita": ctx.money(3500, 6500) if exited else ctx.money(1500, 3200),
               "assistance": "、".join(ctx.rng.sample(_MEASURES, 2)),
               "status": "已脱贫" if exited else "未脱贫",
               "year_identified": ctx.rng.randint(2014, 2017)}


_BANKS = (("中国工商银行", "621226"), ("中国农业银行", "622848"), ("中国银行", "621661"),
          ("中国建设银行", "621700"), ("交通银行", "622262"), ("中国邮政储蓄银行", "621799"))


@generator("social_security_cards", "card_no id_number name gender division_code bank "
           "bank_account issue_date status", 800)
def _social_security_cards(ctx: Context) -> Iterator[Row]:
    while True:
        number, name, male, _, code = ctx.citizen(0, 90)
        bank, bank_bin = ctx.pick(_BANKS)
        yield {"card_no": ctx.pick("ABCDEFGHJKLMN") + ctx.digits(8), "id_number": number,
               "name": name, "gender": "男" if male else "女", "division_code": code, "bank": bank,
               "bank_account": bank_bin + ctx.digits(13),
               "issue_date": iso_date(ctx.recent_date(6)),
               "status": ctx.weighted((("正常", 94), ("挂失", 4), ("注销", 2)))}


@generator("population_basic",
           "id_number name gender ethnicity birth_date division_code address phone", 2000)
def _population_basic(ctx: Context) -> Iterator[Row]:
    while True:
        number, name, male, born, code = ctx.citizen(0, 100)
        has_phone = (EPOCH_END.date() - born).days > 365 * 16
        ethnicity = ctx.pick(ctx.region.minorities) if ctx.chance(0.06) else "汉族"
        yield {"id_number": number, "name": name, "gender": "男" if male else "女",
               "ethnicity": ethnicity, "birth_date": iso_date(born), "division_code": code,
               "address": ctx.address(code, dwelling=True),
               "phone": ctx.mobile() if has_phone else None}


# --- food, drugs, safety, markets, energy ---------------------------------------------------

_FOODS = (("大米", "粮食加工品"), ("挂面", "粮食加工品"), ("食用植物油", "食用油、油脂及其制品"),
          ("酱油", "调味品"), ("纯牛奶", "乳制品"), ("饮用纯净水", "饮料"), ("火锅底料", "调味品"),
          ("腊肉", "肉制品"), ("饼干", "饼干"), ("白酒", "酒类"), ("豆腐", "豆制品"),
          ("鸡蛋", "食用农产品"), ("韭菜", "食用农产品"), ("猪肉", "食用农产品"))
_UNQUALIFIED = ("菌落总数", "大肠菌群", "酸价", "过氧化值", "二氧化硫残留量", "腐霉利", "恩诺沙星",
                "苯甲酸及其钠盐")


@generator("food_sampling", "sample_no product_name category producer_name producer_uscc "
           "sampled_date sampled_unit result unqualified_item authority", 1000)
def _food_sampling(ctx: Context) -> Iterator[Row]:
    shops = ("超市", "农贸市场", "便利店", "餐馆")
    for n in itertools.count(1):
        product, category = ctx.pick(_FOODS)
        sampled = ctx.recent_date(2)
        passed = ctx.chance(0.96)
        yield {"sample_no": f"DC{sampled:%y}{ctx.code}{n:08d}", "product_name": product,
               "category": category, "producer_name": ctx.enterprise_name(),
               "producer_uscc": ctx.uscc(), "sampled_date": iso_date(sampled),
               "sampled_unit": ctx.division()["name"] + ctx.pick(BRANDS) + ctx.pick(shops),
               "result": "合格" if passed else "不合格",
               "unqualified_item": None if passed else ctx.pick(_UNQUALIFIED),
               "authority": ctx.authority("食品药品监督管理局")}


@generator("drug_retailers", "licence_no name uscc business_mode district address "
           "quality_manager valid_until", 600)
def _drug_retailers(ctx: Context) -> Iterator[Row]:
    for n in itertools.count(1):
        d = ctx.division()
        chain = ctx.chance(0.55)
        suffix = f"连锁有限公司{ctx.pick(STREETS)}店" if chain else "有限公司"
        expires = EPOCH_END.date() + dt.timedelta(days=ctx.rng.randint(30, 1800))
        yield {"licence_no": f"{ctx.region.abbr}{'CB' if chain else 'DA'}{d['code'][2:]}{n:05d}",
               "name": f"{ctx.short}{ctx.pick(BRANDS)}大药房{suffix}",
               "uscc": ctx.uscc(code=d["code"]),
               "business_mode": "零售(连锁)" if chain else "零售", "district": d["name"],
               "address": ctx.address(d["code"]), "quality_manager": ctx.person_name(),
               "valid_until": iso_date(expires)}


_CHEMICALS = ("液氯", "液氨", "汽油", "柴油", "甲醇", "硫酸", "盐酸", "天然气", "液化石油气",
              "乙炔", "苯")


@generator("hazardous_chemicals", "uscc name district address business_type main_chemicals "
           "major_hazard_level storage_capacity_t licence_no valid_until longitude latitude", 300)
def _hazardous_chemicals(ctx: Context) -> Iterator[Row]:
    for n in itertools.count(1):
        d = ctx.division()
        lon, lat = ctx.point(d["code"], 0.08)
        issued = ctx.recent_date(3)
        hazard = ctx.pick(("一级", "二级", "三级", "四级")) if ctx.chance(0.3) else None
        kind = ctx.weighted((("经营", 50), ("使用", 25), ("储存", 15), ("生产", 10)))
        yield {"uscc": ctx.uscc(code=d["code"]), "name": ctx.enterprise_name(),
               "district": d["name"], "address": ctx.address(d["code"]), "business_type": kind,
               "main_chemicals": "、".join(ctx.rng.sample(_CHEMICALS, ctx.rng.randint(1, 3))),
               "major_hazard_level": hazard,
               "storage_capacity_t": round(ctx.rng.uniform(5, 3000), 1),
               "licence_no": f"{ctx.region.abbr}危化经字〔{issued.year}〕{n:06d}",
               "valid_until": iso_date(issued + dt.timedelta(days=365 * 3)),
               "longitude": lon, "latitude": lat}


_SAFETY_INDUSTRIES = ("危险化学品", "非煤矿山", "烟花爆竹", "冶金", "有色", "建材", "机械", "轻工")


@generator("safety_inspections", "inspection_no enterprise_name uscc industry inspected_date "
           "hidden_dangers major_hidden_dangers rectified penalized authority", 800)
def _safety_inspections(ctx: Context) -> Iterator[Row]:
    for n in itertools.count(1):
        inspected = ctx.recent_date(2)
        found = ctx.rng.choice((0, 0, 1, 2, 3, 5, 8))
        major = 1 if found and ctx.chance(0.08) else 0
        settled = inspected < EPOCH_END.date() - dt.timedelta(days=60)
        yield {"inspection_no": f"{ctx.region.abbr}安监检〔{inspected.year}〕{n:05d}",
               "enterprise_name": ctx.enterprise_name(), "uscc": ctx.uscc(),
               "industry": ctx.pick(_SAFETY_INDUSTRIES), "inspected_date": iso_date(inspected),
               "hidden_dangers": found, "major_hidden_dangers": major,
               "rectified": found if settled else ctx.rng.randint(0, found),
               "penalized": major > 0 or (found > 3 and ctx.chance(0.5)),
               "authority": ctx.authority("安全生产监督管理局")}


_MARKET_GOODS = (("白菜", "蔬菜", "普通", "元/公斤", 1.6), ("土豆", "蔬菜", "普通", "元/公斤", 2.4),
                 ("西红柿", "蔬菜", "普通", "元/公斤", 4.8),
                 ("黄瓜", "蔬菜", "普通", "元/公斤", 4.0),
                 ("苹果", "水果", "富士一级", "元/公斤", 8.0),
                 ("香蕉", "水果", "普通", "元/公斤", 5.5),
                 ("猪肉", "肉类", "精瘦肉", "元/公斤", 28.0),
                 ("牛肉", "肉类", "鲜牛肉", "元/公斤", 62.0),
                 ("鸡蛋", "禽蛋", "鲜鸡蛋", "元/公斤", 9.0),
                 ("草鱼", "水产", "活鱼", "元/公斤", 16.0),
                 ("大米", "粮油", "粳米", "元/公斤", 5.6),
                 ("面粉", "粮油", "富强粉", "元/公斤", 4.6),
                 ("大豆油", "粮油", "5L桶装", "元/桶", 58.0))


@generator("commodity_prices", "market_name commodity category spec unit price_min price_max "
           "price_avg report_date", 1040)
def _commodity_prices(ctx: Context) -> Iterator[Row]:
    markets = [f"{ctx.short}{ctx.pick(STREETS)}农产品批发市场" for _ in range(2)]
    goods = [(m, g) for m in markets for g in _MARKET_GOODS]
    drift = [1.0] * len(goods)
    for moment, i in ctx.series(len(goods), dt.timedelta(days=1)):
        market, (name, category, spec, unit, base) = goods[i]
        drift[i] = min(1.6, max(0.6, drift[i] * ctx.rng.lognormvariate(0, 0.03)))
        season = 1 + (0.25 * _season(moment.timetuple().tm_yday) if category == "蔬菜" else 0)
        avg = base * drift[i] * season
        yield {"market_name": market, "commodity": name, "category": category, "spec": spec,
               "unit": unit, "price_min": round(avg * 0.85, 2), "price_max": round(avg * 1.15, 2),
               "price_avg": round(avg, 2), "report_date": iso_date(moment.date())}


_ENERGY_INDUSTRIES = ("钢铁", "有色金属", "化工", "建材", "电力", "煤炭", "纺织", "造纸")


@generator("energy_consumption", "uscc unit_name district industry year total_energy_tce "
           "electricity_10k_kwh target_tce target_met", 400)
def _energy_consumption(ctx: Context) -> Iterator[Row]:
    firms = [(ctx.uscc(code=d["code"]), ctx.enterprise_name(), d["name"],
              ctx.pick(_ENERGY_INDUSTRIES), ctx.rng.uniform(1e4, 6e5))
             for d in ctx.divisions for _ in "abc"]
    for moment, i in ctx.series(len(firms), dt.timedelta(days=365.25)):
        code, name, district, industry, target = firms[i]
        used = target * ctx.rng.uniform(0.9, 1.08)
        yield {"uscc": code, "unit_name": name, "district": district, "industry": industry,
               "year": moment.year - 1, "total_energy_tce": round(used, 1),
               "electricity_10k_kwh": round(used * ctx.rng.uniform(0.8, 2.5), 1),
               "target_tce": round(target, 1), "target_met": used <= target}


# --- culture, tourism, government services, statistics, city management, land ---------------

_SCENIC = ("古镇", "森林公园", "湿地公园", "风景区", "博物馆", "温泉度假区", "植物园", "动物园",
           "文化园", "寺")


@generator("tourist_attractions", "name grade district address longitude latitude ticket_price "
           "open_hours phone", 200)
def _tourist_attractions(ctx: Context) -> Iterator[Row]:
    seen: set[str] = set()  # names repeat only after 1,000 distinct ones: bounded memory
    grades = (("5A", 3), ("4A", 27), ("3A", 40), ("2A", 25), ("1A", 5))
    hours = ("08:30-17:30", "09:00-17:00", "全天开放", "08:00-18:00(周一闭馆)")
    while True:
        d = ctx.division()
        name = f"{_place_word(d['name'])}{ctx.pick(STREETS)}{ctx.pick(_SCENIC)}"
        if len(seen) >= 1000:
            seen.clear()
        if name in seen:
            continue
        seen.add(name)
        lon, lat = ctx.point(d["code"], 0.1)
        price = 0.0 if ctx.chance(0.35) else float(ctx.pick((20, 30, 40, 60, 80, 100, 120, 180)))
        yield {"name": name, "grade": ctx.weighted(grades), "district": d["name"],
               "address": ctx.address(d["code"]), "longitude": lon, "latitude": lat,
               "ticket_price": price, "open_hours": ctx.pick(hours), "phone": ctx.office_phone()}


@generator("scenic_visitor_flow",
           "scenic_name recorded_at visitors_in_park max_capacity load_rate comfort_level", 960)
def _scenic_visitor_flow(ctx: Context) -> Iterator[Row]:
    spots = [(f"{_place_word(d['name'])}{ctx.pick(_SCENIC)}", ctx.pick((8000, 15000, 30000, 60000)))
             for d in ctx.divisions[:8]]
    holidays = ((5, 1), (10, 1), (10, 2), (10, 3))
    for moment, i in ctx.series(len(spots), dt.timedelta(hours=1)):
        name, capacity = spots[i]
        busy = 0.75 if moment.weekday() >= 5 or (moment.month, moment.day) in holidays else 0.35
        share = math.sin(math.pi * (moment.hour - 8) / 10) * busy if 8 <= moment.hour <= 18 else 0.0
        visitors = max(0, round(capacity * share * ctx.rng.uniform(0.7, 1.2)))
        rate = round(100 * visitors / capacity, 1)
        comfort = ("舒适" if rate < 30 else "较舒适" if rate < 50 else "一般" if rate < 70
                   else "较拥挤" if rate < 90 else "拥挤")
        yield {"scenic_name": name, "recorded_at": iso_time(moment), "visitors_in_park": visitors,
               "max_capacity": capacity, "load_rate": rate, "comfort_level": comfort}


@generator("cultural_venues", "name venue_type district address open_hours free_admission phone "
           "longitude latitude", 240)
def _cultural_venues(ctx: Context) -> Iterator[Row]:
    kinds = (("公共图书馆", 30), ("文化馆", 30), ("博物馆", 20), ("美术馆", 8), ("档案馆", 6),
             ("体育馆", 6))
    hours = ("09:00-17:00(周一闭馆)", "09:00-20:30", "08:30-17:30")
    while True:
        d = ctx.division()
        kind = ctx.weighted(kinds)
        lon, lat = ctx.point(d["code"])
        if ctx.chance(0.6):
            name = ctx.local_area(d["code"]) + ("图书馆" if kind == "公共图书馆" else kind)
        else:
            name = d["name"] + ctx.pick(STREETS) + ("综合文化站" if kind == "文化馆" else kind)
        yield {"name": name, "venue_type": kind, "district": d["name"],
               "address": ctx.address(d["code"]), "open_hours": ctx.pick(hours),
               "free_admission": kind != "体育馆" or ctx.chance(0.3), "phone": ctx.office_phone(),
               "longitude": lon, "latitude": lat}


_SERVICE_ITEMS = (  # (name, type, implementing body, legal basis, days, fee)
    ("食品经营许可", "行政许可", "市场监督管理局",
     "《中华人民共和国食品安全法》第三十五条", 20, False),
    ("药品经营许可证核发(零售)", "行政许可", "食品药品监督管理局",
     "《中华人民共和国药品管理法》第十四条", 30, False),
    ("建设工程规划许可证核发", "行政许可", "规划局",
     "《中华人民共和国城乡规划法》第四十条", 20, False),
    ("建筑工程施工许可证核发", "行政许可", "城乡建设委员会",
     "《中华人民共和国建筑法》第七条", 15, False),
    ("医疗机构执业登记", "行政许可", "卫生和计划生育委员会",
     "《医疗机构管理条例》第十五条", 45, False),
    ("公共场所卫生许可", "行政许可", "卫生和计划生育委员会",
     "《公共场所卫生管理条例》第八条", 20, False),
    ("最低生活保障审批", "行政给付", "民政局", "《社会救助暂行办法》第十一条", 30,
     False),
    ("内地居民婚姻登记", "行政确认", "民政局", "《婚姻登记条例》第二条", 1, False),
    ("社会团体成立登记", "行政许可", "民政局", "《社会团体登记管理条例》第九条", 60,
     False),
    ("失业保险金申领", "行政给付", "人力资源和社会保障局", "《失业保险条例》第十四条",
     10, False),
    ("工伤认定", "行政确认", "人力资源和社会保障局", "《工伤保险条例》第十七条", 60,
     False),
    ("排污许可证核发", "行政许可", "环境保护局",
     "《中华人民共和国大气污染防治法》第十九条", 20, False),
    ("建设项目环境影响报告表审批", "行政许可", "环境保护局",
     "《中华人民共和国环境影响评价法》第二十二条", 30, False),
    ("户外广告设施设置审批", "行政许可", "市政管理委员会",
     "《城市市容和环境卫生管理条例》第十一条", 10, False),
    ("居民身份证申领", "公共服务", "公安局", "《中华人民共和国居民身份证法》第八条",
     60, True),
    ("特种设备使用登记", "行政许可", "质量技术监督局",
     "《中华人民共和国特种设备安全法》第三十三条", 15, False),
    ("危险化学品经营许可", "行政许可", "安全生产监督管理局",
     "《危险化学品安全管理条例》第三十三条", 30, False),
    ("教师资格认定", "行政许可", "教育委员会", "《教师资格条例》第十三条", 30, False),
)


@generator("gov_service_items", "item_code item_name item_type department legal_basis "
           "time_limit_days fee online max_visits", 300)
def _gov_service_items(ctx: Context) -> Iterator[Row]:
    """Each service item at the jurisdiction's level, then at each division's level, in turn."""
    units = [{"code": ctx.code, "name": ctx.name}, *ctx.divisions]
    for k in itertools.count():
        unit = units[(k // len(_SERVICE_ITEMS)) % len(units)]
        name, kind, body, basis, days, fee = _SERVICE_ITEMS[k % len(_SERVICE_ITEMS)]
        online = ctx.chance(0.7)
        promised = max(1, days - ctx.rng.choice((0, 0, days // 4)))  # often under the legal limit
        yield {"item_code": f"{unit['code']}-{kind[:2]}-{k % len(_SERVICE_ITEMS) + 1:04d}",
               "item_name": name, "item_type": kind,
               "department": ctx.authority(body, unit["code"]), "legal_basis": basis,
               "time_limit_days": promised, "fee": fee, "online": online,
               "max_visits": ctx.pick((0, 1)) if online else ctx.pick((1, 2))}


_INDICATORS = (("A01", "规模以上工业增加值增速", "%", 8.5, 2.5, "rate"),
               ("A02", "社会消费品零售总额", "亿元", 60.0, 0.1, "level"),
               ("A03", "固定资产投资增速", "%", 10.0, 4.0, "rate"),
               ("A04", "居民消费价格指数", "上年同月=100", 101.8, 0.7, "rate"),
               ("A05", "一般公共预算收入", "亿元", 9.0, 0.15, "level"),
               ("A06", "进出口总额", "亿元", 20.0, 0.2, "level"),
               ("A07", "城镇新增就业人数", "人", 3200.0, 0.2, "level"),
               ("A08", "全社会用电量", "亿千瓦时", 4.0, 0.1, "level"))


@generator("statistical_indicators",
           "indicator_code indicator_name period division_code value unit", 1080)
def _statistical_indicators(ctx: Context) -> Iterator[Row]:
    """Monthly indicators for the jurisdiction (the sum of its parts) and each division."""
    units = [ctx.code] + [d["code"] for d in ctx.divisions]
    size = {code: ctx.rng.uniform(0.4, 1.8) for code in units}
    size[ctx.code] = float(len(units))
    for offset, month in ctx.months(len(units) * len(_INDICATORS)):
        growth = 1.08 ** (offset / 12)  # 8% a year
        for code in units:
            for indicator, name, unit, base, spread, kind in _INDICATORS:
                if kind == "rate":
                    value = base + ctx.rng.gauss(0, spread)
                else:
                    value = base * size[code] * growth * (1 + ctx.rng.gauss(0, spread))
                yield {"indicator_code": indicator, "indicator_name": name, "period": month,
                       "division_code": code, "value": round(value, 2), "unit": unit}


_CASES = (("市容环境", ("暴露垃圾", "积存垃圾渣土", "道路不洁", "违规张贴")),
          ("街面秩序", ("店外经营", "占道经营", "无照游商", "机动车乱停放")),
          ("施工管理", ("施工扰民", "施工废弃料", "道路破损")),
          ("设施管理", ("井盖破损", "路灯不亮", "护栏损坏", "垃圾箱满溢")),
          ("宣传广告", ("非法小广告", "广告牌破损")))


@generator("city_management_cases", "case_id category subcategory district street reported_at "
           "source status closed_at", 1000)
def _city_management_cases(ctx: Context) -> Iterator[Row]:
    moment = ctx.back(dt.timedelta(minutes=20), ctx.count)
    sources = (("监督员上报", 60), ("市民热线", 25), ("视频发现", 10), ("媒体曝光", 5))
    for n in itertools.count(1):
        moment += dt.timedelta(minutes=ctx.rng.randint(1, 39))
        category, subcategories = ctx.pick(_CASES)
        d = ctx.division()
        closed = moment + dt.timedelta(hours=ctx.rng.randint(1, 96))
        done = closed < EPOCH_END
        yield {"case_id": f"{d['code']}{moment:%Y%m%d}{n:06d}", "category": category,
               "subcategory": ctx.pick(subcategories), "district": d["name"],
               "street": ctx.street(),
               "reported_at": iso_time(moment), "source": ctx.weighted(sources),
               "status": "已结案" if done else ctx.pick(("已立案", "已派遣", "已处置")),
               "closed_at": iso_time(closed) if done else None}


_COMPONENTS = (("井盖", "市政设施管理处"), ("路灯", "路灯管理所"), ("消防栓", "消防支队"),
               ("公交站亭", "公交集团"), ("垃圾箱", "环境卫生管理处"), ("行道树", "园林绿化管理处"),
               ("交通信号灯", "交警支队"), ("通信交接箱", "电信分公司"))


@generator("urban_components", "component_id category district road status owner_department "
           "longitude latitude updated_date", 1500)
def _urban_components(ctx: Context) -> Iterator[Row]:
    for n in itertools.count(1):
        kind_index = ctx.rng.randrange(len(_COMPONENTS))
        kind, owner = _COMPONENTS[kind_index]
        d = ctx.division()
        lon, lat = ctx.point(d["code"])
        yield {"component_id": f"{d['code']}{kind_index + 1:02d}{n:08d}", "category": kind,
               "district": d["name"], "road": ctx.pick(ROADS),
               "status": ctx.weighted((("完好", 90), ("破损", 6), ("丢失", 1), ("占用", 3))),
               "owner_department": ctx.name + owner, "longitude": lon, "latitude": lat,
               "updated_date": iso_date(ctx.recent_date(1))}


@generator("construction_permits", "permit_no project_name builder_name builder_uscc "
           "contractor_name district area_m2 contract_price issue_date", 500)
def _construction_permits(ctx: Context) -> Iterator[Row]:
    kinds = ("住宅小区", "商业综合体", "学校教学楼", "医院门诊楼", "标准厂房", "安置房", "办公楼")
    for n in itertools.count(1):
        d = ctx.pick(ctx.counties)
        issued = ctx.recent_date(3)
        area = round(ctx.rng.uniform(3000, 250000), 2)
        phase = ctx.pick(("一期", "二期", "", "项目"))
        yield {"permit_no": f"{d['code']}{issued:%Y%m%d}{n % 10000:04d}",
               "project_name": f"{ctx.pick(BRANDS)}{ctx.pick(kinds)}{phase}工程",
               "builder_name": ctx.enterprise_name(), "builder_uscc": ctx.uscc(code=d["code"]),
               "contractor_name": f"{ctx.short}{ctx.pick(BRANDS)}建设工程有限公司",
               "district": d["name"], "area_m2": area,
               "contract_price": round(area * ctx.rng.uniform(0.15, 0.35), 2),
               "issue_date": iso_date(issued)}


_LAND_USES = ("住宅用地", "商服用地", "工矿仓储用地", "公共管理与公共服务用地", "交通运输用地")


@generator("land_parcels", "parcel_code division_code location land_use area_m2 right_type "
           "supplied_date longitude latitude", 800)
def _land_parcels(ctx: Context) -> Iterator[Row]:
    """宗地代码 (TD/T 1001-2012): division 6 + 地籍区 3 + 地籍子区 3 + 特征码 2 + 宗地号 5."""
    rights = (("出让", 85), ("划拨", 10), ("租赁", 5))
    for n in itertools.count(1):
        d = ctx.pick(ctx.counties)
        use = ctx.pick(_LAND_USES)
        lon, lat = ctx.point(d["code"], 0.06)
        zone = f"{ctx.rng.randint(1, 30):03d}{ctx.rng.randint(1, 20):03d}"
        yield {"parcel_code": f"{d['code']}{zone}GB{n:05d}", "division_code": d["code"],
               "location": ctx.address(d["code"]), "land_use": use,
               "area_m2": round(ctx.rng.uniform(800, 120000), 2),
               "right_type": "划拨" if use == "公共管理与公共服务用地" else ctx.weighted(rights),
               "supplied_date": iso_date(ctx.date_between(dt.date(2000, 1, 1), EPOCH_END.date())),
               "longitude": lon, "latitude": lat}


@generator("place_names", "address_code division_code street road house_no full_address "
           "longitude latitude", 2000)
def _place_names(ctx: Context) -> Iterator[Row]:
    for n in itertools.count(1):
        d = ctx.pick(ctx.counties)
        street, road, house = ctx.street(), ctx.pick(ROADS), f"{ctx.rng.randint(1, 399)}号"
        lon, lat = ctx.point(d["code"])
        yield {"address_code": f"{d['code']}{n:010d}", "division_code": d["code"], "street": street,
               "road": road, "house_no": house,
               "full_address": f"{ctx.full_area(d['code'])}{street}{road}{house}",
               "longitude": lon, "latitude": lat}
