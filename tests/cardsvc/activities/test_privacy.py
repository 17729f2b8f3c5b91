"""A member's sign-ups in their personal-data export, and erasure: the sign-ups go, and a
place still to come goes to the first in line."""

from __future__ import annotations

from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from cardsvc.kernel.db import make_sessionmaker
from cardsvc.kernel.settings import Settings
from cardsvc.members.models import Member
from tests.cardsvc.membership.test_membership import member_client
from tests.support.activities import ME, URL, org_id, phones, publish
from tests.support.staff import login


async def test_export_and_erasure(
    client: AsyncTestClient, settings: Settings, engine: AsyncEngine, demo: dict
) -> None:
    await login(client, "admin")
    a = await publish(client, await org_id(client, "HB"), capacity=1, title="亲子游园会")
    first, second = phones(demo)[:2]
    async with member_client(settings, first) as m1, member_client(settings, second) as m2:
        assert (await m1.post(f"{ME}/{a['id']}/signup")).json()["status"] == "signed"
        assert (await m2.post(f"{ME}/{a['id']}/signup")).json()["status"] == "waitlisted"
    member_no = next(m["member_no"] for m in demo["members"] if m["phone"] == first)
    async with make_sessionmaker(engine)() as session:
        mid = await session.scalar(select(Member.id).where(Member.member_no == member_no))
    doc = (await client.get(f"/api/v1/members/{mid}/personal-data")).json()
    assert [(x["activity"], x["status"]) for x in doc["activities"]] == [("亲子游园会", "signed")]
    r = await client.post(f"/api/v1/members/{mid}/erasure", json={"reason": "12351-2026-0100"})
    assert r.status_code == 200, r.text
    assert r.json()["counts"]["activity_signups_deleted"] == 1
    roster = (await client.get(f"{URL}/{a['id']}/signups")).json()
    assert [i["signup"]["status"] for i in roster["items"]] == ["signed"]
    assert roster["activity"]["signed_count"] == 1 and roster["items"][0]["member_no"] != member_no
