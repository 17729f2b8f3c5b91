"""The error report of an import, as CSV or XLSX, streamed from the database."""

from __future__ import annotations

import codecs
import csv
import io
import os
import tempfile
from collections.abc import AsyncIterator
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from cardsvc.kernel.cells import safe_cell

REPORT_HEADERS = ("行号", "列", "单元格内容", "错误原因", "Reason")


def _row(e: Any) -> list[Any]:
    return [e.row_no, e.column or "", e.value or "", e.reason_zh, e.reason_en]


async def csv_chunks(errors: AsyncIterator[Any]) -> AsyncIterator[bytes]:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(REPORT_HEADERS)
    yield codecs.BOM_UTF8 + buf.getvalue().encode()
    buf.seek(0)
    buf.truncate()
    n = 0
    async for e in errors:
        writer.writerow([safe_cell(v) for v in _row(e)])
        n += 1
        if n % 500 == 0:
            yield buf.getvalue().encode()
            buf.seek(0)
            buf.truncate()
    if buf.tell():
        yield buf.getvalue().encode()


async def xlsx_file(errors: AsyncIterator[Any]) -> str:
    """Write the report to a temporary file (openpyxl's write-only mode keeps memory flat)."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("错误报告")
    bold = Font(bold=True)
    header = []
    for h in REPORT_HEADERS:
        cell = WriteOnlyCell(ws, value=h)
        cell.font = bold
        header.append(cell)
    ws.append(header)
    async for e in errors:
        ws.append([safe_cell(v) for v in _row(e)])
    fd, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(fd)
    wb.save(path)
    return path
