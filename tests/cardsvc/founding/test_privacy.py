"""Founding data at rest: the founders' and applicant's details are not stored in clear, a
refused application goes with its documents after the retention, an approved one stays, and
document files nobody refers to are swept."""

from __future__ import annotations

import hashlib
import os
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from cardsvc.founding.documents import document_path
from cardsvc.founding.models import FoundingApplication, FoundingDocument, FoundingStep
from cardsvc.kernel.clock import utc_now
from cardsvc.kernel.db import make_sessionmaker
from cardsvc.kernel.settings import Settings
from cardsvc.privacy.retention import run_retention
from tests.cardsvc.founding.conftest import URL, submit
from tests.cardsvc.servicereq.test_api import png
from tests.support.front import Front
from tests.support.staff import login


async def _count(session: AsyncSession, model: Any) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_refused_goes_after_retention_approved_stays(
    front: Front, engine: AsyncEngine, settings: Settings
) -> None:
    refused = await submit(front, "13971000031")
    approved = await submit(front, "13971000032")
    async with front.as_member("13971000031") as applicant:
        r = await applicant.post(
            f"/api/v1/me/founding-applications/{refused['id']}/documents",
            files={"file": ("licence.png", png(77), "image/png")},
        )
        assert r.status_code == 201
    await login(front.client, "xl.admin")
    r = await front.client.post(f"{URL}/{refused['id']}/refuse", json={"reason": "材料不实"})
    assert r.status_code == 200
    r = await front.client.post(f"{URL}/{approved['id']}/approve")
    assert r.status_code == 200

    async with engine.connect() as conn:
        raw = " ".join(
            str(v)
            for row in await conn.execute(text("SELECT * FROM founding_application"))
            for v in row
        )
    assert "13971000001" not in raw and "陈建华" not in raw  # founders' phone and name

    sessionmaker = make_sessionmaker(engine)
    now = utc_now()
    out = await run_retention(sessionmaker, settings, now=now)
    assert out["founding_applications"] == 0
    later = now + timedelta(days=settings.application_retention_days + 1)
    path = document_path(settings, hashlib.sha256(png(77)).hexdigest())
    assert path.exists()
    old = time.time() - 7200
    os.utime(path, (old, old))
    out = await run_retention(sessionmaker, settings, now=later)
    assert out["founding_applications"] == 1
    assert out["founding_files_deleted"] == 1 and not path.exists()
    async with sessionmaker() as session:
        left = list(await session.scalars(select(FoundingApplication.id)))
        assert [str(i) for i in left] == [approved["id"]]
        assert await _count(session, FoundingDocument) == 0
        steps = await session.scalars(select(FoundingStep.application_id).distinct())
        assert [str(i) for i in steps] == [approved["id"]]
