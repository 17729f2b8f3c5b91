"""Every report, the host's and the benefit engine's alike, names the org it is about."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.cardsvc.reports.conftest import FROM, TO, Dataset
from tests.support.staff import login

REPORTS = ("members", "joins", "coverage", "hardship", "service-requests", "redemptions", "budgets")


async def test_every_report_names_its_org(client: AsyncTestClient[Litestar], data: Dataset) -> None:
    await login(client, "admin")
    for name in REPORTS:
        resp = await client.get(
            f"/api/v1/reports/{name}",
            params={"org_id": str(data.district.id), "from": FROM, "to": TO},
        )
        assert resp.status_code == 200, (name, resp.text)
        org = resp.json()["org"]
        assert (org["id"], org["name"]) == (str(data.district.id), "测试区总工会"), name
        csv = await client.get(
            f"/api/v1/reports/{name}",
            params={"org_id": str(data.district.id), "from": FROM, "to": TO, "format": "csv"},
        )
        assert csv.status_code == 200 and "测试区总工会" in csv.content.decode("utf-8-sig"), name
