"""Streaming readers for ``.xlsx`` and ``.csv`` rosters, and the spool between two passes.

The job reads a file twice over, in effect: pass one parses the whole file (openpyxl in
read-only mode, or the csv module over an incremental decoder) and writes the raw rows into a
compact spool file, so that any file-level problem — not a spreadsheet, a damaged zip, wrong
headers, a formula, undecodable bytes on line 80,000 — is found before a single member is
written. Pass two validates and writes from the spool. Memory stays flat in the file size:
rows go from the reader to the spool a batch at a time.

The cost follows the cells a file holds, not what it declares: a sheet's ``dimension`` (which
may claim 16,384 columns and a million rows in a 5 KB file) is ignored, rows missing from the
XML cost nothing, and a row is read only up to its last cell, at most ``MAX_COLUMNS`` wide.
"""

from __future__ import annotations

import codecs
import csv
import io
import struct
import warnings
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import IO, Any

import msgspec

from cardsvc.roster.columns import COLUMNS, HEADERS, REQUIRED, normalise_header
from cardsvc.roster.errors import RosterFileError, file_error

XLSX, CSV = "xlsx", "csv"
HEADER_SEARCH_ROWS = 10  # a title row or two above the headers is common in rosters
SNIFF_BYTES = 64 * 1024
MAX_UNCOMPRESSED = 1 << 30  # zip-bomb guard: 1 GiB of XML is ~3 million rows
MAX_RATIO = 400  # real sheets compress 5–50×; bombs 1000× and more
MAX_CELL_CHARS = 1000
MAX_COLUMNS = 200  # the template has a dozen; room for notes, never a sheet's 16,384
EXCEL_ERRORS = frozenset({"#N/A", "#REF!", "#VALUE!", "#DIV/0!", "#NAME?", "#NULL!", "#NUM!"})

Row = tuple[int, list[Any]]  # (row number as the user sees it, values in COLUMNS order)


class ReadStopped(Exception):
    """The job reading the file was stopped (cancelled, out of time, shutting down)."""


# ---------------------------------------------------------------- format detection


def sniff_format(head: bytes, filename: str | None = None) -> str:
    """``xlsx`` or ``csv`` from the first bytes (never trusting the extension), or an error."""
    ext = (filename or "").rsplit(".", 1)[-1].lower() if filename and "." in filename else ""
    if not head:
        raise file_error("roster_empty", "文件为空", "The file is empty")
    if head.startswith(b"PK\x03\x04"):
        return XLSX
    if head.startswith(b"PK\x05\x06") or head.startswith(b"PK"):
        raise file_error(
            "roster_not_xlsx",
            "文件是空的或损坏的压缩包，不是 Excel 工作簿",
            "An empty or damaged zip archive, not an Excel workbook",
        )
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise file_error(
            "roster_legacy_xls",
            "不支持旧版 Excel（.xls）或加密的工作簿，请在 Excel 中“另存为 .xlsx”并取消密码后重新上传",
            "Legacy .xls or password-protected workbooks are not supported; save as .xlsx "
            "without a password",
        )
    if any(
        head.startswith(m)
        for m in (
            b"%PDF",
            b"\x89PNG",
            b"GIF8",
            b"\xff\xd8\xff",
            b"\x1f\x8b",
            b"Rar!",
            b"7z\xbc\xaf",
        )
    ):
        raise file_error(
            "roster_not_spreadsheet",
            "文件不是表格（请上传 .xlsx 或 .csv 文件）",
            "Not a spreadsheet (upload an .xlsx or .csv file)",
        )
    if ext == "xlsx":
        raise file_error(
            "roster_not_xlsx",
            "文件扩展名是 .xlsx，但内容不是 Excel 工作簿",
            "The file is named .xlsx but is not an Excel workbook",
        )
    if b"\x00" in head:
        raise file_error(
            "roster_not_spreadsheet",
            "文件不是表格（含二进制内容），请上传 .xlsx 或 .csv 文件",
            "Not a spreadsheet (binary content); upload an .xlsx or .csv file",
        )
    detect_encoding(head)
    return CSV


