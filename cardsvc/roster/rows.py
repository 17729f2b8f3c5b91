"""Validate one roster row into plain values, or the reasons it is wrong (pure, no I/O).

Runs in a worker thread, a batch at a time, so that the event loop keeps serving requests
while a large file is checked. The identity rules are the ones every other entry path uses
(``cardsvc.members.identity``); this module only adapts spreadsheet cells to them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from cardsvc.kernel.errors import ValidationError
from cardsvc.kernel.masking import mask_id_number, mask_phone
from cardsvc.kernel.pii import PiiCipher
from cardsvc.kernel.regions import RegionInvalid, parse_region
from cardsvc.members.identity import (
    ResidentId,
    normalize_id_number,
    parse_phone,
    parse_resident_id,
    validate_name,
)
from cardsvc.members.models import Category
from cardsvc.members.service import HARDSHIP_LEVELS, ID_FIELD, PHONE_FIELD, validate_categories
from cardsvc.roster.columns import (
    CATEGORY_ALIASES,
    COLUMNS,
    EMPLOYMENT_ALIASES,
    HEADER_OF,
)
from cardsvc.roster.readers import EXCEL_ERRORS, Row

_IDX = {c.key: i for i, c in enumerate(COLUMNS)}
_SPLIT = re.compile(r"[、,,;;/|\s]+")
_DATE_PATTERNS = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)
_LEVELS = {"1": 1, "2": 2, "3": 3, "一": 1, "二": 2, "三": 3, "一级": 1, "二级": 2, "三级": 3}
_FIELD_LIMITS = {"employer": 128, "job": 64}
EARLIEST_JOIN = date(1925, 5, 1)  # the ACFTU was founded on 1 May 1925


@dataclass(slots=True)
class CellError:
    row_no: int
    column: str | None  # Chinese header, or None for the whole row
    code: str
    reason_zh: str
    reason_en: str
    value: str | None = None


@dataclass(slots=True)
class ValidRow:
    row_no: int
    name: str
    id_hash: str
    id_enc: str
    birth_date: date
    gender: str
    union_code: str
    phone_hash: str | None = None
    phone_enc: str | None = None
    employment_type: str | None = None
    employer: str | None = None
    job: str | None = None
    categories: list[str] | None = None  # None: column left blank; never hardship
    hardship_level: int | None = None  # proposed as a pending hardship record, not set
    joined_on: date | None = None
    region_code: str | None = None  # None: the union's region


@dataclass(slots=True)
class Prepared:
    valid: list[ValidRow] = field(default_factory=list)
    errors: list[CellError] = field(default_factory=list)
    rows: int = 0


class _Bad(Exception):
    def __init__(self, code: str, zh: str, en: str) -> None:
        self.code, self.zh, self.en = code, zh, en


def _text(v: Any) -> str | None:
    """A cell as trimmed text; numbers that are whole become digits (``1.0`` → ``1``)."""
    if v is None:
        return None
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, dict):
        return v.get("d") or v.get("dt")
    s = unicodedata.normalize("NFC", str(v)).strip()
    if s in EXCEL_ERRORS:
        raise _Bad("cell_error_value", f"单元格为错误值 {s}", f"the cell holds the error {s}")
    return s or None


def _masked(key: str, v: Any) -> str | None:
    if v is None:
        return None
    s = str(v)[:64]
    if key == "id_number":
        return mask_id_number(s)
    if key == "phone":
        return mask_phone(s)
    return s


def parse_date_cell(v: Any, today: date) -> date:
    if isinstance(v, dict):
        d = date.fromisoformat((v.get("d") or v.get("dt") or "")[:10])
    elif isinstance(v, int | float) and not isinstance(v, bool):
        n = int(v)
        if 19000101 <= n <= 29991231:
            d = _ymd(str(n)[:4], str(n)[4:6], str(n)[6:])
        elif 1 <= n <= 2958465:  # an Excel serial day number whose cell lost its date format
            from openpyxl.utils.datetime import from_excel

            d = from_excel(n).date()
        else:
            raise _Bad("bad_date", "日期无效", "not a date")
    else:
        s = unicodedata.normalize("NFKC", str(v)).strip()
        for pattern in _DATE_PATTERNS:
            if m := pattern.match(s):
                d = _ymd(*m.groups())
                break
        else:
            raise _Bad(
                "bad_date",
                f"日期格式无法识别：{s[:20]}（应为 2024-03-01 这样的格式）",
                f"unrecognised date {s[:20]!r} (use 2024-03-01)",
            )
    if d > today:
        raise _Bad("date_in_future", "日期晚于今天", "the date is in the future")
    if d < EARLIEST_JOIN:
        raise _Bad("date_too_early", "日期早于1925年，不可能有效", "the date is before 1925")
    return d


def _ymd(y: str, m: str, d: str) -> date:
    try:
        return date(int(y), int(m), int(d))
    except ValueError:
        raise _Bad("bad_date", f"不存在的日期：{y}-{m}-{d}", f"no such date: {y}-{m}-{d}") from None


def _employment(v: str) -> str:
    code = EMPLOYMENT_ALIASES.get(v) or EMPLOYMENT_ALIASES.get(v.lower())
    if code is None:
        raise _Bad(
            "bad_employment_type",
            f"未知的就业形态“{v[:20]}”，应为：职工、灵活就业、新就业形态、农民工、退休",
            f"unknown employment type {v[:20]!r}",
        )
    return code


def _categories(v: str) -> list[str]:
    out: list[str] = []
    for part in filter(None, _SPLIT.split(v)):
        code = CATEGORY_ALIASES.get(part) or CATEGORY_ALIASES.get(part.lower())
        if code is None:
            raise _Bad(
                "bad_category",
                f"未知的会员类别“{part[:20]}”，应为：劳模、困难职工、农民工、灵活就业、退休",
                f"unknown member category {part[:20]!r}",
            )
        out.append(code)
    return sorted(set(out))


def _level(v: Any) -> int:
    s = _text(v) or ""
    level = _LEVELS.get(unicodedata.normalize("NFKC", s))
    if level not in HARDSHIP_LEVELS:
        raise _Bad(
            "bad_hardship_level", "困难等级应为 1、2 或 3", "hardship level must be 1, 2 or 3"
        )
    return level


def _free_text(v: str, key: str) -> str:
    if v.startswith(("=", "+", "@")):
        raise _Bad(
            "formula_like",
            "不能以 = + @ 开头（疑似公式）",
            "must not start with = + @ (looks like a formula)",
        )
    if any(unicodedata.category(ch) == "Cc" for ch in v):
        raise _Bad("control_chars", "包含不可见的控制字符", "contains control characters")
    limit = _FIELD_LIMITS[key]
    if len(v) > limit:
        raise _Bad("too_long", f"过长（最多{limit}个字）", f"too long (at most {limit} characters)")
    return v


@dataclass(slots=True)
class _Cells:
    """One row's cells, and the errors found in them so far."""

    row_no: int
    values: list[Any]
    errors: list[CellError]

    def cell(self, key: str) -> Any:
        return self.values[_IDX[key]]

    def fail(self, key: str, code: str, zh: str, en: str) -> None:
        self.errors.append(
            CellError(self.row_no, HEADER_OF[key], code, zh, en, _masked(key, self.cell(key)))
        )

    def text(self, key: str) -> str | None:
        try:
            return _text(self.cell(key))
        except _Bad as bad:
            self.fail(key, bad.code, bad.zh, bad.en)
            return None

    def failed(self, key: str) -> bool:
        return any(e.column == HEADER_OF[key] for e in self.errors)


