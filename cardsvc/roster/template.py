"""The downloadable roster template: ``.xlsx`` (with instructions and drop-downs) and ``.csv``."""

from __future__ import annotations

import codecs
import csv
import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from cardsvc.roster.columns import COLUMNS, EMPLOYMENT_LABELS_ZH, HEADERS

SHEET_TITLE = "会员名册"
TEXT_COLUMNS = ("id_number", "phone", "union_code")  # Excel would mangle these as numbers
TEMPLATE_ROWS = 5000  # rows that get the drop-down lists


def template_xlsx() -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = SHEET_TITLE
    ws.append(list(HEADERS))
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="FFF2CC")
    for i, col in enumerate(COLUMNS, start=1):
        cell = ws.cell(row=1, column=i)
        cell.font = bold
        if col.required:
            cell.fill = fill
        letter = get_column_letter(i)
        ws.column_dimensions[letter].width = max(12, len(col.header) * 2 + 4)
        if col.key in TEXT_COLUMNS:
            # Pre-format the cells as text: an 18-digit ID typed into a General cell loses
            # its last three digits in Excel.
            ws.column_dimensions[letter].width = 22
            ws.column_dimensions[letter].number_format = "@"
    ws.freeze_panes = "A2"
    employment = DataValidation(
        type="list",
        formula1='"' + ",".join(EMPLOYMENT_LABELS_ZH.values()) + '"',
        allow_blank=True,
        showErrorMessage=False,
    )
    level = DataValidation(type="list", formula1='"1,2,3"', allow_blank=True)
    ws.add_data_validation(employment)
    ws.add_data_validation(level)
    col_of = {c.key: get_column_letter(i) for i, c in enumerate(COLUMNS, start=1)}
    employment.add(f"{col_of['employment_type']}2:{col_of['employment_type']}{TEMPLATE_ROWS + 1}")
    level.add(f"{col_of['hardship_level']}2:{col_of['hardship_level']}{TEMPLATE_ROWS + 1}")

    notes = wb.create_sheet("填写说明")
    notes.append(["列名", "是否必填", "说明", "示例"])
    for c in notes[1]:
        c.font = bold
    for col in COLUMNS:
        notes.append([col.header, "必填" if col.required else "选填", col.help_zh, col.example])
    notes.append([])
    for line in (
        "1. 请在“会员名册”工作表中从第2行开始填写，不要修改表头。",
        "2. 已登记的会员（按身份证号识别）再次导入时会更新信息，不会重复登记；选填列留空表示不修改。",
        "3. 单元格中不要使用公式；身份证号、手机号请使用文本格式。",
        "4. 建议先“试导入”检查错误，确认无误后再正式导入。",
    ):
        notes.append([line])
    notes.column_dimensions["A"].width = 14
    notes.column_dimensions["B"].width = 10
    notes.column_dimensions["C"].width = 60
    notes.column_dimensions["D"].width = 22
    for row in notes.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def template_csv() -> bytes:
    """UTF-8 with a BOM, so that Excel on Chinese Windows opens it without mojibake."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow(HEADERS)
    return codecs.BOM_UTF8 + buf.getvalue().encode()
