"""Staff accounts over HTTP after creation: disable (the account is signed out at once) and
enable, password reset, role grant and revoke; each in the manager's scope and audited."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from cardsvc.kernel.audit import AuditEntry
from cardsvc.kernel.db import make_sessionmaker
from cardsvc.orgs.models import Org
from cardsvc.staff.models import StaffUser
from tests.support.staff import PASSWORD, login

USERS = "/api/v1/staff/users"
ACTIONS = ("staff.disable", "staff.enable", "staff.password_reset", "staff.grant", "staff.revoke")


async def _ids(engine: AsyncEngine) -> dict[str, str]:
    async with make_sessionmaker(engine)() as s:
        orgs = dict((await s.execute(select(Org.code, Org.id))).tuples().all())
        staff = dict((await s.execute(select(StaffUser.username, StaffUser.id))).tuples().all())
    return {k: str(v) for k, v in {**orgs, **staff}.items()}


async def _actions(engine: AsyncEngine) -> list[str]:
    async with make_sessionmaker(engine)() as s:
        rows = await s.scalars(
            select(AuditEntry.action).where(AuditEntry.action.in_(ACTIONS)).order_by(AuditEntry.at)
        )
        return list(rows)


@pytest.fixture
async def ids(engine: AsyncEngine, demo: dict[str, Any]) -> dict[str, str]:
    return await _ids(engine)


async def test_disable_signs_out_and_enable_restores(
    client: AsyncTestClient[Litestar], ids: dict[str, str], engine: AsyncEngine
) -> None:
    # One client (the app's database connections belong to its event loop): the other
    # officer's session is kept aside and put back to see that it ended.
    await login(client, "xl.jidian")
    assert (await client.get("/api/v1/staff/me")).status_code == 200
    theirs = dict(client.cookies)
    client.cookies.clear()  # a sign-in ends the session it is sent with
    await login(client, "xl.admin")
    bad = await client.post(f"{USERS}/{ids['xl.jidian']}/disable", json={"reason": ""})
    assert bad.status_code == 400, bad.text
    resp = await client.post(f"{USERS}/{ids['xl.jidian']}/disable", json={"reason": "调离"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["active"] is False
    again = await client.post(f"{USERS}/{ids['xl.jidian']}/disable", json={"reason": "调离"})
    assert again.status_code == 409 and again.json()["code"] == "staff_unchanged"
    mine = dict(client.cookies)
    client.cookies.clear()
    client.cookies.update(theirs)
    assert (await client.get("/api/v1/staff/me")).status_code == 401
    client.cookies.clear()
    client.cookies.update(mine)
    back = await client.post(f"{USERS}/{ids['xl.jidian']}/enable")
    assert back.status_code == 200 and back.json()["active"] is True
    client.cookies.clear()
    client.cookies.update(theirs)
    assert (await client.get("/api/v1/staff/me")).status_code == 200  # the same session again
    assert await _actions(engine) == ["staff.disable", "staff.enable"]


async def test_out_of_scope_and_self_are_refused(
    client: AsyncTestClient[Litestar], ids: dict[str, str]
) -> None:
    await login(client, "xl.admin")
    # A city admin works above this district admin: not theirs to manage.
    resp = await client.post(f"{USERS}/{ids['yc.admin']}/disable", json={"reason": "测试"})
    assert resp.status_code == 404 and resp.json()["code"] == "staff_not_found"
    mine = await client.post(f"{USERS}/{ids['xl.admin']}/password", json={"password": "x" * 12})
    assert mine.status_code in (404, 409)


async def test_password_reset_lets_the_new_one_in(
    client: AsyncTestClient[Litestar], ids: dict[str, str]
) -> None:
    await login(client, "xl.admin")
    short = await client.post(f"{USERS}/{ids['xl.jidian']}/password", json={"password": "short"})
    assert short.status_code == 422 and short.json()["errors"][0]["field"] == "password"
    new = "Fresh-Passw0rd-2026"
    resp = await client.post(f"{USERS}/{ids['xl.jidian']}/password", json={"password": new})
    assert resp.status_code == 200, resp.text
    old = await client.post(
        "/api/v1/staff/session", json={"username": "xl.jidian", "password": PASSWORD}
    )
    assert old.status_code == 401
    await login(client, "xl.jidian", new)


async def test_grant_and_revoke_within_scope(
    client: AsyncTestClient[Litestar], ids: dict[str, str], engine: AsyncEngine
) -> None:
    await login(client, "xl.admin")
    target = f"{USERS}/{ids['xl.jidian']}"
    # The district admin hands out union_admin over the whole district.
    grant = {"role": "union_admin", "org_id": ids["HB-YC-XL"]}
    resp = await client.post(f"{target}/grants", json=grant)
    assert resp.status_code == 200, resp.text
    assert {g["org_id"] for g in resp.json()["grants"]} == {ids["XL-JIDIAN"], ids["HB-YC-XL"]}
    dup = await client.post(f"{target}/grants", json=grant)
    assert dup.status_code == 409 and dup.json()["code"] == "grant_exists"
    # Not above the manager's own subtree.
    high = await client.post(f"{target}/grants", json={**grant, "org_id": ids["HB-YC-WJG"]})
    assert high.status_code == 404
    # A role the manager does not hold and may not hand out.
    money = await client.post(
        f"{target}/grants", json={"role": "benefits_manager", "org_id": ids["XL-JIDIAN"]}
    )
    assert money.status_code == 422
    gone = await client.post(f"{target}/grants/revoke", json=grant)
    assert gone.status_code == 200
    assert [g["org_id"] for g in gone.json()["grants"]] == [ids["XL-JIDIAN"]]
    last = await client.post(
        f"{target}/grants/revoke", json={"role": "union_admin", "org_id": ids["XL-JIDIAN"]}
    )
    assert last.status_code == 409 and last.json()["code"] == "last_grant"
    assert await _actions(engine) == ["staff.grant", "staff.revoke"]
