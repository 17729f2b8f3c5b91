"""Who may see and change which merchant: role × subtree, outside the subtree → 404."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.merchants.conftest import login, merchant_body, onboard, org_id

Client = AsyncTestClient[Litestar]


async def test_subtree_scoping(
    client: Client, engine: AsyncEngine, demo: dict[str, Any], wjg_merchants: str
) -> None:
    await login(client, "yc.merchants")  # merchant manager on 宜昌市总工会: the whole city
    xl = await org_id(engine, "HB-YC-XL")
    made = await onboard(client, xl)
    mid, sid = made["merchant"]["id"], made["store"]["id"]
    tid = made["terminal"]["id"]
    kid = made["terminal"]["keys"][0]["id"]
    assert (await client.get(f"/api/v1/merchants/{mid}")).status_code == 200

    await login(client, wjg_merchants)  # merchant manager on 伍家岗区 only
    for path in (
        f"/api/v1/merchants/{mid}",
        f"/api/v1/merchants/{mid}/stores",
        f"/api/v1/stores/{sid}/terminals",
        f"/api/v1/terminals/{tid}",
    ):
        r = await client.get(path)
        assert r.status_code == 404, (path, r.text)
    page = (await client.get("/api/v1/merchants", params={"q": "测试"})).json()
    assert page["total"] == 0 and page["items"] == []
    writes = [
        ("patch", f"/api/v1/merchants/{mid}", {"display_name": "改名"}),
        ("post", f"/api/v1/merchants/{mid}/suspend", {"reason": "越权"}),
        (
            "post",
            f"/api/v1/merchants/{mid}/stores",
            {"name": "x店", "address": "某地某路 1 号", "region": "420502"},
        ),
        ("post", f"/api/v1/stores/{sid}/terminals", {"name": "2 号"}),
        ("post", f"/api/v1/terminals/{tid}/keys/rotate", {}),
        ("post", f"/api/v1/terminals/{tid}/keys/{kid}/revoke", {}),
    ]
    for method, path, body in writes:
        r = await getattr(client, method)(path, json=body)
        assert r.status_code == 404, (path, r.text)
    # Nor can it onboard a merchant owned by an org outside its subtree.
    r = await client.post("/api/v1/merchants", json=merchant_body(xl, uscc="91420503MA4TEXT02J"))
    assert r.status_code == 404 and r.json()["code"] == "org_not_found"
    # In its own subtree it can.
    wjg = await org_id(engine, "HB-YC-WJG")
    r = await client.post(
        "/api/v1/merchants",
        json=merchant_body(wjg, uscc="91420503MA4TEXT02J", region="420503"),
    )
    assert r.status_code == 201, r.text


async def test_roles_without_merchant_rights_are_refused(
    client: Client, engine: AsyncEngine, demo: dict[str, Any]
) -> None:
    await login(client, "yc.merchants")
    xl = await org_id(engine, "HB-YC-XL")
    made = await onboard(client, xl)
    mid = made["merchant"]["id"]

    await login(client, "xl.admin")  # union admin of that very district: not a merchant role
    assert (await client.get("/api/v1/merchants")).status_code == 403
    assert (await client.get(f"/api/v1/merchants/{mid}")).status_code == 403
    r = await client.post("/api/v1/merchants", json=merchant_body(xl, uscc="91420503MA4TEXT02J"))
    assert r.status_code == 403 and r.json()["code"] == "forbidden"

    await login(client, "hb.auditor")  # auditor: reads, never writes
    assert (await client.get(f"/api/v1/merchants/{mid}")).status_code == 200
    r = await client.post(f"/api/v1/merchants/{mid}/suspend", json={"reason": "审计"})
    assert r.status_code == 403
    assert "key" not in (await client.get(f"/api/v1/terminals/{made['terminal']['id']}")).json()

    client.cookies.clear()
    client.headers.pop("x-csrf-token", None)
    assert (await client.get("/api/v1/merchants")).status_code == 401
