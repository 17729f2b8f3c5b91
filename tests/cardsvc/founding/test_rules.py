"""Who may review what (a district only its subtree; 404 otherwise), bad credit codes and
other bad input, the document checks, and the enterprise register with the founding rate."""

from __future__ import annotations

import io
from typing import Any

import pytest
from openpyxl import Workbook

from tests.cardsvc.founding.conftest import ME, URL, application, credit_code, submit
from tests.cardsvc.servicereq.test_api import png
from tests.support.front import Front
from tests.support.staff import login


async def test_a_district_reviews_only_its_subtree(front: Front) -> None:
    xl = await submit(front, "13971000011")
    wjg = await submit(
        front, "13971000012", region_code="420503", credit_code=credit_code("420503")
    )
    assert wjg["reviewer_org"]["code"] == "HB-YC-WJG"
    c = front.client
    await login(c, "wjg.admin")
    r = await c.get(URL)
    assert [i["id"] for i in r.json()["items"]] == [wjg["id"]]
    for method, path, body in (
        ("get", f"{URL}/{xl['id']}", None),
        ("post", f"{URL}/{xl['id']}/approve", None),
        ("post", f"{URL}/{xl['id']}/refuse", {"reason": "不在本区"}),
        ("post", f"{URL}/{xl['id']}/request-info", {"note": "请补充"}),
    ):
        r = await getattr(c, method)(path, **({"json": body} if body else {}))
        assert r.status_code == 404 and r.json()["code"] == "founding_not_found", path
    # The city above both sees both; an auditor (no org.write) sees none.
    await login(c, "yc.admin")
    r = await c.get(URL)
    assert {i["id"] for i in r.json()["items"]} == {xl["id"], wjg["id"]}
    await login(c, "hb.auditor")
    r = await c.get(URL)
    assert r.json()["total"] == 0
    r = await c.get(f"{URL}/{xl['id']}")
    assert r.status_code == 404
    # Another applicant's application is not theirs to see.
    async with front.as_member("13971000013") as other:
        r = await other.get(f"{ME}/{xl['id']}")
        assert r.status_code == 404


@pytest.mark.parametrize(
    "code,reason",
    [
        ("91420502MA4F000010", "校验位"),  # wrong check character
        ("91420502MA4F0000", "18 位"),
        ("91420502MA4F0000I1", "格式"),  # I is not in the alphabet
        ("9142O502MA4F000011", "格式"),  # a letter among the region digits
        ("", "18 位"),
    ],
)
async def test_bad_credit_codes(front: Front, code: str, reason: str) -> None:
    async with front.as_member("13971000014") as applicant:
        r = await applicant.post(ME, json=application(credit_code=code or " "))
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "credit_code_invalid"
        assert r.json()["errors"][0]["field"] == "credit_code"
        assert reason in r.json()["errors"][0]["reason"]


@pytest.mark.parametrize(
    "overrides,status",
    [
        ({"headcount": 0}, 400),
        ({"headcount": 10**12}, 400),
        ({"headcount": "86"}, 400),
        ({"region_code": "000000"}, 422),
        ({"kind": "merge"}, 400),
        ({"enterprise_name": "x"}, 422),
        ({"founders": []}, 422),
    ],
)
async def test_bad_input_is_a_problem(front: Front, overrides: dict[str, Any], status: int) -> None:
    async with front.as_member("13971000015") as applicant:
        r = await applicant.post(ME, json=application(**overrides))
        assert r.status_code == status, r.text
        assert r.headers["content-type"].startswith("application/problem+json")


