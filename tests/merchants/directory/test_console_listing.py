"""The console's store listing form: a pin (typed or dropped on the map, in either datum), the
phone, daily hours and amenities, saved through the same service as the API; errors shown on
the form; another district's store not found."""

from __future__ import annotations

import io
import re
from typing import Any

from openpyxl import Workbook
from sqlalchemy.ext.asyncio import AsyncEngine

from merchants.directory.geo import haversine_m, wgs84_to_gcj02
from tests.merchants.conftest import onboard, org_id
from tests.merchants.directory.helpers import Client
from tests.support.staff import login


async def test_the_console_sets_pin_hours_and_amenities(
    client: Client, engine: AsyncEngine, demo: dict[str, Any], wjg_merchants: str
) -> None:
    await login(client, "yc.merchants")
    made = await onboard(client, await org_id(engine, "HB-YC-XL"), category="rest_station")
    mid, sid = made["merchant"]["id"], made["store"]["id"]
    page = await client.get(f"/console/merchants/{mid}")
    assert page.status_code == 200
    assert f'id="store-listing-{sid}"' in page.text and 'class="console-pin-map"' in page.text
    assert "vendor/leaflet/leaflet.js" in page.text

    glat, glng = wgs84_to_gcj02(30.70, 111.30)
    url = f"/console/merchants/{mid}/stores/{sid}/listing"
    r = await client.post(
        url,
        data={
            "lat": f"{glat:.7f}",
            "lng": f"{glng:.7f}",
            "datum": "gcj02",
            "phone": "0717-6221234",
            "hours": "08:00-12:00，14:00-20:00",
            "amenities": ["water", "toilet"],
        },
    )
    assert r.status_code == 200 and r.headers["hx-redirect"] == f"/console/merchants/{mid}"
    shown = (await client.get(f"/api/v1/stores/{sid}/public")).json()
    loc = shown["store"]["location"]
    assert haversine_m(loc["lat"], loc["lng"], 30.70, 111.30) < 1.0
    assert shown["store"]["amenities"] == ["water", "toilet"]
    assert shown["hours"]["weekly"]["sun"] == ["08:00-12:00", "14:00-20:00"]
    again = await client.get(f"/console/merchants/{mid}")
    assert 'value="08:00-12:00,14:00-20:00"' in again.text

    bad = await client.post(url, data={"lat": "north", "lng": "111", "hours": "8-20"})
    assert bad.status_code == 422 and 'aria-invalid="true"' in bad.text
    assert "请填写数字" in bad.text
    bad = await client.post(url, data={"lat": "30.7", "lng": "111.3", "hours": "8-20"})
    assert bad.status_code == 422 and "09:00-21:00" in bad.text

    await login(client, wjg_merchants)
    other = await client.post(url, data={"lat": "30", "lng": "111"})
    assert other.status_code == 404 and other.headers["content-type"].startswith("text/html")


