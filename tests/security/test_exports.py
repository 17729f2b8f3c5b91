"""Every file the app hands out (CSV and XLSX reports, the member export, the merchant's
settlement) neutralises text that a spreadsheet would run as a formula: no cell starts with
``= + - @``, a tab or a carriage return. The values are planted where people type them (member,
union, merchant, store and programme names) straight in the database, as a stale import or an
older version might have left them."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from benefits.models import Program
from cardsvc.kernel.db import make_sessionmaker
from cardsvc.members.models import Member
from cardsvc.orgs.models import Org
from merchants.models import Merchant, Store
from tests.security.conftest import Client, staff_caller
from tests.support.pos import Pos, pos_fixture  # noqa: F401 (fixture)

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
PAYLOADS = {
    "member": '=HYPERLINK("http://evil.example","点我")',
    "employer": "+1+cmd|' /C calc'!A0",
    "union": "@SUM(1+1)工会",
    "merchant": "-2+3 面馆",
    "store": "=1+1 店",
    "program": "\t=2+2 项目",
}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def cells(media: str, body: bytes) -> list[object]:
    if media.startswith("text/csv"):
        return [c for row in csv.reader(io.StringIO(body.decode("utf-8-sig"))) for c in row]
    wb = load_workbook(io.BytesIO(body), read_only=True)
    return [v for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row if v]


async def plant(engine: AsyncEngine, pos: Pos) -> dict[str, Any]:
    """Formula-like text in the demo data, and a redemption so that every report has rows."""
    prog = await pos.program("FORMULA10")
    member_id = pos.member()
    code = await pos.code(member_id)
    till = pos.terminal("dining")
    async with make_sessionmaker(engine)() as session, session.begin():
        member = await session.get(Member, member_id)
        assert member is not None
        await session.execute(
            update(Member)
            .where(Member.id == member_id)
            .values(name=PAYLOADS["member"], employer=PAYLOADS["employer"])
        )
        await session.execute(
            update(Org).where(Org.id == member.org_id).values(name=PAYLOADS["union"])
        )
        await session.execute(
            update(Merchant)
            .where(Merchant.id == uuid.UUID(till["merchant_id"]))
            .values(display_name=PAYLOADS["merchant"])
        )
        await session.execute(
            update(Store)
            .where(Store.id == uuid.UUID(till["store_id"]))
            .values(name=PAYLOADS["store"])
        )
        await session.execute(
            update(Program).where(Program.id == prog.id).values(name=PAYLOADS["program"])
        )
        root = await session.scalar(select(Org.id).where(Org.code == "HB"))
    return {"code": code, "program": prog, "till": till, "root": root}


async def test_no_file_cell_reads_as_a_formula(
    client: Client, engine: AsyncEngine, pos: Pos, demo: dict[str, Any]
) -> None:
    planted = await plant(engine, pos)
    r = await client.post(
        "/api/v1/redemptions",
        json={
            "code": planted["code"],
            "program_id": str(planted["program"].id),
            "amount_fen": 5000,
        },
        headers=pos.headers(planted["till"], uuid.uuid4().hex),
    )
    assert r.status_code == 201, r.text
    admin = await staff_caller(client, "admin")
    month = datetime.now(UTC).strftime("%Y-%m")
    year = datetime.now(UTC).year
    period = {"from": f"{year - 1}-01-01", "to": f"{year + 1}-12-31"}
    files: list[tuple[str, str, bytes]] = []
    for path in (
        "/api/v1/reports/coverage",
        "/api/v1/reports/members",
        "/api/v1/reports/joins",
        "/api/v1/reports/budgets",
        "/api/v1/reports/redemptions",
    ):
        for fmt in ("csv", "xlsx"):
            r = await client.get(
                path,
                params={"org_id": str(planted["root"]), "format": fmt, **period},
                headers=admin.headers(),
            )
            assert r.status_code == 200, (path, r.text[:300])
            files.append((f"{path}?{fmt}", r.headers["content-type"], r.content))
    r = await client.get(
        "/api/v1/exports/members",
        params={"org_id": str(planted["root"])},
        headers=admin.headers(),
    )
    assert r.status_code == 200, r.text[:300]
    files.append(("export", r.headers["content-type"], r.content))
    r = await client.get(
        f"/api/v1/settlements/{month}",
        headers={**pos.headers(planted["till"]), "accept": "text/csv"},
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv"), r.text
    files.append(("settlement", r.headers["content-type"], r.content))

    seen: set[str] = set()
    bad: list[str] = []
    for name, media, body in files:
        assert media.startswith(("text/csv", XLSX)), (name, media)
        for cell in cells(media, body):
            if isinstance(cell, str):
                if cell.startswith(TRIGGERS):
                    bad.append(f"{name}: {cell!r}")
                seen.update(k for k, v in PAYLOADS.items() if cell.startswith("'" + v))
    assert not bad, "\n".join(bad[:20])
    # The planted values did reach the files (else this test could not fail).
    assert {"member", "employer", "union", "store", "program"} <= seen, seen