def _name(c: _Cells) -> str | None:
    """姓名"""
    if (raw := c.text("name")) is None and not c.errors:
        c.fail("name", "required", "必填", "required")
    elif raw is not None:
        try:
            return validate_name(raw)
        except ValidationError as exc:
            c.fail("name", "bad_name", exc.errors[0].reason_zh, exc.errors[0].reason_en)
    return None


def _resident_id(c: _Cells, today: date) -> ResidentId | None:
    """身份证号: Excel turns an 18-digit number into a float and loses the last digits."""
    raw_id = c.cell("id_number")
    if isinstance(raw_id, int | float) and not isinstance(raw_id, bool):
        c.fail(
            "id_number",
            "id_number_as_number",
            "身份证号被存成了数字，末几位已丢失：请把该列设为“文本”格式后重新填写",
            "the ID number was stored as a number and lost its last digits; format the "
            "column as text and enter it again",
        )
    elif (id_text := c.text("id_number")) is None:
        if not c.failed("id_number"):
            c.fail("id_number", "required", "必填", "required")
    else:
        try:
            return parse_resident_id(id_text, today=today)
        except ValidationError as exc:
            c.fail("id_number", "bad_id_number", exc.errors[0].reason_zh, exc.errors[0].reason_en)
    return None


def _phone(c: _Cells) -> str | None:
    """手机号"""
    raw_phone = c.cell("phone")
    if isinstance(raw_phone, float) and raw_phone.is_integer():
        raw_phone = int(raw_phone)
    if (phone_text := c.text("phone")) is not None:
        try:
            return parse_phone(str(raw_phone) if isinstance(raw_phone, int) else phone_text)
        except ValidationError as exc:
            c.fail("phone", "bad_phone", exc.errors[0].reason_zh, exc.errors[0].reason_en)
    return None


