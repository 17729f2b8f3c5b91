"""The participation report through HTTP: places, attendance and no-shows per union and kind,
training hours per member, as JSON and as a spreadsheet; the console's chart series."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from litestar.testing import AsyncTestClient
from openpyxl import load_workbook
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from cardsvc.activities.models import Activity
from cardsvc.kernel.db import make_sessionmaker
from cardsvc.kernel.settings import Settings
from tests.cardsvc.membership.test_membership import member_client
from tests.support.activities import ME, URL, org_id, publish
from tests.support.staff import login

REPORT = "/api/v1/reports/activities"


async def test_participation_and_training_hours(
    client: AsyncTestClient, settings: Settings, engine: AsyncEngine, demo: dict
) -> None:
    await login(client, "admin")
    root = await org_id(client, "HB")
    course = await publish(client, root, kind="training", training_minutes=150, title="急救培训")
    outing = await publish(client, root, title="健步走")
    phones = [c["phone"] for c in demo["cards"] if c["phone"]][:2]
    async with member_client(settings, phones[0]) as a, member_client(settings, phones[1]) as b:
        for m in (a, b):
            for act in (course, outing):
                assert (await m.post(f"{ME}/{act['id']}/signup")).status_code == 201
        token = (await a.get("/api/v1/me/card/token")).json()["text"]
    for act in (course, outing):
        r = await client.post(f"{URL}/{act['id']}/check-ins", json={"code": token})
        assert r.status_code == 200, r.text
    items = (await client.get(f"{URL}/{course['id']}/signups")).json()["items"]
    attended = next(i for i in items if i["signup"]["checked_in_at"])
    done = await client.post(
        f"{URL}/{course['id']}/signups/{attended['signup']['id']}/completion",
        json={"passed": True, "minutes": 150},
    )
    assert done.status_code == 200, done.text
    # The outing is over: whoever did not come is a no-show.
    async with make_sessionmaker(engine)() as session, session.begin():
        past = datetime.now(UTC) - timedelta(minutes=1)
        await session.execute(
            update(Activity)
            .where(Activity.id == outing["id"])
            .values(starts_at=past - timedelta(hours=1), ends_at=past)
        )
    doc = (await client.get(REPORT, params={"org_id": root})).json()
    summary = {f["key"]: f["value"] for f in doc["summary"]}
    assert summary == {"activities": 2, "signed": 4, "attended": 2, "no_shows": 1, "hours": 2.5}
    rows = {r["kind"]: r for r in doc["sections"][0]["rows"]}
    assert rows["培训课程"]["signed"] == 2 and rows["培训课程"]["no_shows"] == 0
    assert rows["工会活动"]["attended"] == 1 and rows["工会活动"]["no_shows"] == 1
    [trainee] = doc["sections"][1]["rows"]
    assert trainee["member_no"] == attended["member_no"] and trainee["hours"] == 2.5
    xlsx = await client.get(REPORT, params={"org_id": root, "format": "xlsx"})
    assert xlsx.status_code == 200
    book = load_workbook(io.BytesIO(xlsx.content))
    assert any(
        "2.5" in str(c) for ws in book for row in ws.iter_rows(values_only=True) for c in row
    )
    # The console's chart draws the same figures.
    chart = (await client.get("/console/activities/report.json", params={"org_id": root})).json()
    series = chart["participation"]
    assert sorted(series["datasets"][0]["data"]) == [2, 2]
    # Another subtree's staff may not report on it.
    await login(client, "wjg.admin")
    assert (await client.get(REPORT, params={"org_id": root})).status_code == 404
