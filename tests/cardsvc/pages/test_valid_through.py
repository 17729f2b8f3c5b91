"""A programme's ``valid_until`` is exclusive; a member reads the last valid day. A programme
made through the staff API to end at 2028-01-01 00:00 (Beijing time) shows 有效期至 2027-12-31
on the member's benefits page and as ``valid_through`` in ``GET /api/v1/me/benefits``."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from cardsvc.kernel.db import make_sessionmaker
from cardsvc.kernel.settings import Settings
from cardsvc.orgs.models import Org
from tests.cardsvc.membership.test_membership import member_client
from tests.support.staff import login


async def test_last_valid_day_on_the_page_and_in_the_api(
    settings: Settings,
    client: AsyncTestClient[Litestar],
    engine: AsyncEngine,
    demo: dict[str, Any],
) -> None:
    async with make_sessionmaker(engine)() as s:
        city = await s.scalar(select(Org.id).where(Org.code == "HB-YC"))
    await login(client, "yc.benefits")
    rules = {
        "name": "年末停发的测试补贴",
        "benefit": {"kind": "percent_off", "basis_points": 500},
        "scope": {"merchant_categories": ["dining"]},
        "limits": [],
        "valid_until": "2028-01-01T00:00:00+08:00",
    }
    made = await client.post(
        "/api/v1/programs", json={"code": "T-YEAREND", "owner_org_id": str(city), "rules": rules}
    )
    assert made.status_code == 201, made.text
    assert (await client.post(f"/api/v1/programs/{made.json()['id']}/publish")).status_code == 200

    phone = next(m["phone"] for m in demo["members"] if m["union"].startswith("XL-"))
    async with AsyncExitStack() as stack:
        member = await stack.enter_async_context(member_client(settings, phone))
        mine = await member.get("/api/v1/me/benefits")
        assert mine.status_code == 200, mine.text
        (item,) = [b for b in mine.json()["items"] if b["code"] == "T-YEAREND"]
        assert item["valid_through"] == "2027-12-31"
        assert item["valid_until"].startswith("2027-12-31T16:00:00")
        page = await member.get("/m/benefits")
        assert page.status_code == 200, page.text
        assert "有效期至 2027-12-31" in page.text and "2028-01-01" not in page.text
