"""Deterministic, realistic demo people for the 宜昌市 demo federation.

``generate_people(n, seed)`` returns the same list for the same arguments on every machine
(one ``random.Random(seed)``, a fixed reference date, no clock). Names follow the rough
frequency of Chinese surnames; ID numbers carry real administrative codes and a correct check
character; jobs, employers, categories and dates agree with each person's employment type and
age. ``DEMO_UNIONS`` lists the grassroots unions the people belong to (``DemoPerson.union_key``),
three or more in each of the two demo districts, so the seed can build the tree from them.
"""

from __future__ import annotations

import random
from bisect import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import accumulate
from typing import Generic, TypeVar

from stdnum.cn import ric

from cardsvc.kernel.errors import ValidationError
from cardsvc.members.identity import parse_phone, region_name

T = TypeVar("T")

# A fixed "today" keeps the output independent of when the demo is seeded.
DEMO_AS_OF = date(2026, 1, 1)

XILING = ("420502", "西陵区")
WUJIAGANG = ("420503", "伍家岗区")
DEMO_PROVINCE = ("420000", "湖北省")
DEMO_CITY = ("420500", "宜昌市")
DEMO_DISTRICTS = (XILING, WUJIAGANG)


class Employment:
    employee = "employee"
    flexible_worker = "flexible_worker"
    platform_worker = "platform_worker"  # delivery riders, ride-hailing drivers
    migrant_worker = "migrant_worker"
    retired = "retired"


@dataclass(frozen=True, slots=True)
class DemoUnion:
    key: str
    name: str
    district_code: str
    district_name: str
    sector: str


@dataclass(frozen=True, slots=True)
class DemoPerson:
    name: str
    gender: str  # "M" / "F"
    birth_date: date
    id_number: str
    phone: str  # E.164
    region_code: str  # household registration (ID number) region
    region: str  # its name, e.g. "湖北省宜昌市秭归县"
    employment_type: str
    employer: str | None
    job: str
    union_key: str
    categories: list[str] = field(default_factory=list)
    hardship_level: int | None = None
    joined_on: date = DEMO_AS_OF


DEMO_UNIONS: tuple[DemoUnion, ...] = (
    DemoUnion("xl-jidian", "宜昌峡江机电有限公司工会", *XILING, "manufacturing"),
    DemoUnion("xl-hospital", "西陵区中心医院工会", *XILING, "healthcare"),
    DemoUnion("xl-newforms", "西陵区新就业形态劳动者联合工会", *XILING, "platform"),
    DemoUnion("xl-commerce", "西陵区商贸服务业联合工会", *XILING, "commerce"),
    DemoUnion("wjg-logistics", "宜昌三峡物流园有限公司工会", *WUJIAGANG, "logistics"),
    DemoUnion("wjg-construction", "伍家岗区建筑业农民工联合工会", *WUJIAGANG, "construction"),
    DemoUnion("wjg-flexible", "伍家岗区灵活就业人员联合工会", *WUJIAGANG, "flexible"),
    DemoUnion("wjg-school", "伍家岗区实验小学工会", *WUJIAGANG, "education"),
)


def _rows(table: str) -> list[list[str]]:
    """Whitespace-separated rows of ``:``-separated fields; keeps the data tables compact."""
    return [item.split(":") for item in table.split()]


@dataclass(frozen=True, slots=True)
class _Workplace:
    union_key: str
    employer: str | None
    # (job, share of men in it): gender is drawn from the job, so riders are mostly men.
    jobs: tuple[tuple[str, float], ...]
    weight: float


def _place(union_key: str, employer: str | None, jobs: str, weight: float) -> _Workplace:
    return _Workplace(union_key, employer, tuple((j, float(m)) for j, m in _rows(jobs)), weight)