def detect_encoding(head: bytes) -> str:
    """UTF-8 (with or without BOM) or GB18030 (what Chinese Excel saves as "CSV")."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    for enc in ("utf-8", "gb18030"):
        try:
            codecs.getincrementaldecoder(enc)().decode(head, final=False)
            return enc
        except UnicodeDecodeError:
            continue
    raise file_error(
        "roster_bad_encoding",
        "无法识别文件编码，请将 CSV 保存为 UTF-8 或 GBK 编码，或改用 .xlsx",
        "Unknown text encoding; save the CSV as UTF-8 or GBK, or use .xlsx",
    )


def check_zip(path: Path) -> None:
    """A real .xlsx package, not a disguised archive or a zip bomb."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        raise file_error(
            "roster_damaged",
            "Excel 文件已损坏，无法打开",
            "The Excel file is damaged and cannot be opened",
        ) from None
    names = {i.filename for i in infos}
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        raise file_error(
            "roster_not_xlsx",
            "压缩包不是 Excel 工作簿（.xlsx）",
            "The zip archive is not an Excel workbook (.xlsx)",
        )
    if any(i.flag_bits & 0x1 for i in infos):
        raise file_error(
            "roster_encrypted", "文件已加密，请取消密码后重新上传", "The file is encrypted"
        )
    total = sum(i.file_size for i in infos)
    if total > MAX_UNCOMPRESSED or any(
        i.file_size > 1 << 20 and i.file_size > MAX_RATIO * max(i.compress_size, 1) for i in infos
    ):
        raise file_error(
            "roster_zip_bomb",
            "文件解压后过大（疑似压缩炸弹），已拒绝",
            "The file expands to an unreasonable size (zip bomb); refused",
        )


# ---------------------------------------------------------------- header


def map_header(cells: list[Any]) -> list[int | None] | None:
    """Column index of each of COLUMNS in this row, or None if it is not the header row."""
    names = [normalise_header(c) for c in cells]
    if not all(c.header in names for c in REQUIRED):
        return None
    positions: list[int | None] = []
    for col in COLUMNS:
        hits = [i for i, n in enumerate(names) if n == col.header]
        if len(hits) > 1:
            raise file_error(
                "roster_bad_header",
                f"表头“{col.header}”出现了{len(hits)}次",
                f"Header {col.header!r} appears {len(hits)} times",
            )
        positions.append(hits[0] if hits else None)
    return positions


def header_error(first_rows: list[list[Any]]) -> RosterFileError:
    if not first_rows:
        return file_error("roster_empty", "文件中没有内容", "The file has no content")
    seen = {normalise_header(c) for row in first_rows for c in row} - {""}
    missing = [c.header for c in REQUIRED if c.header not in seen]
    return file_error(
        "roster_bad_header",
        f"表头不正确：缺少“{'、'.join(missing)}”。请使用下载的模板，表头应为：{'、'.join(HEADERS)}",
        f"Wrong headers: missing {', '.join(missing)}. Use the template; the headers are: "
        f"{', '.join(HEADERS)}",
    )


# ---------------------------------------------------------------- rows


def _is_blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _plain(value: Any, row_no: int, header: str) -> Any:
    """A cell value as the spool stores it; formulas are refused outright."""
    if isinstance(value, str):
        if value.startswith("="):
            raise file_error(
                "roster_formula",
                f"第{row_no}行“{header}”是公式（{value[:40]}），系统不计算公式：请将整张表"
                f"复制后“选择性粘贴为数值”再导入",
                f"Row {row_no}, {header}: a formula ({value[:40]}); formulas are not "
                "evaluated — paste the sheet as values and import again",
            )
        return value[:MAX_CELL_CHARS]
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, datetime):
        return (
            {"d": value.date().isoformat()} if value.time() == time() else {"dt": value.isoformat()}
        )
    if isinstance(value, date):
        return {"d": value.isoformat()}
    if isinstance(value, time | timedelta):
        return str(value)
    # openpyxl's ArrayFormula / DataTableFormula
    raise file_error(
        "roster_formula",
        f"第{row_no}行“{header}”是数组公式，请粘贴为数值后再导入",
        f"Row {row_no}, {header}: an array formula; paste as values and import again",
    )


def _rows_from(
    raw: Iterator[tuple[int, list[Any]]], max_rows: int, stop: Callable[[], bool]
) -> Iterator[Row]:
    """Find the header, then yield non-blank data rows in COLUMNS order."""
    first: list[list[Any]] = []
    positions: list[int | None] | None = None
    data_rows = 0
    for row_no, cells in raw:
        if stop():
            raise ReadStopped
        if positions is None:
            if row_no > HEADER_SEARCH_ROWS:
                break
            first.append(cells)
            positions = map_header(cells)
            continue
        if all(_is_blank(c) for c in cells):
            continue
        data_rows += 1
        if data_rows > max_rows:
            raise file_error(
                "roster_too_many_rows",
                f"文件超过{max_rows}行，请拆分为多个文件导入",
                f"More than {max_rows} rows; split the file",
            )
        values = [
            _plain(cells[i], row_no, COLUMNS[k].header)
            if i is not None and i < len(cells)
            else None
            for k, i in enumerate(positions)
        ]
        yield row_no, values
    if positions is None:
        raise header_error(first)


def _too_wide(row_no: int) -> RosterFileError:
    return file_error(
        "roster_too_many_columns",
        f"第{row_no}行在第{MAX_COLUMNS}列之后还有内容；名册最多{MAX_COLUMNS}列，请删除多余的列后重新上传",
        f"Row {row_no} has content past column {MAX_COLUMNS}; a roster has at most "
        f"{MAX_COLUMNS} columns — delete the extra columns and upload again",
    )


