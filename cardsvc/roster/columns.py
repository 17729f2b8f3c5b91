"""The roster's columns: Chinese headers, which are required, and the labels of coded values."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from cardsvc.members.models import CATEGORY_LABELS_ZH, Category


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    header: str
    required: bool
    help_zh: str
    example: str


COLUMNS: tuple[Column, ...] = (
    Column("name", "姓名", True, "必填。中文或英文姓名，少数民族姓名用“·”分隔", "张三明"),
    Column(
        "id_number",
        "身份证号",
        True,
        "必填。18位居民身份证号码，请设为文本格式",
        "42050219900101001X",
    ),
    Column("phone", "手机号", False, "选填。11位中国大陆手机号码", "13800138000"),
    Column("union_code", "所属工会编码", True, "必填。会员所属基层工会的编码", "XL-JIDIAN"),
    Column(
        "employment_type",
        "就业形态",
        False,
        "选填。职工、灵活就业、新就业形态、农民工、退休",
        "职工",
    ),
    Column("employer", "工作单位", False, "选填。最多128个字", "宜昌峡江机电有限公司"),
    Column("job", "岗位", False, "选填。最多64个字", "装配工"),
    Column(
        "categories",
        "会员类别",
        False,
        "选填。劳模、困难职工、农民工、灵活就业、退休，多个用顿号分隔",
        "",
    ),
    Column(
        "hardship_level",
        "困难等级",
        False,
        "选填。1、2或3；填写困难职工类别时必填。不直接生效：导入后提交困难职工建档申请，"
        "经上一级工会审批后生效",
        "",
    ),
    Column("joined_on", "入会日期", False, "选填。如 2024-03-01；不填为导入当天", "2024-03-01"),
    Column(
        "region_code",
        "所在地区",
        False,
        "选填。6位行政区划代码（如 420502）或地区全称；不填为所属工会的地区",
        "420502",
    ),
)
HEADERS = tuple(c.header for c in COLUMNS)
HEADER_OF = {c.key: c.header for c in COLUMNS}
REQUIRED = tuple(c for c in COLUMNS if c.required)

EMPLOYMENT_LABELS_ZH = {
    "employee": "职工",
    "flexible_worker": "灵活就业",
    "platform_worker": "新就业形态",
    "migrant_worker": "农民工",
    "retired": "退休",
}
# What people type in the 就业形态 column → the code stored.
EMPLOYMENT_ALIASES = {
    **{v: k for k, v in EMPLOYMENT_LABELS_ZH.items()},
    **{k: k for k in EMPLOYMENT_LABELS_ZH},
    "在职职工": "employee",
    "在职": "employee",
    "灵活就业人员": "flexible_worker",
    "新就业形态劳动者": "platform_worker",
    "平台劳动者": "platform_worker",
    "快递员": "platform_worker",
    "外卖骑手": "platform_worker",
    "退休职工": "retired",
}
CATEGORY_ALIASES = {
    **{label: c.value for c, label in CATEGORY_LABELS_ZH.items()},
    **{c.value: c.value for c in Category},
    "劳动模范": Category.model_worker.value,
    "困难": Category.hardship.value,
    "退休职工": Category.retired.value,
    "灵活就业人员": Category.flexible_worker.value,
}

_HEADER_NOISE = re.compile(r"[\s*＊:：]|(?:[((](?:必填|选填)[))])")


def normalise_header(cell: object) -> str:
    """``" 姓名* "`` / ``"姓名(必填)"`` → ``"姓名"``."""
    if cell is None:
        return ""
    return _HEADER_NOISE.sub("", unicodedata.normalize("NFKC", str(cell)))