_EMPLOYEE_WORKPLACES = (
    _place(
        "xl-jidian",
        "宜昌峡江机电有限公司",
        "车工:.9 钳工:.9 电工:.95 装配工:.7 质检员:.4 仓库管理员:.5 机械工程师:.8 会计:.2",
        3,
    ),
    _place(
        "xl-hospital",
        "西陵区中心医院",
        "护士:.05 内科医生:.5 药剂师:.35 检验技师:.4 收费员:.2 后勤维修工:.9",
        2.5,
    ),
    _place(
        "xl-commerce", "宜昌惠民超市西陵店", "收银员:.15 理货员:.5 生鲜加工员:.5 门店店长:.4", 1.5
    ),
    _place("xl-commerce", "宜昌夷陵大酒店", "厨师:.8 客房服务员:.15 前台接待:.2 保安:.95", 1),
    _place(
        "wjg-logistics",
        "宜昌三峡物流园有限公司",
        "叉车司机:.95 调度员:.5 仓库管理员:.5 货车司机:.97 分拣员:.6",
        2.5,
    ),
    _place("wjg-school", "伍家岗区实验小学", "语文教师:.15 数学教师:.3 体育教师:.7 校医:.3", 1.5),
)

_MIGRANT_WORKPLACES = (
    _place(
        "wjg-construction",
        "宜昌城建第二工程有限公司",
        "钢筋工:.95 木工:.95 泥瓦工:.85 架子工:.98 电焊工:.95 小工:.7",
        3,
    ),
    _place(
        "wjg-construction",
        "湖北楚峡建设工程有限公司",
        "钢筋工:.95 混凝土工:.9 水电安装工:.95 保洁员:.1",
        2,
    ),
    _place("wjg-logistics", "宜昌三峡物流园有限公司", "装卸工:.95 分拣员:.6", 1.5),
    _place("xl-jidian", "宜昌峡江机电有限公司", "普工:.7 焊工:.95", 1),
)

_PLATFORM_WORKPLACES = (
    _place("xl-newforms", "美团外卖宜昌西陵站", "外卖骑手:.92", 3),
    _place("xl-newforms", "饿了么宜昌伍家岗站", "外卖骑手:.92", 2),
    _place("xl-newforms", "滴滴出行", "网约车司机:.93", 1.5),
    _place("xl-newforms", "顺丰同城", "即时配送员:.9", 1),
    _place("xl-newforms", "货拉拉", "网约货车司机:.97", 0.7),
    _place("xl-newforms", "中通快递宜昌西陵网点", "快递员:.88", 1.2),
)

# No employer: self-employed or working for many households.
_FLEXIBLE_WORKPLACES = (
    _place("wjg-flexible", "宜昌家和家政服务有限公司", "家政服务员:.05 育婴员:.02", 2),
    _place("wjg-flexible", None, "代驾司机:.9 个体货运司机:.95", 1.5),
    _place("wjg-flexible", None, "钟点工:.1 家电维修工:.9", 1.2),
    _place("xl-commerce", "个体工商户", "理发师:.5 早餐店经营者:.5", 1),
    _place("xl-commerce", None, "网络主播:.4", 0.3),
)

# Retirees stay members of their former workplace's union (退休职工会员).
_RETIREE_WORKPLACES = (
    _place("xl-jidian", "宜昌峡江机电有限公司", "退休职工:.55", 3),
    _place("xl-hospital", "西陵区中心医院", "退休职工:.35", 2),
    _place("wjg-logistics", "宜昌三峡物流园有限公司", "退休职工:.6", 1.5),
    _place("wjg-school", "伍家岗区实验小学", "退休教师:.3", 1.5),
)

_WORKPLACES = {
    Employment.employee: _EMPLOYEE_WORKPLACES,
    Employment.migrant_worker: _MIGRANT_WORKPLACES,
    Employment.platform_worker: _PLATFORM_WORKPLACES,
    Employment.flexible_worker: _FLEXIBLE_WORKPLACES,
    Employment.retired: _RETIREE_WORKPLACES,
}

_EMPLOYMENT_WEIGHTS = (
    (Employment.employee, 45),
    (Employment.migrant_worker, 15),
    (Employment.platform_worker, 14),
    (Employment.flexible_worker, 12),
    (Employment.retired, 14),
)


@dataclass(frozen=True, slots=True)
class _Region:
    code: str
    since: int  # first and last year the code was assigned (stdnum's cn/loc table)
    until: int
    weight: float


def _regions(table: str) -> tuple[_Region, ...]:
    return tuple(
        _Region(code, int(since or 0), int(until or 9999), float(w))
        for code, since, until, w in _rows(table)
    )