def _union_code(c: _Cells) -> str | None:
    """所属工会编码 (resolved against the database by the caller)"""
    union_code = c.text("union_code")
    if union_code is None:
        if not c.failed("union_code"):
            c.fail("union_code", "required", "必填", "required")
        return None
    return unicodedata.normalize("NFKC", union_code).upper()


def _work(c: _Cells) -> tuple[str | None, str | None, str | None]:
    """Employment type, employer and job."""
    employment = employer = job = None
    if (v := c.text("employment_type")) is not None:
        try:
            employment = _employment(v)
        except _Bad as bad:
            c.fail("employment_type", bad.code, bad.zh, bad.en)
    for key in ("employer", "job"):
        if (v := c.text(key)) is not None:
            try:
                clean = _free_text(v, key)
            except _Bad as bad:
                c.fail(key, bad.code, bad.zh, bad.en)
                continue
            if key == "employer":
                employer = clean
            else:
                job = clean
    return employment, employer, job


def _region(c: _Cells) -> str | None:
    """所在地区: a GB/T 2260 code, or a name that maps to exactly one code."""
    if (v := c.text("region_code")) is None:
        return None
    try:
        return parse_region("region_code", v)
    except RegionInvalid as bad:
        reason = bad.errors[0]
        c.fail("region_code", "region_code_invalid", reason.reason_zh, reason.reason_en)
        return None


def _categories_and_level(c: _Cells) -> tuple[list[str] | None, int | None]:
    categories: list[str] | None = None
    if (v := c.text("categories")) is not None:
        try:
            categories = _categories(v)
        except _Bad as bad:
            c.fail("categories", bad.code, bad.zh, bad.en)
    level = None
    if c.cell("hardship_level") is not None and c.text("hardship_level") is not None:
        try:
            level = _level(c.cell("hardship_level"))
        except _Bad as bad:
            c.fail("hardship_level", bad.code, bad.zh, bad.en)
    if categories is not None or level is not None:
        try:
            categories = validate_categories(categories or [], level)
        except ValidationError as exc:
            key = "hardship_level" if exc.errors[0].field == "hardship_level" else "categories"
            c.fail(key, "bad_category", exc.errors[0].reason_zh, exc.errors[0].reason_en)
    if categories is not None:
        # Hardship comes only from an approved record: the import proposes one instead.
        categories = [x for x in categories if x != Category.hardship.value]
    return categories, level


