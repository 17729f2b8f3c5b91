"""The vouchers report through HTTP: claimed, used, expired and the subsidy owed per campaign,
owning org and merchant, scoped to the viewer's subtree, as JSON, CSV and on the console's
reports page with its chart. The till does not use vouchers yet: a use is written as the till
will record it (status, merchant, discount)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from litestar import Litestar
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from benefits.vouchers.models import Voucher, VoucherStatus
from tests.benefits.vouchers.conftest import ME, claim, published_campaign
from tests.support.front import Front
from tests.support.staff import login

REPORT = "/api/v1/reports/vouchers"


async def use(engine: AsyncEngine, voucher_id: str, merchant_id: str, discount_fen: int) -> None:
    """What the till will write when a voucher is used."""
    async with engine.begin() as conn:
        await conn.execute(
            update(Voucher)
            .where(Voucher.id == uuid.UUID(voucher_id))
            .values(
                status=VoucherStatus.used,
                used_at=datetime.now(UTC),
                merchant_id=uuid.UUID(merchant_id),
                discount_fen=discount_fen,
            )
        )


async def test_report_per_campaign_org_and_merchant(
    app: Litestar, engine: AsyncEngine, front: Front
) -> None:
    org = await front.grassroots("HB-YC-XL")
    people = [await front.member(org) for _ in range(3)]
    paid = await published_campaign(front, name="联合会补贴券", stock=3)
    own_terms = {
        "value": {"kind": "amount_off", "off_fen": 500},
        "funded_by": "merchant",
        "valid_days": 7,
    }
    theirs = await published_campaign(front, name="商户让利券", owner_org_id=org, terms=own_terms)
    ids = [(await claim(front, p.phone, paid["id"])).json()["id"] for p in people[:2]]
    mine = (await claim(front, people[2].phone, theirs["id"])).json()["id"]
    shop = await front.merchant("dining")
    await use(engine, ids[0], shop, 1000)
    await use(engine, mine, shop, 500)

    r = await front.client.get(REPORT, params={"org_id": front.orgs["HB"]})
    assert r.status_code == 200, r.text
    doc = r.json()
    summary = {f["key"]: f["value"] for f in doc["summary"]}
    assert summary["claimed"] >= 3 and summary["used"] >= 2
    sections = {s["key"]: s["rows"] for s in doc["sections"]}
    by_campaign = {row["code"]: row for row in sections["by_campaign"]}
    a, b = by_campaign[paid["code"]], by_campaign[theirs["code"]]
    assert (a["claimed"], a["used"], a["expired"], a["subsidy_fen"]) == (2, 1, 0, 1000)
    assert (b["claimed"], b["used"], b["discount_fen"], b["subsidy_fen"]) == (1, 1, 500, 0)
    by_merchant = {row["merchant_id"]: row for row in sections["by_merchant"]}
    assert by_merchant[shop]["used"] == 2 and by_merchant[shop]["subsidy_fen"] == 1000
    by_org = {row["org_id"]: row for row in sections["by_org"]}
    assert by_org[org]["claimed"] == 1 and by_org[front.orgs["HB"]]["subsidy_fen"] >= 1000

    # A subtree sees its own campaigns only.
    r = await front.client.get(REPORT, params={"org_id": org})
    codes = [
        row["code"] for row in {s["key"]: s for s in r.json()["sections"]}["by_campaign"]["rows"]
    ]
    assert codes == [theirs["code"]]

    csv = await front.client.get(REPORT, params={"org_id": org, "format": "csv"})
    assert csv.status_code == 200 and "text/csv" in csv.headers["content-type"]
    assert "商户让利券" in csv.text and "应付补贴" in csv.text
    xlsx = await front.client.get(REPORT, params={"org_id": org, "format": "xlsx"})
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"

    async with front.as_member(people[0].phone) as m:
        assert [v["id"] for v in (await m.get(f"{ME}/")).json()["items"]] == [ids[0]]

    # Staff of a branch: their subtree's campaigns; above it or elsewhere, no such org.
    await login(front.client, "yc.admin")
    r = await front.client.get(REPORT, params={"org_id": org})
    assert r.status_code == 200, r.text
    rows = {s["key"]: s["rows"] for s in r.json()["sections"]}["by_campaign"]
    assert [row["code"] for row in rows] == [theirs["code"]]
    r = await front.client.get(REPORT, params={"org_id": front.orgs["HB"]})
    assert r.status_code == 404 and r.json()["code"] == "org_not_found"
    await login(front.client, "wjg.admin")
    assert (await front.client.get(REPORT, params={"org_id": org})).status_code == 404


async def test_report_refusals(front: Front) -> None:
    r = await front.client.get(REPORT, params={"org_id": str(uuid.uuid4())})
    assert r.status_code == 404 and r.json()["code"] == "org_not_found"
    r = await front.client.get(REPORT, params={"org_id": "nope"})
    assert r.status_code == 400
    r = await front.client.get(
        REPORT, params={"org_id": front.orgs["HB"], "from": "2026-03-01", "to": "2026-01-01"}
    )
    assert r.status_code in (400, 422) and "from" in r.text


async def test_console_page_and_chart(front: Front) -> None:
    c = await published_campaign(front, name="图表消费券", stock=2)
    who = await front.member(await front.grassroots("HB-YC-XL"))
    assert (await claim(front, who.phone, c["id"])).status_code == 201
    hb = front.orgs["HB"]
    page = await front.client.get("/console/reports", params={"report": "vouchers", "org_id": hb})
    assert page.status_code == 200, page.text
    assert "消费券" in page.text and "图表消费券" in page.text and "应付补贴" in page.text
    assert 'data-chart="vouchers"' in page.text and "campaign_id" not in page.text
    chart = await front.client.get("/console/reports/vouchers.json", params={"org_id": hb})
    assert chart.status_code == 200
    series = chart.json()["vouchers"]
    at = series["labels"].index("图表消费券")
    assert [d["data"][at] for d in series["datasets"]] == [1, 0, 0]
