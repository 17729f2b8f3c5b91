from typing import Any

from litestar.testing import AsyncTestClient

from tests.support.staff import login


async def test_health(client: AsyncTestClient) -> None:
    assert (await client.get("/health/live")).json() == {"status": "ok"}
    ready = await client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"] == "ok"


async def test_login_and_list_members(client: AsyncTestClient, demo: dict[str, Any]) -> None:
    await login(client, "xl.admin")
    resp = await client.get("/api/v1/members", params={"limit": 5})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["total"] > 0 and len(body["items"]) == 5
    assert "*" in body["items"][0]["id_number_masked"]
