"""A store's photos in the console (upload, make cover, remove, a refused file shown beside the
field) through the API's functions, and on the member's store page (only this site's photos:
the page loads images from here alone). On both engines."""

from __future__ import annotations

import re
from typing import Any

from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.merchants.conftest import onboard, org_id
from tests.merchants.directory.helpers import ALWAYS, Client
from tests.merchants.directory.test_store_photos import image, jpeg_with_gps
from tests.support.front import Front
from tests.support.staff import login


def _shown(html: str) -> list[str]:
    return re.findall(r'<li data-photo="([0-9a-f]{64})">', html)


async def test_the_console_uploads_orders_and_removes_photos(
    client: Client, engine: AsyncEngine, demo: dict[str, Any], wjg_merchants: str
) -> None:
    await login(client, "yc.merchants")
    made = await onboard(client, await org_id(engine, "HB-YC-XL"))
    mid, sid = made["merchant"]["id"], made["store"]["id"]
    pin = {"location": {"lat": 42.3, "lng": 123.3}}
    assert (await client.patch(f"/api/v1/stores/{sid}/listing", json=pin)).status_code == 200
    page = await client.get(f"/console/merchants/{mid}")
    assert f'id="store-photos-{sid}"' in page.text and "暂无照片" in page.text

    url = f"/console/merchants/{mid}/stores/{sid}/photos"
    first = await client.post(url, files={"file": ("门头.jpg", jpeg_with_gps(), "image/jpeg")})
    assert first.status_code == 200, first.text
    second = await client.post(url, files={"file": ("店内.png", image("PNG"), "image/png")})
    a, b = _shown(second.text)
    assert _shown(first.text) == [a]
    assert f'src="/api/v1/stores/{sid}/photos/{a}"' in second.text

    cover = await client.post(f"{url}/{b}/first")
    assert cover.status_code == 200 and _shown(cover.text) == [b, a]
    public = (await client.get(f"/api/v1/stores/{sid}/public")).json()
    assert [p.rsplit("/", 1)[1] for p in public["photos"]] == [b, a]

    refused = await client.post(url, files={"file": ("菜单.pdf", b"%PDF-1.4\n", "application/pdf")})
    assert refused.status_code == 415 and 'role="alert"' in refused.text
    assert "只能上传 JPEG、PNG 或 WebP 格式的照片" in refused.text
    assert _shown(refused.text) == [b, a]

    removed = await client.post(f"{url}/{b}/delete")
    assert removed.status_code == 200 and _shown(removed.text) == [a]
    again = await client.get(f"/console/merchants/{mid}")
    assert _shown(again.text) == [a]

    await login(client, wjg_merchants)
    other = await client.post(f"{url}/{a}/delete")
    assert other.status_code == 404 and other.headers["content-type"].startswith("text/html")


async def test_the_member_store_page_shows_this_sites_photos(
    app: Litestar, client: Client, demo: dict[str, Any]
) -> None:
    front = await Front(app, client).sign_in()
    who = await front.member(await front.grassroots("HB-YC-XL"))
    shop = await front.shop("dining")
    r = await front.client.post(
        f"/api/v1/stores/{shop.store_id}/photos",
        files={"file": ("门头.jpg", jpeg_with_gps(), "image/jpeg")},
    )
    assert r.status_code == 201, r.text
    ours = r.json()["url"]
    elsewhere = "https://img.example.com/store.jpg"
    r = await front.client.patch(
        f"/api/v1/stores/{shop.store_id}/listing",
        json={
            "location": {"lat": 41.9, "lng": 123.5},
            "hours": ALWAYS,
            "photos": [ours, elsewhere],
        },
    )
    assert r.status_code == 200, r.text
    async with front.as_member(who.phone) as phone:
        page = await phone.get(f"/m/stores/{shop.store_id}")
        assert page.status_code == 200, page.text
        assert f'<img src="{ours}"' in page.text and elsewhere not in page.text
        assert 'id="photos"' in page.text