async def test_documents_are_checked(front: Front, settings: Any) -> None:
    phone = "13971000016"
    app = await submit(front, phone)
    docs = f"{ME}/{app['id']}/documents"
    async with front.as_member(phone) as applicant:
        r = await applicant.post(
            docs, files={"file": ("a.png", b"MZ\x90\x00 not an image", "image/png")}
        )
        assert r.status_code == 415 and r.json()["code"] == "attachment_type"
        r = await applicant.post(docs, files={"file": ("a.png", b"", "image/png")})
        assert r.status_code == 400 and r.json()["code"] == "attachment_empty"
        big = png(extra=settings.attachment_max_mb * 1024 * 1024)
        r = await applicant.post(docs, files={"file": ("big.png", big, "image/png")})
        assert r.status_code == 413 and r.json()["code"] == "attachment_too_large"
        r = await applicant.post(
            docs, data={"x": "1"}, files={"other": ("a.png", png(), "image/png")}
        )
        assert r.status_code == 400
        for i in range(settings.attachment_max_count):
            r = await applicant.post(docs, files={"file": (f"p{i}.png", png(i + 1), "image/png")})
            assert r.status_code == 201, r.text
        r = await applicant.post(docs, files={"file": ("more.png", png(), "image/png")})
        assert r.status_code == 409 and r.json()["code"] == "too_many_attachments"
    async with front.as_member("13971000017") as stranger:
        r = await stranger.post(docs, files={"file": ("a.png", png(), "image/png")})
        assert r.status_code == 404
    await login(front.client, "xl.admin")
    r = await front.client.post(f"{URL}/{app['id']}/refuse", json={"reason": "材料不全"})
    assert r.status_code == 200
    async with front.as_member(phone) as applicant:
        r = await applicant.get(f"{ME}/{app['id']}")
        assert len(r.json()["documents"]) == settings.attachment_max_count


def _xlsx(rows: list[list[Any]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["宜昌市西陵区企业名录"])
    ws.append(["统一社会信用代码", "单位名称", "职工人数"])
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


async def test_register_and_founding_rate(front: Front) -> None:
    organised, other = credit_code(), credit_code()
    app = await submit(front, "13971000018", credit_code=organised)
    c = front.client
    await login(c, "xl.admin")
    xl, wjg = front.orgs["HB-YC-XL"], front.orgs["HB-YC-WJG"]
    body = _xlsx(
        [
            [organised, "宜昌峡光精密制造有限公司", 86],
            [other, "西陵区小餐饮店", 6],
            ["91420502MA4F000010", "校验位错误的公司", 10],
            [other, "重复的行", 3],
            [credit_code(), "人数不对的公司", "很多"],
            [None, None, None],
        ]
    )
    files = {"file": ("企业名录.xlsx", body, "application/octet-stream")}
    r = await c.post("/api/v1/founding/register", params={"org_id": xl}, files=files)
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["added"], out["updated"]) == (2, 0)
    assert [(p["row"], p["field"]) for p in out["problems"]] == [
        (5, "credit_code"),
        (6, "credit_code"),
        (7, "headcount"),
    ]
    r = await c.post("/api/v1/founding/register", params={"org_id": wjg}, files=files)
    assert r.status_code == 404
    bad = {"file": ("x.xlsx", b"PK\x03\x04broken", "application/octet-stream")}
    r = await c.post("/api/v1/founding/register", params={"org_id": xl}, files=bad)
    assert r.status_code == 422
    r = await c.post(
        "/api/v1/founding/register",
        params={"org_id": xl},
        files={"file": ("a.csv", b"a,b", "text/csv")},
    )
    assert r.status_code == 422 and r.json()["code"] == "register_not_xlsx"

    r = await c.get("/api/v1/founding/coverage", params={"org_id": xl})
    assert r.status_code == 200
    assert r.json()["total"]["registered"] == 2 and r.json()["total"]["organised"] == 0
    r = await c.post(f"{URL}/{app['id']}/approve")
    assert r.status_code == 200
    r = await c.get("/api/v1/founding/coverage", params={"org_id": xl})
    total = r.json()["total"]
    assert (total["registered"], total["organised"], total["rate_percent"]) == (2, 1, 50.0)
    assert total["registered_workers"] == 92 and total["organised_workers"] > 0

    await login(c, "yc.admin")
    r = await c.get("/api/v1/founding/coverage", params={"org_id": front.orgs["HB-YC"]})
    rows = {d["org"]["code"]: d for d in r.json()["districts"]}
    assert rows["HB-YC-XL"]["rate_percent"] == 50.0 and rows["HB-YC-WJG"]["rate_percent"] is None
    await login(c, "wjg.admin")
    r = await c.get("/api/v1/founding/coverage", params={"org_id": xl})
    assert r.status_code == 404
