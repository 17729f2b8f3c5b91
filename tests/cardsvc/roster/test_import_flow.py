"""Template, dry run vs real run vs re-import, row errors, the error report, scoping."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from cardsvc.jobs.runner import JobRunner
from cardsvc.kernel.audit import AuditEntry
from cardsvc.kernel.db import make_sessionmaker
from cardsvc.members.models import Member
from cardsvc.roster import hooks
from cardsvc.roster.columns import HEADERS
from tests.cardsvc.roster.conftest import (
    IMPORTS,
    WJG_UNION,
    csv_bytes,
    login,
    member_count,
    rows,
    run_jobs,
    upload,
    xlsx_bytes,
)


async def _finished(
    client: AsyncTestClient[Litestar], runner: JobRunner, job_id: str
) -> dict[str, Any]:
    await run_jobs(runner)
    resp = await client.get(f"{IMPORTS}/{job_id}")
    assert resp.status_code == 200, resp.text
    return resp.json()


async def test_template_downloads_have_the_chinese_headers(
    client: AsyncTestClient[Litestar], demo: dict
) -> None:
    await login(client, "xl.admin")
    resp = await client.get("/api/v1/roster/template.xlsx")
    assert resp.status_code == 200
    wb = load_workbook(io.BytesIO(resp.content), read_only=True)
    ws = wb["会员名册"]
    assert next(ws.iter_rows(values_only=True, max_row=1)) == HEADERS
    assert "填写说明" in wb.sheetnames
    resp = await client.get("/api/v1/roster/template.csv")
    assert resp.status_code == 200
    assert resp.content.startswith(b"\xef\xbb\xbf")
    assert next(csv.reader(io.StringIO(resp.content.decode("utf-8-sig")))) == list(HEADERS)


async def test_dry_run_then_import_then_reimport(
    client: AsyncTestClient[Litestar],
    runner: JobRunner,
    engine: AsyncEngine,
    demo: dict,
    tmp_path: Path,
) -> None:
    await login(client, "xl.admin")
    data = rows(90)
    content = xlsx_bytes(tmp_path, data)
    before = await member_count(engine)
    activated: list[Any] = []

    async def hook(session: Any, ids: list[Any]) -> None:
        activated.extend(ids)

    hooks.on_members_activated.append(hook)
    try:
        # Dry run: reports, writes no member.
        resp = await upload(client, content, dry_run=True)
        assert resp.status_code == 202, resp.text
        assert resp.json()["status"] == "queued"
        job = await _finished(client, runner, resp.json()["id"])
        assert job["status"] == "succeeded", job
        assert job["dry_run"] is True
        assert job["counts"]["created"] == 90 and job["counts"]["error_rows"] == 0
        assert job["rows_total"] == 90 and job["rows_done"] == 90 and job["percent"] == 100
        assert await member_count(engine) == before
        assert activated == []

        # Real run of the dry run's file (no second upload).
        resp = await client.post(f"{IMPORTS}/{job['id']}/apply")
        assert resp.status_code == 202, resp.text
        job = await _finished(client, runner, resp.json()["id"])
        assert job["status"] == "succeeded", job
        assert job["dry_run"] is False
        assert job["counts"] == {
            "created": 90,
            "updated": 0,
            "unchanged": 0,
            "activated": 0,
            "hardship_proposed": 0,
            "error_rows": 0,
            "errors": 0,
        }
        assert await member_count(engine) == before + 90
        assert len(activated) == 90 and len(set(activated)) == 90

        # Re-import of the same file: nothing new, nothing changed.
        job = await _finished(client, runner, (await upload(client, content)).json()["id"])
        assert job["counts"]["created"] == 0 and job["counts"]["unchanged"] == 90
        assert await member_count(engine) == before + 90

        # One changed field is updated in place (same member number).
        data[5][5] = "宜昌新雇主有限公司"
        data[6][2] = "13911112222"
        job = await _finished(
            client,
            runner,
            (await upload(client, csv_bytes(tmp_path, data), filename="r.csv")).json()["id"],
        )
        assert job["counts"]["created"] == 0
        assert job["counts"]["updated"] == 2 and job["counts"]["unchanged"] == 88
        assert await member_count(engine) == before + 90
    finally:
        hooks.on_members_activated.remove(hook)

    cipher = runner.services["cipher"]
    async with make_sessionmaker(engine)() as s:
        m5 = await s.scalar(
            select(Member).where(
                Member.id_number_hash == cipher.lookup_hash("id_number", data[5][1])
            )
        )
        m6 = await s.scalar(
            select(Member).where(
                Member.id_number_hash == cipher.lookup_hash("id_number", data[6][1])
            )
        )
        assert m5 is not None and m5.employer == "宜昌新雇主有限公司"
        assert m6 is not None and cipher.decrypt("phone", m6.phone_enc or "") == "+8613911112222"
        actions = [
            a.action
            for a in await s.scalars(
                select(AuditEntry).where(AuditEntry.action.startswith("roster."))
            )
        ]
    # One summary audit row per run, not one per row.
    assert sorted(actions) == ["roster.dry_run", "roster.import", "roster.import", "roster.import"]


async def test_row_errors_name_row_column_and_reason(
    client: AsyncTestClient[Litestar],
    runner: JobRunner,
    engine: AsyncEngine,
    demo: dict,
    tmp_path: Path,
) -> None:
    await login(client, "xl.admin")
    data = rows(12)
    good_id = data[0][1]
    data[1][1] = data[1][1][:17] + ("0" if data[1][1][17] != "0" else "1")  # check digit
    data[2][2] = "1234567"  # phone
    data[3][3] = "NO-SUCH-UNION"
    data[4][3] = WJG_UNION  # another district: outside xl.admin's subtree
    data[5][9] = "去年三月"  # date as free text
    data[6][9] = "2024年3月1日"  # a date written as text, but a readable one: accepted
    data[7][0] = "张3"
    data[8][1] = good_id  # duplicate of row 2 in the file
    data[9][5] = '@HYPERLINK("http://x.example","点我")'  # "=…" would be a formula: a file error
    data[10][7] = "困难职工"  # hardship category without a level
    data[10][8] = ""
    before = await member_count(engine)
    job = await _finished(
        client, runner, (await upload(client, xlsx_bytes(tmp_path, data))).json()["id"]
    )
    assert job["status"] == "succeeded", job
    assert job["counts"]["created"] == 3  # rows 2, 8 (text date) and 13
    assert job["counts"]["error_rows"] == 9
    assert await member_count(engine) == before + 3

    resp = await client.get(f"{IMPORTS}/{job['id']}/errors")
    assert resp.status_code == 200
    errs = {(e["row"], e["column"]): e for e in resp.json()["items"]}
    # Spreadsheet rows: the header is row 1, so data[i] is row i + 2.
    assert errs[(3, "身份证号")]["reason"] == "身份证号码校验位错误，请核对是否输错"
    assert (
        errs[(3, "身份证号")]["value"].startswith(data[1][1][:3])
        and "*" in errs[(3, "身份证号")]["value"]
    )
    assert "手机号码" in errs[(4, "手机号")]["reason"]
    assert errs[(5, "所属工会编码")]["code"] == "unknown_union"
    assert "未找到" in errs[(5, "所属工会编码")]["reason"]
    assert errs[(6, "所属工会编码")]["code"] == "union_out_of_scope"
    assert "管辖范围" in errs[(6, "所属工会编码")]["reason"]
    assert (
        errs[(7, "入会日期")]["code"] == "bad_date"
        and "去年三月" in errs[(7, "入会日期")]["reason"]
    )
    assert errs[(9, "姓名")]["reason"] == "姓名不能包含数字"
    assert errs[(10, "身份证号")]["reason"] == "与第2行的身份证号重复"
    assert errs[(11, "工作单位")]["code"] == "formula_like"
    assert errs[(12, "困难等级")]["code"] == "bad_category"
    assert len(errs) == 9

    # The CSV report neutralises formula-like cells.
    resp = await client.get(f"{IMPORTS}/{job['id']}/errors.csv")
    assert resp.status_code == 200
    report = list(csv.reader(io.StringIO(resp.content.decode("utf-8-sig"))))
    assert report[0][:4] == ["行号", "列", "单元格内容", "错误原因"]
    assert len(report) == 10
    formula = next(r for r in report[1:] if r[0] == "11")
    assert formula[2].startswith("'@HYPERLINK")
    assert all(not cell.startswith(("=", "+", "-", "@")) for r in report for cell in r)
    resp = await client.get(f"{IMPORTS}/{job['id']}/errors.xlsx")
    assert resp.status_code == 200
    ws = load_workbook(io.BytesIO(resp.content), read_only=True).worksheets[0]
    cells = list(ws.iter_rows(values_only=True))
    assert len(cells) == 10
    assert any(isinstance(v, str) and v.startswith("'@HYPERLINK") for r in cells for v in r)


async def test_id_number_saved_as_a_number_is_a_row_error(
    client: AsyncTestClient[Litestar], runner: JobRunner, demo: dict, tmp_path: Path
) -> None:
    await login(client, "xl.admin")
    data: list[list[Any]] = rows(2)
    data[0][1] = float(data[0][1][:17])  # what Excel does to an 18-digit number in a General cell
    job = await _finished(
        client, runner, (await upload(client, xlsx_bytes(tmp_path, data))).json()["id"]
    )
    assert job["counts"]["created"] == 1 and job["counts"]["error_rows"] == 1
    resp = await client.get(f"{IMPORTS}/{job['id']}/errors")
    (err,) = resp.json()["items"]
    assert err["row"] == 2 and err["column"] == "身份证号" and err["code"] == "id_number_as_number"


async def test_gbk_csv_is_read(
    client: AsyncTestClient[Litestar],
    runner: JobRunner,
    engine: AsyncEngine,
    demo: dict,
    tmp_path: Path,
) -> None:
    await login(client, "xl.admin")
    before = await member_count(engine)
    content = csv_bytes(tmp_path, rows(25), encoding="gb18030")
    job = await _finished(
        client, runner, (await upload(client, content, filename="名册.csv")).json()["id"]
    )
    assert job["status"] == "succeeded", job
    assert job["counts"]["created"] == 25 and job["filename"] == "名册.csv"
    assert await member_count(engine) == before + 25


async def test_another_district_cannot_see_the_import(
    client: AsyncTestClient[Litestar], runner: JobRunner, demo: dict, tmp_path: Path
) -> None:
    await login(client, "xl.admin")
    job_id = (await upload(client, xlsx_bytes(tmp_path, rows(3)), dry_run=True)).json()["id"]
    await run_jobs(runner)
    client.cookies.clear()
    await login(client, "wjg.admin")
    for suffix in ("", "/events", "/errors", "/errors.csv", "/errors.xlsx"):
        resp = await client.get(f"{IMPORTS}/{job_id}{suffix}")
        assert resp.status_code == 404, (suffix, resp.text)
        assert resp.json()["code"] == "job_not_found"
    assert (await client.post(f"{IMPORTS}/{job_id}/apply")).status_code == 404
    assert (await client.get(IMPORTS)).json()["total"] == 0
    client.cookies.clear()
    await login(client, "yc.admin")  # the city federation above both districts
    assert (await client.get(f"{IMPORTS}/{job_id}")).status_code == 200
    assert (await client.get(IMPORTS)).json()["total"] == 1


async def test_an_auditor_may_not_import(
    client: AsyncTestClient[Litestar], demo: dict, tmp_path: Path
) -> None:
    await login(client, "hb.auditor")
    resp = await upload(client, xlsx_bytes(tmp_path, rows(1)))
    assert resp.status_code == 403
    assert resp.json()["code"] == "import_forbidden"


async def test_region_column_takes_codes_or_unambiguous_names(
    client: AsyncTestClient[Litestar],
    runner: JobRunner,
    engine: AsyncEngine,
    demo: dict,
    tmp_path: Path,
) -> None:
    await login(client, "xl.admin")
    data = rows(4, ("XL-JIDIAN",), start=600_000)
    for row, name, region in zip(
        data,
        ("区码甲", "区码乙", "区码丙", "区码丁"),
        ("湖北省宜昌市远安县", "420103", "", "朝阳区"),
        strict=True,
    ):
        row[0] = name
        row.append(region)
    job = await _finished(
        client, runner, (await upload(client, xlsx_bytes(tmp_path, data))).json()["id"]
    )
    assert job["counts"]["created"] == 3 and job["counts"]["error_rows"] == 1, job
    errs = (await client.get(f"{IMPORTS}/{job['id']}/errors")).json()["items"]
    assert [(e["row"], e["column"], e["code"]) for e in errs] == [
        (5, "所在地区", "region_code_invalid")
    ]
    async with make_sessionmaker(engine)() as s:
        got = dict(
            (
                await s.execute(
                    select(Member.name, Member.region_code).where(Member.name.like("区码%"))
                )
            )
            .tuples()
            .all()
        )
    # Blank: the union's region (峡江机电工会 is in 西陵区).
    assert got == {"区码甲": "420525", "区码乙": "420103", "区码丙": "420502"}
