"""A store's details changed and the store closed (its terminals stop redeeming), a terminal
disabled and enabled again; in the manager's scope, audited."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from cardsvc.kernel.audit import AuditEntry
from cardsvc.kernel.db import make_sessionmaker
from tests.merchants.conftest import bearer, onboard, org_id
from tests.support.staff import login

Client = AsyncTestClient[Litestar]


async def _actions(engine: AsyncEngine) -> list[str]:
    async with make_sessionmaker(engine)() as s:
        rows = await s.scalars(
            select(AuditEntry.action)
            .where(
                AuditEntry.action.in_(
                    ["store.update", "store.close", "terminal.disable", "terminal.enable"]
                )
            )
            .order_by(AuditEntry.at)
        )
        return list(rows)


async def test_terminal_disable_and_enable(
    client: Client, engine: AsyncEngine, demo: dict[str, Any]
) -> None:
    await login(client, "yc.merchants")
    made = await onboard(client, await org_id(engine, "HB-YC-XL"))
    tid, key = made["terminal"]["id"], made["key"]
    assert (await client.get("/api/v1/terminal", headers=bearer(key))).status_code == 200
    off = await client.post(f"/api/v1/terminals/{tid}/disable", json={"reason": "设备送修"})
    assert off.status_code == 200, off.text
    assert off.json()["status"] == "disabled"
    assert (await client.get("/api/v1/terminal", headers=bearer(key))).status_code in (401, 403)
    again = await client.post(f"/api/v1/terminals/{tid}/disable", json={})
    assert again.status_code == 409 and again.json()["code"] == "terminal_unchanged"
    on = await client.post(f"/api/v1/terminals/{tid}/enable")
    assert on.status_code == 200 and on.json()["status"] == "active"
    assert (await client.get("/api/v1/terminal", headers=bearer(key))).status_code == 200
    assert await _actions(engine) == ["terminal.disable", "terminal.enable"]


async def test_store_edit_and_close(
    client: Client, engine: AsyncEngine, demo: dict[str, Any]
) -> None:
    await login(client, "yc.merchants")
    made = await onboard(client, await org_id(engine, "HB-YC-XL"))
    sid, key = made["store"]["id"], made["key"]
    bad = await client.patch(f"/api/v1/stores/{sid}", json={"region": "999999"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "region"
    ok = await client.patch(f"/api/v1/stores/{sid}", json={"name": "解放路旗舰店"})
    assert ok.status_code == 200 and ok.json()["name"] == "解放路旗舰店"
    closed = await client.post(f"/api/v1/stores/{sid}/close", json={"reason": "门店停业"})
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert (await client.get("/api/v1/terminal", headers=bearer(key))).status_code in (401, 403)
    terminals = (await client.get(f"/api/v1/stores/{sid}/terminals")).json()
    assert [t["status"] for t in terminals] == ["disabled"]
    late = await client.patch(f"/api/v1/stores/{sid}", json={"name": "又一个名字"})
    assert late.status_code == 409 and late.json()["code"] == "store_closed"
    assert await _actions(engine) == ["store.update", "store.close"]


async def test_outside_scope_is_not_found(
    client: Client, engine: AsyncEngine, demo: dict[str, Any], wjg_merchants: str
) -> None:
    await login(client, "yc.merchants")
    made = await onboard(client, await org_id(engine, "HB-YC-XL"))
    await login(client, wjg_merchants)
    store = await client.post(
        f"/api/v1/stores/{made['store']['id']}/close", json={"reason": "测试"}
    )
    assert store.status_code == 404
    term = await client.post(f"/api/v1/terminals/{made['terminal']['id']}/disable", json={})
    assert term.status_code == 404
