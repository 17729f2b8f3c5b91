"""The member export: role-gated, masked unless allowed and asked, audited, formula-safe."""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Any

import openpyxl
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from cardsvc.kernel.audit import AuditEntry
from cardsvc.kernel.masking import mask_id_number, mask_phone
from cardsvc.kernel.regions import code_for_name, full_name, province_code
from cardsvc.reports.export import HEADERS
from tests.cardsvc.reports.conftest import U3_NAME, Dataset
from tests.support.staff import login

Client = AsyncTestClient[Litestar]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def export(client: Client, data: Dataset, **params: Any) -> Any:
    return await client.get(
        "/api/v1/exports/members", params={"org_id": str(data.district.id), **params}
    )


def sheet(body: bytes) -> list[tuple[Any, ...]]:
    wb = openpyxl.load_workbook(io.BytesIO(body))
    return list(wb.worksheets[0].iter_rows(values_only=True))


def by_number(rows: list[tuple[Any, ...]]) -> dict[str, dict[str, Any]]:
    assert rows[0] == HEADERS
    return {r[0]: dict(zip(HEADERS, r, strict=True)) for r in rows[1:]}


async def test_masked_by_default_and_formula_safe(client: Client, data: Dataset) -> None:
    await login(client, "tst.admin")
    resp = await export(client, data)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith(XLSX)
    assert (resp.headers["x-export-masked"], resp.headers["x-export-count"]) == ("true", "6")
    rows = by_number(sheet(resp.content))
    assert len(rows) == 6
    for key, m in data.members.items():
        row = rows[m.member_no]
        assert row["身份证号"] == mask_id_number(data.id_numbers[key]) != data.id_numbers[key]
        assert row["手机号"] == mask_phone(data.phones[key])
    m5 = rows[data.members["m5"].member_no]
    assert m5["姓名"] == "'=cmd"  # a formula-looking name stays text
    assert m5["所属工会"] == "'" + U3_NAME
    m2 = rows[data.members["m2"].member_no]
    assert (m2["会员类别"], m2["困难等级"], m2["就业形态"]) == ("困难职工、农民工", 2, "农民工")
    assert m2["入会日期"] in (date(2026, 1, 31), datetime(2026, 1, 31))
    assert rows[data.members["m4"].member_no]["状态"] == "已离会"


async def test_unmasked_only_for_a_role_that_may_unmask(
    client: Client, data: Dataset, engine: AsyncEngine
) -> None:
    await login(client, "tst.admin")  # union_admin: may unmask
    resp = await export(client, data, unmask="true")
    assert resp.status_code == 200 and resp.headers["x-export-masked"] == "false"
    rows = by_number(sheet(resp.content))
    for key, m in data.members.items():
        assert rows[m.member_no]["身份证号"] == data.id_numbers[key]
        assert rows[m.member_no]["手机号"] == data.phones[key]
    only_active = await export(client, data, status="active")
    assert only_active.headers["x-export-count"] == "4"

    await login(client, "tst.auditor")  # may export, may not unmask: gets the masked file
    resp = await export(client, data, unmask="true")
    assert resp.status_code == 200 and resp.headers["x-export-masked"] == "true"
    rows = by_number(sheet(resp.content))
    m1 = data.members["m1"]
    assert rows[m1.member_no]["身份证号"] == mask_id_number(data.id_numbers["m1"])

    await login(client, "tst.merchants")  # merchant_manager: no export at all
    resp = await export(client, data)
    assert resp.status_code == 403 and resp.json()["code"] == "export_forbidden"

    await login(client, "wjg.admin")  # no role on TST: as if it did not exist
    resp = await export(client, data, unmask="true")
    assert resp.status_code == 404

    async with engine.connect() as conn:
        audit = (
            await conn.execute(
                select(AuditEntry.actor_name, AuditEntry.target_id, AuditEntry.summary)
                .where(AuditEntry.action == "member.export")
                .order_by(AuditEntry.at, AuditEntry.id)
            )
        ).all()
    assert [(a.actor_name, a.summary["count"], a.summary["masked"]) for a in audit] == [
        ("tst.admin", 6, False),
        ("tst.admin", 4, True),
        ("tst.auditor", 6, True),
    ]
    assert all(a.target_id == str(data.district.id) for a in audit)
    assert audit[2].summary["unmask_requested"] is True
    assert audit[1].summary["status"] == "active"


async def test_masked_export_has_the_birth_year_and_province_only(
    client: Client, data: Dataset
) -> None:
    """A masked file shows what a role that may not unmask sees: with the full birth date and
    the county, a masked ID number narrows to a handful of candidates."""
    await login(client, "tst.admin")
    plain = by_number(sheet((await export(client, data, unmask="true")).content))
    await login(client, "tst.auditor")
    masked = by_number(sheet((await export(client, data)).content))
    for m in data.members.values():
        born = plain[m.member_no]["出生日期"]
        assert isinstance(born, date | datetime) and m.birth_date is not None
        assert masked[m.member_no]["出生日期"] == m.birth_date.year
        region = plain[m.member_no]["地区"]
        province = province_code(code_for_name(region)) if region else None
        assert masked[m.member_no]["地区"] == full_name(province)