# Household-registration regions ``code:since:until:weight``. The address code is that of the
# first registration (about age 16, first-generation cards from the mid-1980s) and never
# changes, so older people from Yichang's counties carry 宜昌地区 codes (4227xx, until 1992).
# Locals hold the demo districts' codes; migrant workers come from Yichang's counties, rural
# Hubei and the neighbouring provinces.
_LOCAL_REGIONS = _regions("420502:1986::5 420503:1986::4 420504:1986::1")
_COUNTY_REGIONS = _regions(
    "420525:1992::1 420526:1992::1 420527:1992::1.5 420528:1992::1.5 420529:1992::1 "
    "420581:1987::1 420582:1992::1.2 420583:1996::1 "
    "422721::1992:.5 422723::1992:.5 422725::1992:1 422726::1992:1 422727::1992:1.5 "
    "422728:1984:1992:1.5 422729:1984:1992:1"
)
_AWAY_REGIONS = _regions(
    "421022:1994::1 421023:1994:2020:1 421087:1995::.8 422801:1981::1 422802:1986::.8 "
    "422823:::.8 422826:::.6 420683:1989::.5 420881:1996::.5 421127:1995::.6 420984:1997::.4 "
    "430726:1988::.6 430822:1988::.5 411323:1994::.5 500236:1997::.8 500240:1997::.6"
)
_XINJIANG_REGIONS = _regions("650102:1983::1 653101:::1 652901:1983::1")

# Approximate share (per mille) of the most common surnames; the long tail is left out.
# 覃 and 向 are common among the Tujia of 长阳 and 五峰; compound surnames are rare.
_SURNAMES = tuple(
    (name, float(share))
    for name, share in _rows(
        "王:71 李:70 张:67 刘:54 陈:45 杨:31 黄:22 赵:20 吴:20 周:19 徐:15 孙:15 马:13 朱:13 "
        "胡:13 郭:11 何:11 高:11 林:11 罗:9 郑:9 梁:9 谢:8 宋:8 唐:8 许:7 韩:7 冯:7 邓:7 曹:6 "
        "彭:6 曾:6 肖:6 田:6 董:5 袁:5 潘:5 于:5 蒋:5 蔡:5 余:5 杜:5 叶:4 程:4 苏:4 魏:4 "
        "吕:4 丁:4 任:4 沈:3 姚:3 卢:3 姜:3 崔:3 钟:3 谭:3 陆:3 汪:3 范:3 金:3 石:3 廖:3 "
        "贾:3 夏:3 韦:3 付:3 方:3 白:2 邹:2 孟:2 熊:2 秦:2 邱:2 江:2 尹:2 薛:2 闫:2 段:2 "
        "雷:2 侯:2 龙:2 史:2 陶:2 黎:2 贺:2 顾:2 毛:2 郝:2 龚:2 邵:2 万:2 覃:3 向:3 "
        "欧阳:4 司马:1 上官:1 诸葛:.5 东方:.5 皇甫:.5"
    )
)

# Given-name characters by generation and gender: (first characters, second characters).
_GIVEN = {
    ("old", "M"): ("建国志卫德永国红学长文海", "国华军民强明平刚林生忠祥"),
    ("old", "F"): ("秀桂玉淑丽春红美凤金", "英兰芳华梅珍琴霞凤莲"),
    ("mid", "M"): ("志建海晓俊小文少家振立伟", "强伟明军华刚杰涛峰斌辉鹏勇"),
    ("mid", "F"): ("丽晓春海雪静小红玉艳美", "娟燕玲婷丽敏静霞红芳莉"),
    ("new", "M"): ("子浩宇俊嘉梓天博思一明", "轩豪然博航睿宇杰涛辰阳鑫"),
    ("new", "F"): ("子梓雨欣思诗佳可梦若婉", "涵萱琪怡雯彤瑶妍琳欣悦晨"),
}
_SINGLE = {
    "M": "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆亮峰东龙阳毅彬坤晨昊博",
    "F": "芳娜敏静丽艳娟霞燕玲婷雪慧莹琳洁欣怡颖倩萍红梅兰丹佳雯晶蓉琴",
}
# Uyghur names are given name · father's name (买买提·艾力).
_UYGHUR_GIVEN = {
    "M": ("买买提", "艾力", "艾克拜尔", "努尔江", "阿卜杜拉", "艾山", "亚森", "吾买尔"),
    "F": ("阿依古丽", "古丽娜尔", "热依拉", "迪丽娜尔", "帕提古丽", "阿依努尔", "米热古丽"),
}
_UYGHUR_FATHER = (
    "艾力",
    "吐尔逊",
    "阿不都",
    "热合曼",
    "托合提",
    "买买提",
    "艾山",
    "吾买尔",
    "肉孜",
)
_MINORITY_SHARE = 0.012