def _xlsx(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


HEAD = ["门店名称", "地址", "地区代码", "纬度", "经度", "电话", "营业时间", "设施"]


async def test_stores_imported_from_xlsx_with_errors_per_row(
    client: Client, engine: AsyncEngine, demo: dict[str, Any], wjg_merchants: str
) -> None:
    await login(client, "yc.merchants")
    mid = (await onboard(client, await org_id(engine, "HB-YC-XL"), category="rest_station"))[
        "merchant"
    ]["id"]
    data = _xlsx(
        [
            HEAD,
            [
                "驿站甲",
                "宜昌市西陵区东山大道 1 号",
                "420502",
                41.1,
                122.1,
                "0717-6221234",
                "00:00-24:00",
                "饮用水、卫生间",
            ],
            ["驿站乙", "宜昌市西陵区东山大道 2 号", "999999", 41.2, 122.1, "", "", ""],
            ["驿站丙", "宜昌市西陵区东山大道 3 号", "420502", "北纬", 122.1, "", "", ""],
            ["驿站丁", "宜昌市西陵区东山大道 4 号", "420502", 41.3, 122.1, "", "9-5", "泳池"],
            [None, None, None, None, None, None, None, None],
            ["驿站戊", "宜昌市西陵区东山大道 5 号", "420502", None, None, None, None, None],
        ]
    )
    url = f"/console/merchants/{mid}/stores/import"
    files = {"file": ("stores.xlsx", data, "application/octet-stream")}
    dry = await client.post(url, files=files, data={"dry_run": "1"})
    assert dry.status_code == 200, dry.text
    assert 'data-made="2"' in dry.text
    assert {int(n) for n in re.findall(r'data-row="(\d+)"', dry.text)} == {3, 4, 5}
    assert "地区代码" in dry.text and "纬度" in dry.text
    listed = (await client.get(f"/api/v1/merchants/{mid}/stores")).json()
    assert len(listed) == 1  # the dry run made none

    done = await client.post(url, files=files)
    assert done.status_code == 200 and 'data-made="2"' in done.text
    r = await client.get("/api/v1/stores", params={"near": "41.1,122.1", "radius_m": 1000})
    [found] = r.json()["items"]
    assert found["name"] == "驿站甲" and found["amenities"] == ["water", "toilet"]
    assert found["open_now"] is True and found["phone"] == "+867176221234"

    junk = await client.post(url, files={"file": ("x.xlsx", b"not a workbook", "text/plain")})
    assert junk.status_code == 422 and "xlsx" in junk.text
    await login(client, wjg_merchants)
    other = await client.post(url, files=files)
    assert other.status_code == 404


async def test_the_console_edits_the_weekly_pattern_and_closures(
    client: Client, engine: AsyncEngine, demo: dict[str, Any]
) -> None:
    await login(client, "yc.merchants")
    made = await onboard(client, await org_id(engine, "HB-YC-XL"))
    mid, sid = made["merchant"]["id"], made["store"]["id"]
    url = f"/console/merchants/{mid}/stores/{sid}/listing"
    form = {
        "lat": "30.7",
        "lng": "111.3",
        "hours_mon": "09:00-21:00",
        "hours_fri": "09:00-12:00，18:00-02:00",
        "hours_sat": "10:00-22:00",
        "closures": "2027-01-01~2027-01-03 元旦\n\n2027-05-01",
    }
    r = await client.post(url, data=form)
    assert r.status_code == 200, r.text
    hours = (await client.get(f"/api/v1/stores/{sid}/public")).json()["hours"]
    assert hours["weekly"] == {
        "mon": ["09:00-21:00"],
        "fri": ["09:00-12:00", "18:00-02:00"],
        "sat": ["10:00-22:00"],
    }
    assert hours["closures"] == [
        {"first": "2027-01-01", "last": "2027-01-03", "note": "元旦"},
        {"first": "2027-05-01", "last": "2027-05-01"},
    ]
    page = (await client.get(f"/console/merchants/{mid}")).text
    assert f'id="l-{sid}-hours_fri" name="hours_fri" value="09:00-12:00,18:00-02:00"' in page
    assert f'id="l-{sid}-hours_tue" name="hours_tue" value=""' in page
    assert "2027-01-01~2027-01-03 元旦\n2027-05-01</textarea>" in page

    # Every bad input is marked at once, on its own field; nothing is saved.
    bad = await client.post(
        url,
        data={
            **form,
            "hours_tue": "9-5",
            "hours_sun": "08:00-08:00",
            "closures": "2027-01-01\n明天\n2027-02-10~2027-02-01",
        },
    )
    assert bad.status_code == 422
    marked = set(re.findall(r'id="l-[0-9a-f-]+-(\w+)"[^>]*aria-invalid="true"', bad.text))
    assert marked == {"hours_tue", "hours_sun", "closures"}
    assert "第 2 行" in bad.text and "第 3 行" not in bad.text  # the first bad line is shown
    after = (await client.get(f"/api/v1/stores/{sid}/public")).json()["hours"]
    assert after == hours

    # The "every day" input fills all seven days; clearing every field clears the hours.
    r = await client.post(url, data={"lat": "30.7", "lng": "111.3", "hours": "00:00-24:00"})
    assert r.status_code == 200
    shown = (await client.get(f"/api/v1/stores/{sid}/public")).json()
    assert len(shown["hours"]["weekly"]) == 7 and shown["store"]["open_now"] is True
    r = await client.post(url, data={"lat": "30.7", "lng": "111.3"})
    assert r.status_code == 200
    shown = (await client.get(f"/api/v1/stores/{sid}/public")).json()
    assert shown["hours"] == {"weekly": {}, "closures": []} and shown["store"]["open_now"] is False
