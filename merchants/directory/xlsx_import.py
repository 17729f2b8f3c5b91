"""Stores imported from a spreadsheet (.xlsx), one per row, each row on its own: a bad row is
reported (row number, column, reason) and the good ones are created, with their pin, phone,
daily hours and amenities. ``dry_run`` checks every row and creates nothing. Each store goes
through the same calls as the API (``create_store`` then ``set_details``: checked and audited).
"""

from __future__ import annotations

import io
import math
import uuid
import zipfile
from dataclasses import dataclass
from typing import Any

from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.audit import record
from cardsvc.kernel.errors import AppError, ValidationError
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.principal import Principal
from merchants.directory.amenities import AMENITY_LABELS_ZH
from merchants.directory.edit import Pin, set_details
from merchants.directory.hours import DAYS
from merchants.onboarding.service import create_store, get_merchant

COLUMNS = {
    "门店名称": "name",
    "地址": "address",
    "地区代码": "region",
    "纬度": "lat",
    "经度": "lng",
    "电话": "phone",
    "营业时间": "hours",
    "设施": "amenities",
}
REQUIRED = ("name", "address", "region")
MAX_ROWS = 2000
_AMENITY_BY_LABEL = {label: a.name for a, label in AMENITY_LABELS_ZH.items() if a.name}


@dataclass(frozen=True, slots=True)
class RowProblem:
    row: int  # as the spreadsheet numbers it (the header is row 1)
    column: str  # the column's heading
    reason_zh: str
    reason_en: str


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _rows(data: bytes) -> tuple[dict[str, int], list[tuple[Any, ...]]]:
    try:
        sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).active
        rows = list(sheet.iter_rows(values_only=True, max_row=MAX_ROWS + 2)) if sheet else []
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise ValidationError.field(
            "file", "无法读取该文件，请上传 .xlsx 表格", "not a readable .xlsx file"
        ) from None
    header = {
        COLUMNS[_text(h)]: i for i, h in enumerate(rows[0] if rows else ()) if _text(h) in COLUMNS
    }
    missing = [zh for zh, key in COLUMNS.items() if key in REQUIRED and key not in header]
    if missing:
        raise ValidationError.field(
            "file", "缺少列：" + "、".join(missing), "missing columns: " + ", ".join(missing)
        )
    if len(rows) > MAX_ROWS + 1:
        raise ValidationError.field(
            "file", f"一次最多导入 {MAX_ROWS} 行", f"at most {MAX_ROWS} rows at a time"
        )
    return header, rows[1:]


def _number(column: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ValidationError.field(column, "应为数字", "must be a number")
    return value


async def _one(
    session: AsyncSession, actor: Principal, merchant_id: uuid.UUID, v: dict[str, str]
) -> None:
    store = await create_store(
        session, actor, merchant_id, name=v["name"], address=v["address"], region=v["region"]
    )
    pin = Pin(_number("lat", v["lat"]), _number("lng", v["lng"])) if v["lat"] or v["lng"] else None
    spans = [s.strip() for s in v["hours"].replace("，", ",").split(",") if s.strip()]
    names = [a.strip() for a in v["amenities"].replace("，", "、").replace(",", "、").split("、")]
    await set_details(
        session,
        actor,
        store.id,
        pin=pin,
        phone=v["phone"] or None,
        hours={"weekly": {d: spans for d in DAYS}} if spans else None,
        amenities=[_AMENITY_BY_LABEL.get(a, a) for a in names if a],
    )


async def import_stores(
    session: AsyncSession,
    actor: Principal,
    merchant_id: uuid.UUID,
    data: bytes,
    *,
    dry_run: bool,
) -> tuple[int, list[RowProblem]]:
    """How many rows made (or, dry, would make) a store, and the problems of the others."""
    merchant = await get_merchant(session, actor, merchant_id, Perm.merchants_write)
    header, rows = _rows(data)
    heading = {key: zh for zh, key in COLUMNS.items()} | {"location": "纬度"}
    made, problems = 0, []
    for n, row in enumerate(rows, start=2):
        v = {key: _text(row[i]) if i < len(row) else "" for key, i in header.items()}
        v = {key: v.get(key, "") for key in COLUMNS.values()}
        if not any(v.values()):
            continue
        savepoint = await session.begin_nested()
        try:
            await _one(session, actor, merchant_id, v)
        except AppError as exc:
            await savepoint.rollback()
            for e in exc.errors or []:
                column = heading.get(e.field.split(".")[0].split("[")[0], heading["name"])
                problems.append(RowProblem(n, column, e.reason_zh, e.reason_en))
            if not exc.errors:
                problems.append(RowProblem(n, "", exc.message_zh, exc.message_en))
            continue
        made += 1
        await (savepoint.rollback() if dry_run else savepoint.commit())
    record(
        session,
        actor,
        "store.import",
        target_type="merchant",
        target_id=merchant.id,
        org_path=merchant.org_path,
        summary={
            "dry_run": dry_run,
            "stores": made,
            "problem_rows": len({p.row for p in problems}),
        },
    )
    return made, problems