# Mainland mobile number prefixes of the three carriers.
_MOBILE_PREFIXES = (
    # China Mobile
    *("134", "135", "136", "137", "138", "139", "147", "150", "151", "152", "157", "158"),
    *("159", "178", "182", "183", "184", "187", "188", "198"),
    # China Unicom
    *("130", "131", "132", "145", "155", "156", "166", "175", "176", "185", "186"),
    # China Telecom
    *("133", "153", "173", "177", "180", "181", "189", "191", "199"),
)


class _Weighted(Generic[T]):
    """``random.choices`` with the cumulative weights computed once."""

    def __init__(self, items: Iterable[tuple[T, float]]) -> None:
        pairs = list(items)
        self.values = [v for v, _ in pairs]
        self.cum = list(accumulate(w for _, w in pairs))

    def pick(self, rng: random.Random) -> T:
        return self.values[bisect(self.cum, rng.random() * self.cum[-1])]


_SURNAME_PICKER = _Weighted(_SURNAMES)
_EMPLOYMENT_PICKER = _Weighted(_EMPLOYMENT_WEIGHTS)
_LOCAL_CODES = frozenset(r.code for r in _LOCAL_REGIONS)
_HARDSHIP_LEVEL_PICKER = _Weighted([(1, 50), (2, 35), (3, 15)])
_WORKPLACE_PICKERS = {
    kind: _Weighted([(w, w.weight) for w in places]) for kind, places in _WORKPLACES.items()
}


def _pick_region(rng: random.Random, regions: tuple[_Region, ...], registered: int) -> str:
    usable = [(r.code, r.weight) for r in regions if r.since <= registered <= r.until]
    if not usable:  # cannot happen with the tables above; keep the generator total anyway
        usable = [(regions[0].code, 1.0)]
    return _Weighted(usable).pick(rng)


def _random_date(rng: random.Random, start: date, end: date) -> date:
    if end <= start:
        return start
    return start + timedelta(days=rng.randrange((end - start).days + 1))


def _add_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def _birth_date(rng: random.Random, kind: str, gender: str, as_of: date) -> date:
    y = as_of.year
    if kind == Employment.retired:
        # Retirement age: 60 for men, 50 for women workers (55 for cadres).
        lo, hi, mode = 1960, y - (61 if gender == "M" else 51), 1962
    elif kind == Employment.platform_worker:
        lo, hi, mode = 1978, 2004, 1994
    elif kind == Employment.migrant_worker:
        lo, hi, mode = 1967, 2004, 1982
    elif kind == Employment.flexible_worker:
        lo, hi, mode = 1967, 2006, 1988
    else:
        lo, hi, mode = y - (59 if gender == "M" else 54), 2004, 1988
    hi = max(lo, min(hi, 2006))
    year = round(rng.triangular(lo, hi, min(max(mode, lo), hi)))
    return _random_date(rng, date(year, 1, 1), date(year, 12, 31))


def _given_name(rng: random.Random, gender: str, birth: date) -> str:
    era = "old" if birth.year < 1976 else "mid" if birth.year < 1995 else "new"
    # Single-character given names peaked among people born in the 1980s–90s.
    single_share = 0.35 if era == "mid" else 0.18
    if rng.random() < single_share:
        return rng.choice(_SINGLE[gender])
    firsts, seconds = _GIVEN[(era, gender)]
    first = rng.choice(firsts)
    second = rng.choice(seconds)
    while second == first:
        second = rng.choice(seconds)
    return first + second


def _id_number(rng: random.Random, region: str, birth: date, gender: str, used: set[str]) -> str:
    while True:
        # Order code 001–999: odd for men, even for women.
        seq = rng.randrange(1 if gender == "M" else 2, 1000, 2)
        body = f"{region}{birth:%Y%m%d}{seq:03d}"
        number = body + ric.calc_check_digit(body + "0")
        if number not in used:
            used.add(number)
            return number


