"""The console's membership pages refuse exactly what the API refuses: another district's
invite poster, member edit, card reissue and printing are not found; a read-only role gets no
bulk decisions and no member edit. Refusals are HTML pages, never problem JSON."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.support.staff import login


async def _xl_member_id(client: AsyncTestClient[Litestar], demo: dict[str, Any]) -> str:
    member_no = next(m["member_no"] for m in demo["members"] if m["union"].startswith("XL-"))
    found = await client.get("/api/v1/members", params={"member_no": member_no})
    return str(found.json()["items"][0]["id"])


async def test_other_district_and_read_only_roles_are_refused(
    client: AsyncTestClient[Litestar], demo: dict[str, Any]
) -> None:
    await login(client, "xl.admin")
    member_id = await _xl_member_id(client, demo)
    org_id = (await client.get("/api/v1/orgs", params={"q": "XL-JIDIAN"})).json()["items"][0]["id"]
    made = await client.post(f"/api/v1/orgs/{org_id}/invites", json={"label": "门卫室"})
    assert made.status_code == 201, made.text
    invite_id = made.json()["id"]
    poster = await client.get(f"/console/invites/{invite_id}/poster")
    assert poster.status_code == 200 and "门卫室" not in poster.text  # the label is staff-only
    assert "宜昌峡江机电有限公司工会" in poster.text and "<svg" in poster.text
    cards = (await client.get(f"/api/v1/members/{member_id}/cards")).json()
    card_id = cards["current"]["id"]

    await login(client, "wjg.admin")
    for method, path in (
        ("GET", f"/console/invites/{invite_id}/poster"),
        ("POST", f"/console/invites/{invite_id}/revoke"),
        ("GET", f"/console/members/{member_id}/edit"),
        ("POST", f"/console/members/{member_id}/reissue"),
        ("POST", f"/console/members/{member_id}/cards/{card_id}/printable"),
    ):
        resp = await client.request(method, path, data={"reason": "试试"})
        assert resp.status_code == 404, (path, resp.status_code)
        assert resp.headers["content-type"].startswith("text/html"), path

    await login(client, "hb.auditor")
    for method, path in (
        ("POST", "/console/approvals/bulk"),
        ("GET", "/console/invites"),
        ("GET", f"/console/members/{member_id}/edit"),
        ("POST", f"/console/members/{member_id}/status"),
    ):
        resp = await client.request(method, path, data={"status": "suspended", "reason": "x"})
        assert resp.status_code in (403, 404), (path, resp.status_code)
        assert resp.headers["content-type"].startswith("text/html"), path
    # Nothing happened: the card is still the one issued, the invite still works.
    await login(client, "xl.admin")
    after = (await client.get(f"/api/v1/members/{member_id}/cards")).json()
    assert after["current"]["id"] == card_id and after["current"]["status"] == "active"
    token = made.json()["url"].split("invite=")[1]
    assert (await client.get(f"/api/v1/join/invites/{token}")).status_code == 200
