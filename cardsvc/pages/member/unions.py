"""Choosing a grassroots union (joining, moving): a region → city → district cascade from the
GB/T 2260 table, a name search, and the matching unions, as one picker shared by the forms."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.regions import codes_under, full_name, is_known
from cardsvc.membership.service import search_unions
from cardsvc.orgs.models import Org
from cardsvc.orgs.service import find_org

SHOWN = 20
LEVELS = ("province", "city", "district")


@dataclass(frozen=True, slots=True)
class Level:
    name: str  # the form field: province, city, district
    label_zh: str
    label_en: str
    options: list[tuple[str, str]]  # (code, name under its parent)
    value: str


@dataclass(slots=True)
class Picker:
    field: str  # org_id (joining) or to_org_id (moving)
    q: str = ""
    levels: list[Level] = dc_field(default_factory=list)
    unions: list[Org] = dc_field(default_factory=list)
    total: int = 0
    searched: bool = False  # a region or a name was given
    selected: str = ""

    @property
    def more(self) -> int:
        return max(0, self.total - len(self.unions))


def _short(code: str, parent: str | None) -> str:
    name = full_name(code) or code
    return name.removeprefix(full_name(parent) or "") or name if parent else name


def _children(code: str) -> list[str]:
    """The divisions right under a province (its cities, or a municipality's districts) or a
    city (its districts)."""
    if code.endswith("0000"):
        below = [c for c in codes_under(code[:2]) if c != code]
        cities = [c for c in below if c.endswith("00")]
        return cities or below
    if code.endswith("00"):
        return [c for c in codes_under(code[:4]) if c != code]
    return []


def _levels(chosen: dict[str, str]) -> tuple[list[Level], str]:
    """The selects to show and the code prefix the chosen ones narrow the unions to."""
    provinces = [c for c in codes_under("") if c.endswith("0000")]
    levels: list[Level] = []
    options = provinces
    parent: str | None = None
    prefix = ""
    labels = {
        "province": ("省份", "Province"),
        "city": ("城市", "City"),
        "district": ("区县", "District"),
    }
    for name in LEVELS:
        if not options:
            break
        value = chosen.get(name, "")
        value = value if value in options else ""
        zh, en = labels[name]
        if name == "city" and not any(c.endswith("00") for c in options):
            zh, en = labels["district"]  # a municipality: districts straight under it
        levels.append(Level(name, zh, en, [(c, _short(c, parent)) for c in options], value))
        if not value:
            break
        prefix = (
            value[:2] if value.endswith("0000") else value[:4] if value.endswith("00") else value
        )
        parent, options = value, _children(value)
    return levels, prefix


async def union_picker(
    db_session: AsyncSession,
    field_name: str,
    values: dict[str, str],
    *,
    exclude: uuid.UUID | None = None,
) -> Picker:
    """The picker as the person left it: region choices, search words and chosen union."""
    chosen = {k: values.get(k, "").strip() for k in LEVELS}
    chosen = {k: v for k, v in chosen.items() if v.isdigit() and is_known(v)}
    levels, prefix = _levels(chosen)
    q = values.get("q", "").strip()[:64]
    picker = Picker(field_name, q, levels, selected=values.get(field_name, "").strip())
    if prefix or q:
        unions, total = await search_unions(
            db_session, q=q or None, region=prefix or None, limit=SHOWN + 1, offset=0
        )
        unions = [u for u in unions if u.id != exclude]
        picker.unions, picker.total, picker.searched = unions[:SHOWN], total, True
    # The chosen union stays in view whatever the search shows now.
    try:
        chosen_id = uuid.UUID(picker.selected) if picker.selected else None
    except ValueError:
        chosen_id = None
    if chosen_id is not None and all(u.id != chosen_id for u in picker.unions):
        org = await find_org(db_session, chosen_id)
        if org is not None and org.id != exclude:
            picker.unions.insert(0, org)
    return picker


def picker_values(form: Any, field_name: str) -> dict[str, str]:
    """The picker's fields from a submitted form or query."""
    return {k: str(form.get(k, "") or "") for k in (*LEVELS, "q", field_name)}
