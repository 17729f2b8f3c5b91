"""Synthetic roster files with valid identity data, fast enough for 100,000 rows.

For tests, the benchmark and demos: ``cardsvc.demo.people`` is the realistic generator (and
~100 µs a person); this one only needs every ID number to be valid and distinct.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from stdnum.cn import ric

from cardsvc.roster.columns import HEADERS

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红玉兰春梅海燕"
_REGIONS = ("420502", "420503", "420506", "420581", "420527", "420528", "110105", "310115",
            "440305", "510107")  # fmt: skip
_PREFIXES = ("139", "138", "137", "136", "135", "150", "151", "186", "187", "188")
_EMPLOYMENT = ("职工", "职工", "职工", "灵活就业", "新就业形态", "农民工")
_EMPLOYERS = ("宜昌峡江机电有限公司", "西陵区中心医院", "三峡物流园", "美团配送西陵站", "")
_JOBS = ("装配工", "护士", "叉车司机", "骑手", "保洁员", "")
_BASE_BIRTH = date(1962, 1, 1)
_DAYS = 365 * 40  # births over 40 years; coprime with 37, so the mapping below is one-to-one


def id_number(k: int) -> str:
    """The ``k``-th synthetic resident ID number: valid check digit, distinct for k < 14.6M."""
    q, seq = divmod(k, 1000)
    birth = _BASE_BIRTH + timedelta(days=(q * 37) % _DAYS)
    body = f"{_REGIONS[q % len(_REGIONS)]}{birth:%Y%m%d}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")  # it ignores the last character


def sample_rows(
    n: int, union_codes: Sequence[str], *, seed: int = 1, start: int = 0
) -> Iterator[list[Any]]:
    """``n`` roster rows in template column order (strings, as typed into a text cell)."""
    rng = random.Random(seed)
    for i in range(n):
        k = start + i
        name = rng.choice(_SURNAMES) + "".join(rng.choices(_GIVEN, k=rng.choice((1, 2))))
        phone = rng.choice(_PREFIXES) + f"{rng.randrange(10**8):08d}"
        hardship = rng.random() < 0.03
        yield [
            name,
            id_number(k),
            phone,
            union_codes[k % len(union_codes)],
            rng.choice(_EMPLOYMENT),
            rng.choice(_EMPLOYERS),
            rng.choice(_JOBS),
            "困难职工" if hardship else "",
            rng.choice(("1", "2", "3")) if hardship else "",
            f"{2010 + k % 15}-{1 + k % 12:02d}-{1 + k % 28:02d}",
        ]


def write_csv(path: Path, rows: Iterable[Sequence[Any]], *, encoding: str = "utf-8-sig") -> Path:
    with open(path, "w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADERS)
        writer.writerows(rows)
    return path


def write_xlsx(
    path: Path, rows: Iterable[Sequence[Any]], *, headers: Sequence[Any] = HEADERS
) -> Path:
    """Write-only openpyxl (constant memory); text cells stay text."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("会员名册")
    ws.append(list(headers))
    for row in rows:
        ws.append(list(row))
    wb.save(path)
    return path