def _phone(rng: random.Random, used: set[str]) -> str:
    while True:
        national = rng.choice(_MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
        try:
            e164 = parse_phone(national)  # only numbers libphonenumber knows as CN mobiles
        except ValidationError:
            continue
        if e164 not in used:
            used.add(e164)
            return e164


def _categories(
    rng: random.Random, kind: str, birth: date, region: str, as_of: date
) -> tuple[list[str], int | None]:
    cats: list[str] = []
    hardship_share = 0.05
    if kind == Employment.retired:
        cats.append("retired")
        hardship_share = 0.08
    elif kind == Employment.migrant_worker:
        cats.append("migrant_worker")
        hardship_share = 0.12
    elif kind in (Employment.flexible_worker, Employment.platform_worker):
        cats.append("flexible_worker")
        hardship_share = 0.1
        # Many riders and drivers hold a rural registration from outside the city districts.
        if region not in _LOCAL_CODES and rng.random() < 0.6:
            cats.append("migrant_worker")
    # 劳模: rare, and an honour earned over a career.
    age = as_of.year - birth.year
    if kind in (Employment.employee, Employment.retired) and age >= 35 and rng.random() < 0.03:
        cats.insert(0, "model_worker")
    level: int | None = None
    if rng.random() < hardship_share:
        cats.append("hardship")
        level = _HARDSHIP_LEVEL_PICKER.pick(rng)
    return cats, level


def _joined_on(rng: random.Random, kind: str, birth: date, as_of: date) -> date:
    adult = _add_years(birth, 18)
    if kind == Employment.platform_worker:
        # Riders and drivers joined in the 2018+ drive to organise new forms of employment.
        start = max(adult, date(2018, 6, 1))
    elif kind == Employment.flexible_worker:
        start = max(adult, date(2015, 1, 1))
    elif kind == Employment.retired:
        start = max(adult, date(1980, 1, 1))
        return _random_date(rng, start, min(_add_years(start, 15), as_of))
    else:
        start = max(adult, date(1995, 1, 1))
    return _random_date(rng, min(start, as_of), as_of)


def _person(
    rng: random.Random, as_of: date, used_ids: set[str], used_phones: set[str]
) -> DemoPerson:
    kind = _EMPLOYMENT_PICKER.pick(rng)
    place = _WORKPLACE_PICKERS[kind].pick(rng)
    job, male_share = rng.choice(place.jobs)
    gender = "M" if rng.random() < male_share else "F"
    birth = _birth_date(rng, kind, gender, as_of)
    registered = max(birth.year + 16, 1986)

    minority = kind != Employment.retired and rng.random() < _MINORITY_SHARE
    if minority:
        region = _pick_region(rng, _XINJIANG_REGIONS, registered)
        name = f"{rng.choice(_UYGHUR_GIVEN[gender])}·{rng.choice(_UYGHUR_FATHER)}"
    else:
        if kind == Employment.migrant_worker:
            pool = _COUNTY_REGIONS + _AWAY_REGIONS
        elif kind in (Employment.platform_worker, Employment.flexible_worker):
            pool = _LOCAL_REGIONS + _COUNTY_REGIONS + _AWAY_REGIONS
        else:
            pool = _LOCAL_REGIONS * 3 + _COUNTY_REGIONS  # mostly townspeople
        region = _pick_region(rng, pool, registered)
        name = _SURNAME_PICKER.pick(rng) + _given_name(rng, gender, birth)

    categories, level = _categories(rng, kind, birth, region, as_of)
    return DemoPerson(
        name=name,
        gender=gender,
        birth_date=birth,
        id_number=_id_number(rng, region, birth, gender, used_ids),
        phone=_phone(rng, used_phones),
        region_code=region,
        region=region_name(region) or region,
        employment_type=kind,
        employer=place.employer,
        job=job,
        union_key=place.union_key,
        categories=categories,
        hardship_level=level,
        joined_on=_joined_on(rng, kind, birth, as_of),
    )


def generate_people(n: int, seed: int = 2026, *, as_of: date = DEMO_AS_OF) -> list[DemoPerson]:
    """``n`` demo people, identical for the same ``seed``; ID numbers and phones are unique."""
    if n < 0:
        raise ValueError("n must be >= 0")
    rng = random.Random(seed)
    used_ids: set[str] = set()
    used_phones: set[str] = set()
    return [_person(rng, as_of, used_ids, used_phones) for _ in range(n)]
