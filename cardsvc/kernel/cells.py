"""Cells in files we hand out: never let a spreadsheet read a value as a formula.

A cell whose text starts with ``= + - @`` (or a tab / carriage return, which some programs
strip before looking) is run as a formula by Excel and WPS when the file is opened: a roster
value such as ``=HYPERLINK("http://…")`` would become a live link. Such text is written with a
leading apostrophe-like quote, as OWASP recommends for CSV injection.
"""

from __future__ import annotations

from typing import Any

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_TRIGGERS):
        return "'" + value
    return value