def _sheet_rows(ws: Any) -> Iterator[tuple[int, list[Any]]]:
    """The rows a read-only sheet's XML holds, with their own numbers, each as wide as its
    last cell (at most MAX_COLUMNS): openpyxl's ``iter_rows`` would pad every row to the
    declared width and fill every missing row in between."""
    from openpyxl.worksheet._reader import WorkSheetParser

    wb = ws.parent
    with ws._get_source() as src:
        parser = WorkSheetParser(
            src,
            ws._shared_strings,
            data_only=False,
            epoch=wb.epoch,
            date_formats=wb._date_formats,
            timedelta_formats=wb._timedelta_formats,
        )
        for row_no, cells in parser.parse():
            values: list[Any] = []
            for cell in cells:
                col, value = cell["column"], cell["value"]
                if col > MAX_COLUMNS:
                    if _is_blank(value):
                        continue
                    raise _too_wide(row_no)
                if col > len(values):
                    values.extend([None] * (col - len(values)))
                values[col - 1] = value
            yield row_no, values


def _xlsx_raw(path: Path) -> Iterator[tuple[int, list[Any]]]:
    from openpyxl import load_workbook

    check_zip(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wb = load_workbook(path, read_only=True, data_only=False, keep_links=False)
    except Exception as exc:  # openpyxl raises a zoo of types for broken packages
        raise file_error(
            "roster_damaged",
            "Excel 文件已损坏或格式不受支持，无法打开",
            f"The Excel file is damaged or unsupported ({type(exc).__name__})",
        ) from None
    try:
        names = wb.sheetnames
        title = next(
            (n for n in names if n.strip() in ("会员名册", "名册")), names[0] if names else None
        )
        if title is None:
            raise file_error("roster_empty", "工作簿中没有工作表", "The workbook has no sheet")
        ws = wb[title]
        if not hasattr(ws, "iter_rows"):  # a chart sheet
            raise file_error(
                "roster_empty", "第一个工作表不是数据表", "The first sheet holds no cells"
            )
        try:
            yield from _sheet_rows(ws)
        except RosterFileError:
            raise
        except Exception as exc:
            raise file_error(
                "roster_damaged",
                "Excel 文件内容已损坏，无法完整读取",
                f"The Excel file is damaged and cannot be read to the end ({type(exc).__name__})",
            ) from None
    finally:
        wb.close()


def _csv_raw(path: Path) -> Iterator[tuple[int, list[Any]]]:
    with open(path, "rb") as fh:
        encoding = detect_encoding(fh.read(SNIFF_BYTES))
        fh.seek(0)
        text = io.TextIOWrapper(fh, encoding=encoding, errors="strict", newline="")
        first_line = text.readline()
        text.seek(0)
        delimiter = "\t" if first_line.count("\t") > first_line.count(",") else ","
        reader = csv.reader(text, delimiter=delimiter)
        row_no = 0
        try:
            for row_no, row in enumerate(reader, start=1):
                yield row_no, list(row)
        except UnicodeDecodeError:
            raise file_error(
                "roster_bad_encoding",
                f"第{row_no + 1}行附近有无法识别的字符（文件编码不一致或已损坏）",
                f"Undecodable bytes near row {row_no + 1} (mixed encodings or a damaged file)",
            ) from None
        except csv.Error as exc:
            raise file_error(
                "roster_bad_csv",
                f"第{row_no + 1}行不是有效的 CSV 格式",
                f"Row {row_no + 1} is not valid CSV ({exc})",
            ) from None


def iter_roster(
    path: Path, fmt: str, *, max_rows: int, stop: Callable[[], bool] = lambda: False
) -> Iterator[Row]:
    """The file's data rows; raises ReadStopped, between two rows, once ``stop()`` is true."""
    raw = _xlsx_raw(path) if fmt == XLSX else _csv_raw(path)
    return _rows_from(raw, max_rows, stop)


# ---------------------------------------------------------------- spool


@dataclass(slots=True)
class SpoolWriter:
    """Length-prefixed msgpack frames of rows: ``[[row_no, [values…]], …]``."""

    fh: IO[bytes]
    encoder: msgspec.msgpack.Encoder

    def write(self, rows: list[Row]) -> None:
        blob = self.encoder.encode(rows)
        self.fh.write(struct.pack(">I", len(blob)))
        self.fh.write(blob)


@contextmanager
def spool_writer(path: Path) -> Iterator[SpoolWriter]:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    try:
        with open(tmp, "wb", opener=_private) as fh:
            yield SpoolWriter(fh, msgspec.msgpack.Encoder())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(path)


def read_spool(path: Path) -> Iterator[list[Row]]:
    decoder = msgspec.msgpack.Decoder(list[tuple[int, list[Any]]])
    with open(path, "rb") as fh:
        while head := fh.read(4):
            (size,) = struct.unpack(">I", head)
            yield decoder.decode(fh.read(size))


def _private(path: str, flags: int) -> int:
    import os

    return os.open(path, flags, 0o600)
