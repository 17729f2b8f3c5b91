"""Report figures against the hand-counted dataset of ``conftest.py``; scope; CSV and XLSX."""

from __future__ import annotations

import csv
import io
from typing import Any

import openpyxl
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.cardsvc.reports.conftest import FROM, TO, U3_NAME, Dataset
from tests.support.staff import login

Client = AsyncTestClient[Litestar]


async def report(client: Client, name: str, org_id: Any, **params: Any) -> dict[str, Any]:
    resp = await client.get(
        f"/api/v1/reports/{name}",
        params={"org_id": str(org_id), "from": FROM, "to": TO, **params},
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


def summary(doc: dict[str, Any]) -> dict[str, Any]:
    return {f["key"]: f["value"] for f in doc["summary"]}


def rows(doc: dict[str, Any], key: str) -> list[dict[str, Any]]:
    (sec,) = [s for s in doc["sections"] if s["key"] == key]
    return sec["rows"]


async def test_members_report(client: Client, data: Dataset) -> None:
    await login(client, "admin")
    doc = await report(client, "members", data.district.id)
    assert doc["org"]["name"] == "测试区总工会" and doc["time_zone"] == "Asia/Shanghai"
    assert summary(doc) == {
        "active_total": 4,
        "new_in_range": 4,
        "pending": 1,
        "suspended": 0,
        "left": 1,
        "unions": 3,
    }
    assert [(r["month"], r["count"]) for r in rows(doc, "new_per_month")] == [
        ("2026-01", 2),
        ("2026-02", 1),
        ("2026-03", 1),
    ]
    assert {r["category"]: r["count"] for r in rows(doc, "by_category")} == {
        "model_worker": 1,
        "hardship": 1,
        "migrant_worker": 1,
        "flexible_worker": 0,
        "retired": 0,  # m4 has left
        None: 2,
    }
    assert {r["employment_type"]: r["count"] for r in rows(doc, "by_employment_type")} == {
        "employee": 1,
        "flexible_worker": 1,
        "platform_worker": 0,
        "migrant_worker": 1,
        "retired": 0,
        None: 1,
    }
    assert [(r["code"], r["active"], r["new_in_range"]) for r in rows(doc, "by_union")] == [
        ("TST-U1", 2, 2),
        ("TST-U2", 1, 1),
        ("TST-U3", 1, 1),
    ]
    # A one-day range on the day m3 joined.
    one = await client.get(
        "/api/v1/reports/members",
        params={"org_id": str(data.district.id), "from": "2026-03-01", "to": "2026-03-01"},
    )
    assert summary(one.json())["new_in_range"] == 1


async def test_joins_report(client: Client, data: Dataset) -> None:
    await login(client, "yc.admin")
    doc = await report(client, "joins", data.district.id)
    assert summary(doc) == {
        "pending": 1,
        "pending_transfers": 0,
        "submitted": 6,
        "approved": 4,
        "rejected": 1,
        # lead times 1.5, 2.0, 10.0, 28.083 days: median (2 + 10) / 2, p90 the 4th of 4
        "lead_median_days": 6.0,
        "lead_p90_days": 28.08,
    }
    assert rows(doc, "per_month") == [
        {
            "month": "2026-01",
            "submitted": 2,
            "approved": 2,
            "rejected": 0,
            "lead_median_days": 1.75,
            "lead_p90_days": 2.0,
        },
        {
            # a4 was submitted on Feb 1 local time (Jan 31 UTC)
            "month": "2026-02",
            "submitted": 2,
            "approved": 1,
            "rejected": 0,
            "lead_median_days": 10.0,
            "lead_p90_days": 10.0,
        },
        {
            # a4 was approved on Mar 1 local time (Feb 28 UTC)
            "month": "2026-03",
            "submitted": 2,
            "approved": 1,
            "rejected": 1,
            "lead_median_days": 28.08,
            "lead_p90_days": 28.08,
        },
    ]


async def test_coverage_report(client: Client, data: Dataset) -> None:
    await login(client, "admin")
    doc = await report(client, "coverage", data.district.id)
    assert summary(doc) == {"unions": 3, "covered": 2, "uncovered": 1, "coverage_pct": 66.7}
    assert [(r["code"], r["name"], r["active_members"]) for r in rows(doc, "uncovered")] == [
        ("TST-U3", U3_NAME, 1)
    ]
    assert {r["code"]: r["online_joins"] for r in rows(doc, "by_union")} == {
        "TST-U1": 3,  # a1, a2 and a7 (before the range: coverage is as of the range's end)
        "TST-U2": 2,
        "TST-U3": 0,
    }
    # As of the end of 2025 only U1 had an online join.
    early = await client.get(
        "/api/v1/reports/coverage",
        params={"org_id": str(data.district.id), "from": "2025-12-01", "to": "2025-12-31"},
    )
    assert summary(early.json())["uncovered"] == 2


async def test_redemptions_report(client: Client, data: Dataset) -> None:
    await login(client, "admin")
    doc = await report(client, "redemptions", data.district.id)
    assert summary(doc) == {
        "lines": 3,  # r1, r2, r4 (r3 reversed, r5 after the range, r6 outside TST)
        "checkouts": 3,
        "reversed_lines": 1,
        "units": 3,
        "amount_fen": 9000,
        "discount_fen": 1400,
        "subsidy_fen": 0,
    }
    assert [
        (r["code"], r["lines"], r["amount_fen"], r["discount_fen"]) for r in rows(doc, "by_program")
    ] == [
        ("TST-P1", 2, 5000, 1000),
        ("TST-P2", 1, 4000, 400),
    ]
    assert [
        (r["merchant_id"], r["name"], r["lines"], r["discount_fen"])
        for r in rows(doc, "by_merchant")
    ] == [
        (str(data.merchant_a), data.merchant_a_name, 2, 1000),
        (str(data.merchant_b), None, 1, 400),
    ]
    days = rows(doc, "by_day")
    assert len(days) == 31 + 28 + 31
    assert {r["day"]: r["discount_fen"] for r in days if r["lines"]} == {
        "2026-01-05": 500,
        "2026-01-06": 500,  # r2 at 17:00 UTC is 01:00 the next day in Shanghai
        "2026-02-02": 400,
    }
    # One union's subtree: only m3's redemption (r4) remains in U2.
    u2 = await report(client, "redemptions", data.unions[1].id)
    assert (summary(u2)["lines"], summary(u2)["reversed_lines"]) == (1, 1)


async def test_budgets_report(client: Client, data: Dataset) -> None:
    await login(client, "admin")
    doc = await report(client, "budgets", data.district.id)
    (p1,) = rows(doc, "by_program")  # P2 belongs to the province, not to TST
    assert p1["code"] == "TST-P1"
    # The lifetime budget counter: r1 + r2 + r5 (r3 was given back by its reversal).
    assert (p1["budget_fen"], p1["spent_fen"], p1["remaining_fen"], p1["spent_pct"]) == (
        10_000,
        1500,
        8500,
        15.0,
    )
    assert p1["budget_period"] == "L"
    assert (p1["range_lines"], p1["range_value_fen"], p1["range_discount_fen"]) == (2, 1000, 1000)
    assert summary(doc) == {
        "programs": 1,
        "budgeted": 1,
        "budget_fen": 10_000,
        "spent_fen": 1500,
        "range_value_fen": 1000,
    }


async def test_hardship_report_sections(client: Client, data: Dataset) -> None:
    # The figures themselves are checked in tests/cardsvc/servicereq/test_reports.py.
    await login(client, "admin")
    doc = await report(client, "hardship", data.district.id)
    assert [s["key"] for s in doc["sections"]] == ["delivered", "records"]
    assert len(doc["sections"][0]["rows"]) == len({r["month"] for r in doc["sections"][0]["rows"]})


async def test_scope_outside_the_subtree_is_404(client: Client, data: Dataset) -> None:
    await login(client, "wjg.admin")
    for org_id in (data.district.id, data.demo_orgs["HB-YC-XL"], data.demo_orgs["HB-YC"]):
        for name in ("members", "joins", "coverage", "hardship", "redemptions", "budgets"):
            resp = await client.get(f"/api/v1/reports/{name}", params={"org_id": str(org_id)})
            assert resp.status_code == 404, (name, resp.text)
            assert resp.json()["code"] == "org_not_found"
    # …while the same person reports on their own district.
    wjg = {"id": str(data.demo_orgs["HB-YC-WJG"])}
    resp = await client.get("/api/v1/reports/members", params={"org_id": wjg["id"]})
    assert resp.status_code == 200 and summary(resp.json())["active_total"] > 0


async def test_bad_range_and_format(client: Client, data: Dataset) -> None:
    await login(client, "admin")
    base = {"org_id": str(data.district.id)}
    for name in ("members", "redemptions"):
        resp = await client.get(
            f"/api/v1/reports/{name}", params={**base, "from": "2026-03-01", "to": "2026-01-01"}
        )
        assert resp.status_code == 422, resp.text
        resp = await client.get(f"/api/v1/reports/{name}", params={**base, "format": "pdf"})
        assert resp.status_code in (422, 400), resp.text


def csv_sections(body: bytes) -> dict[str, list[list[str]]]:
    """CSV blocks by title: the overview first (untitled), then ``## title`` blocks."""
    assert body.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    out: dict[str, list[list[str]]] = {"": []}
    current = ""
    for line in lines:
        if line and line[0].startswith("## "):
            current = line[0][3:]
            out[current] = []
        elif line:
            out[current].append(line)
    return out


async def test_csv_and_xlsx_hold_the_same_figures(client: Client, data: Dataset) -> None:
    await login(client, "admin")
    params = {"org_id": str(data.district.id), "from": FROM, "to": TO}
    doc = await report(client, "members", data.district.id)

    resp = await client.get("/api/v1/reports/members", params={**params, "format": "csv"})
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
    assert "attachment" in resp.headers["content-disposition"]
    blocks = csv_sections(resp.content)
    figures = {r[1]: r[2] for r in blocks[""][6:]}  # Figure (English) → value
    assert figures["Active members"] == "4" and figures["Joined in range"] == "4"
    unions = blocks["按基层工会 By grassroots union"]
    assert unions[0][1].startswith("工会编码")
    body_rows = [(r[1], r[2], int(r[3]), int(r[4])) for r in unions[1:]]
    # The union named like a formula is neutralised in the file (not in the JSON).
    assert body_rows == [
        ("TST-U1", "甲工会", 2, 2),
        ("TST-U2", "乙工会", 1, 1),
        ("TST-U3", "'" + U3_NAME, 1, 1),
    ]
    months = blocks["每月新入会 New members per month"]
    assert [(m, int(n)) for m, n in months[1:]] == [
        (r["month"], r["count"]) for r in rows(doc, "new_per_month")
    ]

    # Accept header instead of format=.
    xlsx_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    resp = await client.get(
        "/api/v1/reports/redemptions", params=params, headers={"accept": xlsx_type}
    )
    assert resp.status_code == 200 and resp.headers["content-type"].startswith(xlsx_type)
    wb = openpyxl.load_workbook(io.BytesIO(resp.content))
    first = wb.worksheets[0]
    values = {r[1]: r[2] for r in first.iter_rows(min_row=8, values_only=True) if r[0]}
    assert values["Redemption lines (net)"] == 3 and values["Discount (fen)"] == 1400
    by_program = wb["按项目 By programme"]
    got = [(r[1], r[3], r[6]) for r in by_program.iter_rows(min_row=2, values_only=True)]
    assert got == [("TST-P1", 2, 1000), ("TST-P2", 1, 400)]
    by_day = wb["按日 By day"]
    assert by_day.max_row == 1 + 90

    resp = await client.get("/api/v1/reports/budgets", params={**params, "format": "csv"})
    blocks = csv_sections(resp.content)
    (line,) = blocks["按项目 By programme"][1:]
    assert line[1] == "TST-P1" and (int(line[4]), int(line[5])) == (10_000, 1500)
