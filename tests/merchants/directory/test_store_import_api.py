"""Stores imported as JSON (``POST /api/v1/merchants/{id}/stores/import``): each row on its
own with its problems, a dry run that changes nothing, the same rows again changing nothing
(idempotent on the store's name), a changed row updating its store; the spreadsheet import
refuses the same rows for the same reasons (one function). On both engines."""

from __future__ import annotations

import io
import re
from typing import Any

from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from cardsvc.kernel.audit import AuditEntry
from cardsvc.kernel.db import make_sessionmaker
from tests.merchants.conftest import onboard, org_id
from tests.merchants.directory.helpers import Client
from tests.support.staff import login

GOOD = {
    "name": "驿站甲",
    "address": "宜昌市西陵区东山大道 1 号",
    "region": "420502",
    "location": {"lat": 42.1, "lng": 123.1},
    "phone": "0717-6221234",
    "hours": ["00:00-24:00"],
    "amenities": ["water", "toilet"],
}
ROWS: list[dict[str, Any]] = [
    GOOD,
    {"name": "驿站乙", "address": "宜昌市西陵区东山大道 2 号", "region": "999999"},
    {
        "name": "驿站丙",
        "address": "宜昌市西陵区东山大道 3 号",
        "region": "420502",
        "location": {"lat": 95, "lng": 123.1},
    },
    {
        "name": "驿站丁",
        "address": "宜昌市西陵区东山大道 4 号",
        "region": "420502",
        "hours": ["9-5"],
    },
    {"name": "驿站戊", "address": "宜昌市西陵区东山大道 5 号", "region": "420502"},
    {
        "name": "驿站己",
        "address": "宜昌市西陵区东山大道 6 号",
        "region": "420502",
        "amenities": ["pool"],
    },
]


async def _audit_count(engine: AsyncEngine) -> int:
    async with make_sessionmaker(engine)() as s:
        return int(
            await s.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action.in_(["store.create", "store.update", "store.details"]))
            )
            or 0
        )


async def test_rows_apply_each_on_its_own_and_again_change_nothing(
    client: Client, engine: AsyncEngine, demo: dict[str, Any], wjg_merchants: str
) -> None:
    await login(client, "yc.merchants")
    made = await onboard(client, await org_id(engine, "HB-YC-XL"), category="rest_station")
    mid = made["merchant"]["id"]
    url = f"/api/v1/merchants/{mid}/stores/import"

    dry = await client.post(url, json={"rows": ROWS, "dry_run": True})
    assert dry.status_code == 200, dry.text
    body = dry.json()
    assert (body["dry_run"], body["created"], body["updated"], body["unchanged"]) == (
        True,
        2,
        0,
        0,
    )
    problems = {(p["row"], p["field"]) for p in body["problems"]}
    assert problems == {(1, "region"), (2, "location"), (3, "hours"), (5, "amenities")}
    assert all(p["reason"] and p["reason_en"] for p in body["problems"])
    assert len((await client.get(f"/api/v1/merchants/{mid}/stores")).json()) == 1

    done = await client.post(url, json={"rows": ROWS})
    assert done.status_code == 200, done.text
    assert (done.json()["created"], done.json()["updated"]) == (2, 0)
    r = await client.get("/api/v1/stores", params={"near": "42.1,123.1", "radius_m": 1000})
    [found] = r.json()["items"]
    assert found["name"] == "驿站甲" and found["amenities"] == ["water", "toilet"]
    assert found["open_now"] is True and found["phone"] == "+867176221234"

    # The same rows again: nothing changes, not even the audit log of the stores.
    before = await _audit_count(engine)
    again = await client.post(url, json={"rows": ROWS})
    assert again.status_code == 200, again.text
    assert (again.json()["created"], again.json()["updated"], again.json()["unchanged"]) == (
        0,
        0,
        2,
    )
    assert len(again.json()["problems"]) == len(body["problems"])
    assert await _audit_count(engine) == before
    assert len((await client.get(f"/api/v1/merchants/{mid}/stores")).json()) == 3

    # A changed row updates its store (found by name), keeping what the row leaves empty.
    moved = {**GOOD, "address": "宜昌市西陵区东山大道 100 号", "phone": ""}
    r = await client.post(url, json={"rows": [moved]})
    assert (r.json()["created"], r.json()["updated"]) == (0, 1), r.text
    page = (await client.get(f"/api/v1/stores/{found['id']}/public")).json()
    assert page["store"]["address"] == "宜昌市西陵区东山大道 100 号"
    assert page["store"]["phone"] == "+867176221234"

    # Bad bodies: a problem with a stable code; another district's staff find no merchant.
    bad: dict[str, Any]
    for bad in ({"rows": []}, {"rows": [{"name": "x"}]}, {"rows": "驿站"}, {}):
        r = await client.post(url, json=bad)
        assert r.status_code in (400, 422) and r.json()["code"], (bad, r.text)
    await login(client, wjg_merchants)
    r = await client.post(url, json={"rows": ROWS})
    assert r.status_code == 404 and r.json()["code"] == "merchant_not_found"


def _xlsx(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def test_the_spreadsheet_refuses_the_same_rows_for_the_same_reasons(
    client: Client, engine: AsyncEngine, demo: dict[str, Any]
) -> None:
    await login(client, "yc.merchants")
    mid = (await onboard(client, await org_id(engine, "HB-YC-XL"), category="rest_station"))[
        "merchant"
    ]["id"]
    labels = {"water": "饮用水", "toilet": "卫生间", "pool": "泳池"}
    sheet: list[list[Any]] = [
        ["门店名称", "地址", "地区代码", "纬度", "经度", "电话", "营业时间", "设施"]
    ]
    for row in ROWS:
        loc = row.get("location") or {}
        sheet.append(
            [
                row["name"],
                row["address"],
                row["region"],
                loc.get("lat"),
                loc.get("lng"),
                row.get("phone"),
                ",".join(row.get("hours", [])),
                "、".join(labels[a] for a in row.get("amenities", [])),
            ]
        )
    api = await client.post(
        f"/api/v1/merchants/{mid}/stores/import", json={"rows": ROWS, "dry_run": True}
    )
    from_api = sorted((p["row"] + 2, p["reason"]) for p in api.json()["problems"])
    page = await client.post(
        f"/console/merchants/{mid}/stores/import",
        files={"file": ("stores.xlsx", _xlsx(sheet), "application/octet-stream")},
        data={"dry_run": "1"},
    )
    assert page.status_code == 200, page.text
    from_sheet = sorted(
        (int(n), reason)
        for n, reason in re.findall(
            r'<tr data-row="(\d+)"><td>\d+</td><td>[^<]*</td><td>([^<]*)</td>', page.text
        )
    )
    assert from_sheet == from_api and len(from_api) == 4
    assert 'data-made="2"' in page.text

    # Imported by the sheet, the same rows sent as JSON change nothing.
    done = await client.post(
        f"/console/merchants/{mid}/stores/import",
        files={"file": ("stores.xlsx", _xlsx(sheet), "application/octet-stream")},
    )
    assert 'data-created="2"' in done.text
    again = await client.post(f"/api/v1/merchants/{mid}/stores/import", json={"rows": ROWS})
    assert (again.json()["created"], again.json()["unchanged"]) == (0, 2), again.text
