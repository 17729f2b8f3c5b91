"""The enterprise register of a federation: an .xlsx per district (统一社会信用代码, 单位名称,
职工人数), imported row by row. A bad row is reported with its number and field and skipped;
the good rows are added, or update the enterprise with the same code (which then belongs to
this district). The whole file is refused only when it is not a readable workbook."""

from __future__ import annotations

import tempfile
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from stdnum.cn import uscc

from cardsvc.founding.creditcode import credit_code_problem
from cardsvc.founding.models import Enterprise
from cardsvc.kernel.audit import record
from cardsvc.kernel.errors import AppError, NotFound
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.principal import Principal
from cardsvc.orgs.models import Org, OrgLevel
from cardsvc.roster.readers import check_zip

MAX_ROWS = 50_000
CHUNK = 1000
HEADERS = {
    "credit_code": ("统一社会信用代码", "信用代码", "credit code", "credit_code"),
    "name": ("单位名称", "企业名称", "name", "enterprise"),
    "headcount": ("职工人数", "人数", "headcount", "employees"),
}
FIELD_LABELS = {"credit_code": "统一社会信用代码", "name": "单位名称", "headcount": "职工人数"}


@dataclass(slots=True)
class RowProblem:
    row: int
    field: str
    reason: str
    reason_en: str


@dataclass(slots=True)
class ImportResult:
    added: int = 0
    updated: int = 0
    problems: list[RowProblem] = field(default_factory=list)


def _file_error(code: str, zh: str, en: str) -> AppError:
    return AppError(code, zh, en, status=422)


def _rows(data: bytes) -> list[tuple[Any, ...]]:
    """The sheet's rows (values only), after the archive is checked."""
    if not data.startswith(b"PK\x03\x04"):
        raise _file_error(
            "register_not_xlsx", "请上传 Excel 文件（.xlsx）", "Upload an Excel workbook (.xlsx)"
        )
    from openpyxl import load_workbook

    with tempfile.NamedTemporaryFile(suffix=".xlsx") as tmp:
        Path(tmp.name).write_bytes(data)
        check_zip(Path(tmp.name))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                wb = load_workbook(tmp.name, read_only=True, data_only=True)
            ws = wb.worksheets[0]
            rows = []
            for i, row in enumerate(ws.iter_rows(values_only=True, max_col=20)):
                if i > MAX_ROWS:
                    raise _file_error(
                        "register_too_many_rows",
                        f"每次最多导入 {MAX_ROWS} 行",
                        f"at most {MAX_ROWS} rows per file",
                    )
                rows.append(tuple(row))
            wb.close()
        except AppError:
            raise
        except Exception:  # openpyxl raises many kinds on a damaged workbook
            raise _file_error(
                "register_damaged", "Excel 文件已损坏，无法读取", "The workbook cannot be read"
            ) from None
    return rows


def _header(rows: list[tuple[Any, ...]]) -> tuple[int, dict[str, int]]:
    for i, row in enumerate(rows[:10]):
        cells = [str(c or "").strip().lower() for c in row]
        found = {
            key: cells.index(name.lower())
            for key, names in HEADERS.items()
            for name in names
            if name.lower() in cells
        }
        if len(found) == len(HEADERS):
            return i, found
    raise _file_error(
        "register_headers",
        "找不到表头：统一社会信用代码、单位名称、职工人数",
        "headers not found: credit code, name, headcount",
    )


def _check_row(values: dict[str, Any]) -> tuple[str, str, int] | RowProblem:
    code = uscc.compact(str(values["credit_code"] or ""))
    problem = credit_code_problem(code)
    if problem is not None:
        return RowProblem(0, "credit_code", *problem)
    name = " ".join(str(values["name"] or "").split())
    if not 2 <= len(name) <= 128:
        return RowProblem(0, "name", "单位名称应为 2–128 个字符", "name: 2–128 characters")
    raw = values["headcount"]
    text = str(raw).strip() if raw is not None else ""
    if isinstance(raw, float) and raw.is_integer():
        text = str(int(raw))
    if not text.isdigit() or not 0 <= int(text) <= 1_000_000:
        return RowProblem(0, "headcount", "职工人数应为 0–1000000 的整数", "headcount: 0–1000000")
    return code, name, int(text)


async def district_for_register(session: AsyncSession, actor: Principal, org_id: uuid.UUID) -> Org:
    org = await session.get(Org, org_id)
    if org is None or not actor.can(Perm.org_write, org.path) or org.level == OrgLevel.grassroots:
        raise NotFound("org_not_found", "未找到该组织", "Org not found")
    return org


async def import_register(
    session: AsyncSession, actor: Principal, org: Org, data: bytes, filename: str | None
) -> ImportResult:
    rows = _rows(data)
    head, cols = _header(rows)
    result, good = ImportResult(), dict[str, tuple[str, int]]()
    for number, row in enumerate(rows[head + 1 :], start=head + 2):
        values = {k: row[i] if i < len(row) else None for k, i in cols.items()}
        if all(v in (None, "") for v in values.values()):
            continue
        checked = _check_row(values)
        if isinstance(checked, RowProblem):
            checked.row = number
            result.problems.append(checked)
        elif checked[0] in good:
            result.problems.append(
                RowProblem(number, "credit_code", "与前面的行重复", "repeats an earlier row")
            )
        else:
            good[checked[0]] = checked[1:]
    codes = list(good)
    for i in range(0, len(codes), CHUNK):  # the known ones in chunks, not a query per row
        chunk = codes[i : i + CHUNK]
        known = {
            e.credit_code: e
            for e in await session.scalars(
                select(Enterprise).where(Enterprise.credit_code.in_(chunk))
            )
        }
        for code in chunk:
            name, headcount = good[code]
            ent = known.get(code)
            if ent is None:
                session.add(
                    Enterprise(
                        credit_code=code,
                        name=name,
                        headcount=headcount,
                        org_id=org.id,
                        org_path=org.path,
                    )
                )
                result.added += 1
            else:
                ent.name, ent.headcount = name, headcount
                ent.org_id, ent.org_path = org.id, org.path
                result.updated += 1
        await session.flush()
    await session.flush()
    record(
        session,
        actor,
        "founding.register_import",
        target_type="org",
        target_id=org.id,
        org_path=org.path,
        summary={
            "filename": (filename or "")[:120],
            "added": result.added,
            "updated": result.updated,
            "problems": len(result.problems),
        },
    )
    return result


async def register_size(session: AsyncSession, org: Org) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(Enterprise)
            .where(Enterprise.org_path.startswith(org.path, autoescape=True))
        )
        or 0
    )
