"""One report dict (see :mod:`cardsvc.reports.doc`) as JSON, CSV or XLSX.

CSV and XLSX hold the same figures as the JSON: a header block (report, org, range, zone),
the summary, then each section as a titled table. Every text cell goes through
:func:`cardsvc.kernel.cells.safe_cell`, so a union or merchant named ``=HYPERLINK(…)`` stays
text when the file is opened in Excel or WPS. CSV starts with a UTF-8 BOM so Excel reads the
Chinese correctly.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from typing import Any

from litestar.response import Response
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from cardsvc.kernel.cells import safe_cell
from cardsvc.kernel.errors import ValidationError

JSON, CSV, XLSX = "json", "csv", "xlsx"
XLSX_MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MEDIA = {JSON: "application/json", CSV: "text/csv; charset=utf-8", XLSX: XLSX_MEDIA}


def negotiate(fmt: str | None, accept: str | None) -> str:
    """``format=`` wins; otherwise the Accept header; JSON by default."""
    if fmt:
        value = fmt.strip().lower()
        if value not in MEDIA:
            raise ValidationError.field(
                "format", "格式只能是 json、csv 或 xlsx", "format must be json, csv or xlsx"
            )
        return value
    accept = (accept or "").lower()
    if "text/csv" in accept:
        return CSV
    if XLSX_MEDIA in accept:
        return XLSX
    return JSON


def _cell(value: Any) -> Any:
    return "" if value is None else safe_cell(value)


def _header(label: str, label_en: str) -> str:
    return f"{label} {label_en}" if label_en and label_en != label else label


def table_rows(doc: dict[str, Any]) -> Iterator[tuple[str, list[list[Any]]]]:
    """The report as (sheet name, rows) blocks: the overview first, then one per section."""
    org = doc.get("org") or {}
    overview: list[list[Any]] = [
        ["报表 Report", doc["title"], doc["title_en"]],
        ["组织 Org", org.get("name") or "", org.get("id") or ""],
        ["起止 Range", doc["from"], doc["to"]],
        ["时区 Time zone", doc["time_zone"], ""],
        ["生成时间 Generated", doc["generated_at"], ""],
        [],
        ["指标", "Figure", "数值 Value"],
    ]
    overview += [[f["label"], f["label_en"], f["value"]] for f in doc["summary"]]
    yield "概要 Summary", overview
    for s in doc["sections"]:
        cols = s["columns"]
        rows: list[list[Any]] = [[_header(c["label"], c["label_en"]) for c in cols]]
        rows += [[r.get(c["key"]) for c in cols] for r in s["rows"]]
        if s.get("note"):
            rows += [[], [s["note"]], [s.get("note_en") or ""]]
        yield f"{s['title']} {s['title_en']}", rows


def to_csv(doc: dict[str, Any]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    for i, (title, rows) in enumerate(table_rows(doc)):
        if i:
            writer.writerow([])
            writer.writerow([_cell(f"## {title}")])
        for row in rows:
            writer.writerow([_cell(v) for v in row])
    return codecs.BOM_UTF8 + buf.getvalue().encode()


def _sheet_name(title: str, taken: set[str]) -> str:
    # Excel: at most 31 characters, none of []:*?/\ and unique within the workbook.
    name = "".join("_" if ch in "[]:*?/\\" else ch for ch in title)[:31]
    base, n = name, 2
    while name in taken:
        suffix = f" ({n})"
        name, n = base[: 31 - len(suffix)] + suffix, n + 1
    taken.add(name)
    return name


def to_xlsx(doc: dict[str, Any]) -> bytes:
    wb = Workbook(write_only=True)
    bold = Font(bold=True)
    taken: set[str] = set()
    for i, (title, rows) in enumerate(table_rows(doc)):
        ws = wb.create_sheet(_sheet_name(title, taken))
        header_row = 6 if i == 0 else 0  # the bold row: summary's column names, or the header
        for n, row in enumerate(rows):
            cells = []
            for v in row:
                cell = WriteOnlyCell(ws, value=_cell(v))
                if n == header_row:
                    cell.font = bold
                cells.append(cell)
            ws.append(cells)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def respond(
    doc: dict[str, Any], *, fmt: str | None, accept: str | None, filename: str
) -> Response[Any]:
    kind = negotiate(fmt, accept)
    if kind == JSON:
        return Response(content=doc, media_type=MEDIA[JSON])
    body = to_csv(doc) if kind == CSV else to_xlsx(doc)
    return Response(
        content=body,
        media_type=MEDIA[kind],
        headers={"Content-Disposition": f'attachment; filename="{filename}.{kind}"'},
    )
