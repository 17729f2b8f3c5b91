"""Member identity: parse and validate resident ID numbers, phones and names; mask them.

Pure functions (no I/O), so the API, the roster import and the demo seed share one set of rules.
Each rejection is a :class:`cardsvc.kernel.errors.ValidationError` naming the field and the specific
reason in Chinese and English.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import phonenumbers
from stdnum import numdb
from stdnum.cn import ric
from stdnum.exceptions import InvalidComponent

from cardsvc.kernel.errors import ValidationError
from cardsvc.kernel.masking import is_cjk, is_latin_letter, normalize_id_number

# Birthdays and ages are civil dates in China, not UTC dates.
_CN_TZ = ZoneInfo("Asia/Shanghai")
MIN_MEMBER_AGE = 16  # Labour Law art. 15: no employment under 16; union members are workers.
_OLDEST_BIRTH_YEAR = 1900

_ID_FIELD = "id_number"
_PHONE_FIELD = "phone"
_NAME_FIELD = "name"

# Separators people type inside numbers; removed before validating.


@dataclass(frozen=True, slots=True)
class ResidentId:
    number: str  # 18 characters, check character upper-case "X" when it is 10
    birth_date: date
    gender: str  # "M" / "F" (17th digit odd / even)
    region_code: str  # 6-digit administrative division code at first registration
    region_name: str | None = None  # e.g. "湖北省宜昌市西陵区", when the code is known


def _today() -> date:
    return datetime.now(_CN_TZ).date()


def _age_on(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


@functools.lru_cache(maxsize=4096)
def _region_name(code: str) -> tuple[bool, str | None]:
    """Whether the province part is known, and the full place name if the code is known.

    The era check of ``stdnum.cn.ric.validate`` is deliberately not used: the address code is
    that of the holder's residence when the number was first issued (1984 onwards), so a worker
    born in 1960 in 西陵区 (code 420502, created 1986) legitimately has ``420502 1960…``, which
    stdnum rejects. Codes created after stdnum's table was built are also accepted as long as
    the province is real; the checksum already catches typing errors.
    """
    db = numdb.get("cn/loc")
    province: str | None = None
    for _part, props in db.info(code[:2] + "0000"):
        province = props.get("province") or province
    if province is None:
        return False, None
    county: str | None = None
    for _part, props in db.info(code):
        county = props.get("county") or county
    if not county:
        return True, None
    # Entries look like "[1986-]西陵区" or "[-2009]襄樊市,[2010-]襄阳市": show the latest name.
    county = county.split(",")[-1].split("]")[-1]
    city: str | None = None
    if code[4:] != "00":
        for _part, props in db.info(code[:4] + "00"):
            city = props.get("county") or city
        city = city.split(",")[-1].split("]")[-1] if city else None
        # Placeholders such as 市辖区 / 县 / 省直辖县级行政单位 are not place names.
        if city and ("辖" in city or city in ("县", "市区")):
            city = None
    parts = [province, city if city and city != province else None, county]
    name = "".join(dict.fromkeys(p for p in parts if p))  # de-duplicate, keep order
    return True, name


def region_name(code: str) -> str | None:
    """``"420502"`` → ``"湖北省宜昌市西陵区"``; None when the code is not in the table."""
    return _region_name(code)[1]


def parse_resident_id(
    raw: str, *, min_age: int = MIN_MEMBER_AGE, today: date | None = None
) -> ResidentId:
    """Validate a second-generation 18-digit resident identity card number (居民身份证号码)."""
    number = normalize_id_number(raw)
    if not number:
        raise ValidationError.field(_ID_FIELD, "身份证号码不能为空", "ID number is required")
    if len(number) == 15 and number.isdigit():
        raise ValidationError.field(
            _ID_FIELD,
            "15位一代身份证号码已停止使用，请填写18位身份证号码",
            "15-digit first-generation ID numbers are no longer valid; enter the 18-digit number",
        )
    if len(number) != 18:
        raise ValidationError.field(
            _ID_FIELD,
            f"身份证号码应为18位，当前为{len(number)}位",
            f"ID number must be 18 characters, got {len(number)}",
        )
    if not (number[:17].isascii() and number[:17].isdigit()) or number[17] not in "0123456789X":
        raise ValidationError.field(
            _ID_FIELD,
            "身份证号码格式错误：前17位应为数字，最后一位为数字或X",
            "Malformed ID number: 17 digits followed by a digit or X",
        )
    if ric.calc_check_digit(number) != number[17]:
        raise ValidationError.field(
            _ID_FIELD,
            "身份证号码校验位错误，请核对是否输错",
            "ID number check character does not match; please check for a typo",
        )
    try:
        birth = ric.get_birth_date(number)
    except InvalidComponent:
        raise ValidationError.field(
            _ID_FIELD,
            f"身份证号码中的出生日期无效（{number[6:10]}-{number[10:12]}-{number[12:14]}）",
            f"Birth date in the ID number is not a real date "
            f"({number[6:10]}-{number[10:12]}-{number[12:14]})",
        ) from None
    today = today or _today()
    if birth > today:
        raise ValidationError.field(
            _ID_FIELD,
            "身份证号码中的出生日期晚于今天",
            "Birth date in the ID number is in the future",
        )
    if birth.year < _OLDEST_BIRTH_YEAR:
        raise ValidationError.field(
            _ID_FIELD,
            "身份证号码中的出生日期过早，不可能有效",
            f"Birth date in the ID number is before {_OLDEST_BIRTH_YEAR}",
        )
    if _age_on(birth, today) < min_age:
        raise ValidationError.field(
            _ID_FIELD,
            f"未满{min_age}周岁，不能入会",
            f"Members must be at least {min_age} years old",
        )
    province_known, region_name = _region_name(number[:6])
    if not province_known:
        raise ValidationError.field(
            _ID_FIELD,
            f"身份证号码中的地区代码无效（{number[:6]}）",
            f"Unknown region code in the ID number ({number[:6]})",
        )
    return ResidentId(
        number=number,
        birth_date=birth,
        gender="M" if int(number[16]) % 2 else "F",
        region_code=number[:6],
        region_name=region_name,
    )


# Characters a phone number may be typed with; anything else (letters…) is a mistake, even
# though phonenumbers would silently read letters as vanity digits or drop them.
_PHONE_CHARS = re.compile(r"[0-9+\s\-‐‑–—().]+")


def parse_phone(raw: str) -> str:
    """A mainland-China mobile number in E.164 form (``+8613800138000``)."""
    text = unicodedata.normalize("NFKC", raw or "").strip()
    if not text:
        raise ValidationError.field(_PHONE_FIELD, "手机号码不能为空", "Phone number is required")
    if not _PHONE_CHARS.fullmatch(text):
        raise ValidationError.field(
            _PHONE_FIELD,
            "手机号码只能包含数字（可带+86、空格或连字符）",
            "Phone number may contain only digits, +86, spaces or hyphens",
        )
    try:
        parsed = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        raise ValidationError.field(
            _PHONE_FIELD, "无法识别的电话号码", "Not a recognisable phone number"
        ) from None
    if parsed.country_code != 86:
        raise ValidationError.field(
            _PHONE_FIELD,
            "仅支持中国大陆手机号码（+86）",
            "Only mainland China mobile numbers (+86) are accepted",
        )
    if not phonenumbers.is_valid_number(parsed):
        raise ValidationError.field(
            _PHONE_FIELD,
            "手机号码无效，请填写11位手机号码",
            "Invalid phone number; enter the 11-digit mobile number",
        )
    if phonenumbers.number_type(parsed) != phonenumbers.PhoneNumberType.MOBILE:
        raise ValidationError.field(
            _PHONE_FIELD,
            "请填写手机号码，不支持固定电话",
            "A mobile number is required, not a landline",
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


# Middle-dot look-alikes typed for minority names (买买提·艾力); stored as U+00B7.
_DOT_VARIANTS = str.maketrans(dict.fromkeys("•・‧∙⋅．", "·"))
_NAME_MAX = 32
_LATIN_PUNCT = " '-."  # O'Brien, Jean-Pierre, John F. Kennedy


def validate_name(raw: str) -> str:
    """A person's name: Chinese characters or Latin letters, ``·`` between parts; normalised."""
    text = unicodedata.normalize("NFC", raw or "")
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in text):
        raise ValidationError.field(
            _NAME_FIELD, "姓名包含不可见的控制字符", "Name contains control characters"
        )
    text = " ".join(text.split()).translate(_DOT_VARIANTS)
    # "买买提 · 艾力" → "买买提·艾力"
    text = re.sub(r"\s*·\s*", "·", text)
    if any(is_cjk(ch) for ch in text) and not any(is_latin_letter(ch) for ch in text):
        # Rosters pad two-character names to line up with three ("张　三"): not part of the name.
        text = text.replace(" ", "")
    if not text:
        raise ValidationError.field(_NAME_FIELD, "姓名不能为空", "Name is required")
    if len(text) > _NAME_MAX:
        raise ValidationError.field(
            _NAME_FIELD,
            f"姓名过长（最多{_NAME_MAX}个字符）",
            f"Name is too long (at most {_NAME_MAX} characters)",
        )
    if any(ch.isdigit() for ch in text):
        raise ValidationError.field(_NAME_FIELD, "姓名不能包含数字", "Name must not contain digits")
    for ch in text:
        if not (is_cjk(ch) or is_latin_letter(ch) or ch == "·" or ch in _LATIN_PUNCT):
            raise ValidationError.field(
                _NAME_FIELD,
                f"姓名包含不允许的字符“{ch}”",
                f"Name contains a character that is not allowed: {ch!r}",
            )
    if text[0] in _LATIN_PUNCT or text[-1] in " '-":
        raise ValidationError.field(
            _NAME_FIELD, "姓名应以文字开头和结尾", "Name must start and end with a letter"
        )
    if text[0] == "·" or text[-1] == "·" or "··" in text:
        raise ValidationError.field(
            _NAME_FIELD,
            "间隔号“·”只能用在姓名各部分之间",
            "The separator '·' may only appear between parts of the name",
        )
    if any(is_cjk(ch) for ch in text) and any(ch in _LATIN_PUNCT for ch in text):
        raise ValidationError.field(
            _NAME_FIELD,
            "中文姓名中不能有空格或标点，各部分请用“·”分隔",
            "A Chinese name has no spaces or punctuation; separate parts with '·'",
        )
    return text
