"""Malformed files: each gets a clear error and leaves nothing half-written."""

from __future__ import annotations

import io
import random
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from cardsvc.app import create_app
from cardsvc.jobs.runner import JobRunner
from cardsvc.kernel.db import make_sessionmaker
from cardsvc.kernel.settings import Settings
from cardsvc.roster.models import RosterImportError
from cardsvc.roster.sample import write_xlsx
from tests.cardsvc.roster.conftest import (
    IMPORTS,
    csv_bytes,
    login,
    member_count,
    rows,
    run_jobs,
    upload,
    xlsx_bytes,
)
from tests.support.contract import contract_client


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _refused_at_upload(tmp_path: Path) -> list[Any]:
    good = xlsx_bytes(tmp_path, rows(50))
    junk = random.Random(1).randbytes(200_000)
    return [
        pytest.param(b"", "roster.xlsx", "roster_empty", id="empty"),
        pytest.param(
            b"\x89PNG\r\n\x1a\n" + junk, "roster.xlsx", "roster_not_spreadsheet", id="png"
        ),
        pytest.param(junk, "roster.csv", "roster_not_spreadsheet", id="binary-junk"),
        pytest.param(
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + junk, "r.xls", "roster_legacy_xls", id="xls"
        ),
        pytest.param(
            _zip({"hello.txt": b"hi"}), "roster.xlsx", "roster_not_xlsx", id="zip-not-xlsx"
        ),
        pytest.param(b"name,id\n1,2\n", "roster.xlsx", "roster_not_xlsx", id="text-named-xlsx"),
        pytest.param(good[: len(good) // 2], "roster.xlsx", "roster_damaged", id="truncated-xlsx"),
        pytest.param(
            _zip(
                {
                    "[Content_Types].xml": b"<Types/>",
                    "xl/workbook.xml": b"<workbook/>",
                    "xl/worksheets/sheet1.xml": b"\x00" * (60 << 20),
                }
            ),
            "roster.xlsx",
            "roster_zip_bomb",
            id="zip-bomb",
        ),
    ]


@pytest.mark.parametrize("case", range(8))
async def test_refused_at_upload(
    client: AsyncTestClient[Litestar],
    engine: AsyncEngine,
    demo: dict,
    tmp_path: Path,
    settings: Settings,
    case: int,
) -> None:
    content, filename, code = _refused_at_upload(tmp_path)[case].values
    await login(client, "xl.admin")
    before = await member_count(engine)
    resp = await upload(client, content, filename=filename)
    assert resp.status_code == 422, resp.text
    body = resp.json()
    assert body["code"] == code
    assert body["message_zh"] and body["message_en"]
    assert (await client.get(IMPORTS)).json()["total"] == 0  # no job queued
    assert await member_count(engine) == before
    uploads = settings.var_dir / "uploads"
    assert not uploads.exists() or not [p for p in uploads.iterdir() if p.is_file()]


def _job_failures(tmp_path: Path) -> list[Any]:
    data = rows(200)
    formula_path = tmp_path / "formula.xlsx"
    with_formula = [list(r) for r in data]
    with_formula[148][9] = "=TODAY()"  # row 150: after several batches of 40
    write_xlsx(formula_path, with_formula)
    good_csv = csv_bytes(tmp_path, rows(1500), encoding="utf-8")  # > the 64 KB sniffed
    cut = good_csv.rindex(b"\n", 0, len(good_csv) - 2000) + 1
    bad_tail = good_csv[:cut] + "张三,".encode("gb18030") + good_csv[cut:]  # GBK bytes mid-file
    letters = random.Random(2)
    text_junk = "\n".join(
        ",".join("".join(letters.choices("abcdefghij", k=6)) for _ in range(5)) for _ in range(3000)
    ).encode()
    return [
        (
            xlsx_bytes(tmp_path, rows(5), headers=["序号", "名字", "证件号码"]),
            "r.xlsx",
            "roster_bad_header",
        ),
        (xlsx_bytes(tmp_path, []), "r.xlsx", "roster_no_rows"),
        (formula_path.read_bytes(), "r.xlsx", "roster_formula"),
        (bad_tail, "r.csv", "roster_bad_encoding"),
        (text_junk, "junk.csv", "roster_bad_header"),
    ]


@pytest.mark.parametrize(
    "case", range(5), ids=["headers", "no-rows", "formula", "encoding", "junk"]
)
async def test_job_fails_with_a_reason_and_writes_nothing(
    client: AsyncTestClient[Litestar],
    runner: JobRunner,
    engine: AsyncEngine,
    demo: dict,
    tmp_path: Path,
    settings: Settings,
    case: int,
) -> None:
    content, filename, code = _job_failures(tmp_path)[case]
    await login(client, "xl.admin")
    before = await member_count(engine)
    resp = await upload(client, content, filename=filename)
    assert resp.status_code == 202, resp.text
    await run_jobs(runner)
    job = (await client.get(f"{IMPORTS}/{resp.json()['id']}")).json()
    assert job["status"] == "failed"
    assert job["error"]["code"] == code, job["error"]
    assert job["error"]["message"] and job["error"]["message_en"]
    assert job["rows_done"] == 0
    assert await member_count(engine) == before
    async with make_sessionmaker(engine)() as s:
        assert (await s.execute(select(func.count()).select_from(RosterImportError))).scalar() == 0
    uploads = settings.var_dir / "uploads"
    assert not [p for p in uploads.rglob("*") if p.is_file()]  # the file with ID numbers is gone


async def test_formula_error_names_the_cell(
    client: AsyncTestClient[Litestar], runner: JobRunner, demo: dict, tmp_path: Path
) -> None:
    data = rows(3)
    data[1][9] = "=DATE(2024,1,1)"
    await login(client, "xl.admin")
    resp = await upload(client, xlsx_bytes(tmp_path, data))
    await run_jobs(runner)
    job = (await client.get(f"{IMPORTS}/{resp.json()['id']}")).json()
    assert "第3行" in job["error"]["message"] and "入会日期" in job["error"]["message"]
    assert "公式" in job["error"]["message"]


async def test_upload_over_the_size_limit_is_413(
    settings: Settings, engine: AsyncEngine, demo: dict
) -> None:
    app = create_app(replace(settings, upload_max_mb=1))
    async with contract_client(app) as client:
        await login(client, "xl.admin")
        resp = await upload(client, b"a,b\n" * (600 * 1024), filename="big.csv")
        assert resp.status_code == 413
        assert resp.json()["code"] == "upload_too_large"
        assert "1 MB" in resp.json()["message_zh"]
    uploads = settings.var_dir / "uploads"
    assert not uploads.exists() or not [p for p in uploads.iterdir() if p.is_file()]
