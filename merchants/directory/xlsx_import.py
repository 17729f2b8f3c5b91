"""Stores imported from a spreadsheet (.xlsx), one per row: the sheet read into rows (name,
address, region, pin, phone, daily hours, amenities) that :func:`import_rows` applies, as it
does the API's JSON rows; each problem comes back with the spreadsheet's row number and the
heading of its column.
"""

from __future__ import annotations

import io
import math
import uuid
import zipfile
from collections.abc import Iterator
from typing import Any

from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.errors import AppError, ValidationError
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.principal import Principal
from merchants.directory.amenities import AMENITY_LABELS_ZH
from merchants.directory.edit import Pin
from merchants.directory.store_import import (
    MAX_ROWS,
    ImportResult,
    RowProblem,
    StoreRow,
    import_rows,
)
from merchants.onboarding.service import get_merchant

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
_AMENITY_BY_LABEL = {label: a.name for a, label in AMENITY_LABELS_ZH.items() if a.name}


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


def _store_row(v: dict[str, str]) -> StoreRow:
    pin = Pin(_number("lat", v["lat"]), _number("lng", v["lng"])) if v["lat"] or v["lng"] else None
    spans = [s.strip() for s in v["hours"].replace("，", ",").split(",") if s.strip()]
    names = [a.strip() for a in v["amenities"].replace("，", "、").replace(",", "、").split("、")]
    return StoreRow(
        name=v["name"],
        address=v["address"],
        region=v["region"],
        pin=pin,
        phone=v["phone"],
        daily_hours=tuple(spans),
        amenities=tuple(_AMENITY_BY_LABEL.get(a, a) for a in names if a),
    )


def _read(rows: list[tuple[Any, ...]], header: dict[str, int]) -> Iterator[tuple[int, Any]]:
    for n, row in enumerate(rows, start=2):
        v = {key: _text(row[i]) if i < len(row) else "" for key, i in header.items()}
        v = {key: v.get(key, "") for key in COLUMNS.values()}
        if not any(v.values()):
            continue
        try:
            yield n, _store_row(v)
        except AppError as exc:
            yield n, exc


async def import_stores(
    session: AsyncSession,
    actor: Principal,
    merchant_id: uuid.UUID,
    data: bytes,
    *,
    dry_run: bool,
) -> ImportResult:
    """The rows of the sheet through :func:`import_rows`; each problem names its column."""
    await get_merchant(session, actor, merchant_id, Perm.merchants_write)
    header, rows = _rows(data)
    result = await import_rows(
        session, actor, merchant_id, _read(rows, header), dry_run=dry_run, source="xlsx"
    )
    heading = {key: zh for zh, key in COLUMNS.items()} | {"location": "纬度"}
    result.problems = [
        RowProblem(
            p.row,
            heading.get(p.field.split(".")[0].split("[")[0], heading["name"]) if p.field else "",
            p.reason_zh,
            p.reason_en,
        )
        for p in result.problems
    ]
    return result