def _joined(c: _Cells, rid: ResidentId | None, today: date) -> date | None:
    raw_date = c.cell("joined_on")
    if raw_date is None or (isinstance(raw_date, str) and not raw_date.strip()):
        return None
    try:
        if isinstance(raw_date, str):
            _text(raw_date)
        joined = parse_date_cell(raw_date, today)
        if rid is not None and joined < rid.birth_date:
            raise _Bad("date_before_birth", "入会日期早于出生日期", "joined before birth")
        return joined
    except _Bad as bad:
        c.fail("joined_on", bad.code, bad.zh, bad.en)
    except ValueError:
        c.fail("joined_on", "bad_date", "日期无效", "not a date")
    return None


class RowValidator:
    """Validates rows and remembers which ID numbers the file already used (duplicates)."""

    def __init__(self, cipher: PiiCipher, today: date) -> None:
        self.cipher = cipher
        self.today = today
        # Keyed-hash prefix (64 bits) → first row with it: ~100 bytes a row, not the rows.
        self.seen: dict[int, int] = {}

    def remember(self, rows: list[Row]) -> None:
        """Rows already imported before a restart: only their ID numbers count (duplicates)."""
        for row_no, values in rows:
            raw = values[_IDX["id_number"]]
            if isinstance(raw, str) and raw.strip():
                number = normalize_id_number(raw)
                self.seen.setdefault(self._key(self.cipher.lookup_hash(ID_FIELD, number)), row_no)

    @staticmethod
    def _key(digest: str) -> int:
        return int(digest[:16], 16)

    def prepare(self, rows: list[Row]) -> Prepared:
        out = Prepared(rows=len(rows))
        for row_no, values in rows:
            errors: list[CellError] = []
            ok = self._row(row_no, values, errors)
            if ok is not None and not errors:
                out.valid.append(ok)
            out.errors.extend(errors)
        return out

    def _id_hash(self, c: _Cells, rid: ResidentId | None) -> str | None:
        """The ID number's keyed hash; a number seen earlier in the file is an error."""
        if rid is None:
            return None
        id_hash = self.cipher.lookup_hash(ID_FIELD, rid.number)
        first = self.seen.setdefault(self._key(id_hash), c.row_no)
        if first != c.row_no:
            c.fail(
                "id_number",
                "duplicate_in_file",
                f"与第{first}行的身份证号重复",
                f"same ID number as row {first}",
            )
        return id_hash

    def _row(self, row_no: int, values: list[Any], errors: list[CellError]) -> ValidRow | None:
        c = _Cells(row_no, values, errors)
        name = _name(c)
        rid = _resident_id(c, self.today)
        id_hash = self._id_hash(c, rid)
        phone = _phone(c)
        union_code = _union_code(c)
        employment, employer, job = _work(c)
        categories, level = _categories_and_level(c)
        joined = _joined(c, rid, self.today)
        region = _region(c)
        if errors or name is None or rid is None or id_hash is None or union_code is None:
            return None
        return ValidRow(
            row_no=row_no,
            name=name,
            id_hash=id_hash,
            id_enc=self.cipher.encrypt(ID_FIELD, rid.number),
            birth_date=rid.birth_date,
            gender=rid.gender,
            union_code=union_code,
            phone_hash=self.cipher.lookup_hash(PHONE_FIELD, phone) if phone else None,
            phone_enc=self.cipher.encrypt(PHONE_FIELD, phone) if phone else None,
            employment_type=employment,
            employer=employer,
            job=job,
            categories=categories,
            hardship_level=level,
            joined_on=joined,
            region_code=region,
        )


def today_in(tz: str) -> date:
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo(tz)).date()
