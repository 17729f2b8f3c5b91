"""The enterprise register and the founding rate at a province's scale.

Runs on PostgreSQL (``UNIONCARD_DATABASE_URL``, default
``postgresql+asyncpg://postgres@127.0.0.1:5432/test``) in a scratch database it creates and
drops. A province with a city and ``--districts`` districts; each district imports a register
of ``--rows`` enterprises from an .xlsx through ``import_register`` (timed: rows per second,
first as new rows, then the same file again as updates), a third of the enterprises get an
approved founding application, and the founding-rate report of the city (one row per
district) is timed against the same run's baseline: one ``count(*)`` of the register.

Usage: ``.venv/bin/python bench/founding.py [--districts 10] [--rows 3000] [--repeat 20]``
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from openpyxl import Workbook
from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from stdnum.cn import uscc

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cardsvc.founding.coverage import coverage_report
from cardsvc.founding.models import Enterprise, FoundingApplication
from cardsvc.founding.register import import_register
from cardsvc.kernel.db import import_all_models, metadata
from cardsvc.kernel.principal import SYSTEM
from cardsvc.orgs.models import Org, OrgLevel
from cardsvc.orgs.service import create_org

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def _code(district: int, n: int) -> str:
    body = f"9142{district:02d}00MA{n:07d}"
    return body + uscc.calc_check_digit(body)


def _xlsx(district: int, rows: int) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet()
    ws.append(["统一社会信用代码", "单位名称", "职工人数"])
    for n in range(rows):
        ws.append([_code(district, n), f"企业{district}-{n}", 5 + n % 200])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


async def _seed_tree(sm: async_sessionmaker[AsyncSession], districts: int) -> list[Org]:
    async with sm() as s, s.begin():
        hb = await create_org(
            s, SYSTEM, code="HB", name="省总工会", level=OrgLevel.provincial, parent_id=None
        )
        yc = await create_org(
            s, SYSTEM, code="HB-YC", name="市总工会", level=OrgLevel.city, parent_id=hb.id
        )
        del hb
        out = [yc]
        for d in range(districts):
            out.append(
                await create_org(
                    s,
                    SYSTEM,
                    code=f"HB-YC-D{d:02d}",
                    name=f"第{d}区总工会",
                    level=OrgLevel.district,
                    parent_id=yc.id,
                )
            )
        return out


async def _approve_a_third(sm: async_sessionmaker[AsyncSession], orgs: list[Org]) -> None:
    now = datetime.now(UTC)
    async with sm() as s, s.begin():
        ents = (await s.execute(select(Enterprise.credit_code, Enterprise.org_id))).all()
        paths = {o.id: o.path for o in orgs[1:]}
        rows = [
            {
                "id": uuid.uuid4(),
                "ref_no": f"JH{i:012d}",
                "kind": "found",
                "applicant_type": "employer",
                "status": "approved",
                "phone_hash": "x",
                "phone_enc": "x",
                "contact_name_enc": "x",
                "founders_enc": "x",
                "founders_count": 1,
                "data_key_id": "b1",
                "enterprise_name": "x",
                "credit_code": code,
                "address": "x",
                "region_code": "420502",
                "headcount": 10,
                "reviewer_org_id": org_id,
                "reviewer_org_path": paths[org_id],
                "submitted_at": now,
                "created_at": now,
                "updated_at": now,
            }
            for i, (code, org_id) in enumerate(ents)
            if i % 3 == 0
        ]
        for i in range(0, len(rows), 5000):
            await s.execute(insert(FoundingApplication), rows[i : i + 5000])


async def _timed(fn: Callable[[], Awaitable[None]], repeat: int) -> float:
    laps = []
    for _ in range(repeat):
        t = time.perf_counter()
        await fn()
        laps.append(time.perf_counter() - t)
    return statistics.median(laps) * 1000


async def main(districts: int, rows: int, repeat: int) -> None:
    base = os.environ.get("UNIONCARD_DATABASE_URL", DEFAULT_URL)
    admin = base.replace("postgresql+asyncpg://", "postgresql://")
    name = f"founding_bench_{os.getpid()}"
    conn = await asyncpg.connect(admin)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    engine = create_async_engine(base.rsplit("/", 1)[0] + "/" + name)
    try:
        import_all_models()
        async with engine.begin() as c:
            await c.run_sync(metadata.create_all)
        sm = async_sessionmaker(engine, expire_on_commit=False)
        orgs = await _seed_tree(sm, districts)
        files = [_xlsx(d, rows) for d in range(districts)]
        times = {}
        for label in ("new", "update"):
            t = time.perf_counter()
            for org, data in zip(orgs[1:], files, strict=True):
                async with sm() as s, s.begin():
                    await import_register(s, SYSTEM, org, data, "register.xlsx")
            times[label] = districts * rows / (time.perf_counter() - t)
        await _approve_a_third(sm, orgs)
        async with engine.connect() as c:  # statistics, as autovacuum keeps them in production
            await c.execute(text("ANALYZE"))

        async def report() -> None:
            async with sm() as s:
                await coverage_report(s, orgs[0])

        async def baseline() -> None:
            async with sm() as s:
                await s.scalar(select(func.count()).select_from(Enterprise))

        await report()
        report_ms = await _timed(report, repeat)
        base_ms = await _timed(baseline, repeat)
        async with sm() as s:
            total, per = await coverage_report(s, orgs[0])
        print(f"{'measure':<34}{'value':>12}")
        print(f"{'register import, new (rows/s)':<34}{times['new']:>12.0f}")
        print(f"{'register import, update (rows/s)':<34}{times['update']:>12.0f}")
        print(f"{'founding-rate report (ms)':<34}{report_ms:>12.1f}")
        print(f"{'baseline count(*) (ms)':<34}{base_ms:>12.1f}")
        print(f"{'enterprises / organised':<34}{total.registered:>7}/{total.organised}")
        print(
            f"districts={len(per)} rows={districts * rows} import_new_rps={times['new']:.0f} "
            f"import_update_rps={times['update']:.0f} report_ms={report_ms:.1f} "
            f"baseline_ms={base_ms:.1f} ratio={report_ms / base_ms:.1f}"
        )
    finally:
        await engine.dispose()
        conn = await asyncpg.connect(admin)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--districts", type=int, default=10)
    p.add_argument("--rows", type=int, default=3000)
    p.add_argument("--repeat", type=int, default=20)
    a = p.parse_args()
    asyncio.run(main(a.districts, a.rows, a.repeat))
