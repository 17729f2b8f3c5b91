"""The shape every report has, as JSON for charts and as the source of its CSV/XLSX files.

A report is a plain dict (the benefits package builds the same shape without importing this
module)::

    {"report", "title", "title_en", "org": {"id", "name"}, "from", "to", "time_zone",
     "generated_at", "summary": [{"key", "label", "label_en", "value"}],
     "sections": [{"key", "title", "title_en", "columns": [{"key", "label", "label_en"}],
                   "rows": [{column key: value}], "note"?, "note_en"?}]}
"""

from __future__ import annotations

from typing import Any

from cardsvc.kernel.clock import utc_now
from cardsvc.orgs.models import Org
from cardsvc.reports.period import ReportRange


def col(key: str, label: str, label_en: str) -> dict[str, str]:
    return {"key": key, "label": label, "label_en": label_en}


def figure(key: str, label: str, label_en: str, value: Any) -> dict[str, Any]:
    return {"key": key, "label": label, "label_en": label_en, "value": value}


def section(
    key: str,
    title: str,
    title_en: str,
    columns: list[dict[str, str]],
    rows: list[dict[str, Any]],
    *,
    note: str | None = None,
    note_en: str | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "key": key,
        "title": title,
        "title_en": title_en,
        "columns": columns,
        "rows": rows,
    }
    if note:
        out["note"], out["note_en"] = note, note_en
    return out


def new_doc(report: str, title: str, title_en: str, org: Org, rng: ReportRange) -> dict[str, Any]:
    return {
        "report": report,
        "title": title,
        "title_en": title_en,
        "org": {"id": str(org.id), "name": org.name, "code": org.code},
        "from": rng.start.isoformat(),
        "to": rng.end.isoformat(),
        "time_zone": rng.time_zone,
        "generated_at": utc_now().isoformat(timespec="seconds"),
        "summary": [],
        "sections": [],
    }
