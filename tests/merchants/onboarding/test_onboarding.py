"""Onboarding through the staff API: validation names the field, duplicates, audit, masking."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from cardsvc.kernel.audit import AuditEntry
from cardsvc.kernel.db import make_sessionmaker
from cardsvc.kernel.pii import PiiCipher
from cardsvc.kernel.settings import Settings
from merchants.models import Merchant
from tests.merchants.conftest import USCC, USCC_2, login, merchant_body, onboard, org_id

Client = AsyncTestClient[Litestar]


async def test_create_merchant_masks_and_encrypts_the_account(
    client: Client, engine: AsyncEngine, settings: Settings, demo: dict[str, Any]
) -> None:
    await login(client, "yc.merchants")
    xl = await org_id(engine, "HB-YC-XL")
    r = await client.post("/api/v1/merchants", json=merchant_body(xl, uscc=USCC.lower()))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["uscc"] == USCC  # normalised to upper case
    assert body["contact_phone"] == "+8613907179999"
    assert body["bank_account_masked"] == "**** **** 0123"
    assert "6217001234567890123" not in r.text
    assert body["status"] == "active" and body["category_label"] == "餐饮"

    async with make_sessionmaker(engine)() as session:
        row = await session.scalar(select(Merchant).where(Merchant.uscc == USCC))
        assert row is not None
        assert row.bank_account_enc and "6217001234567890123" not in row.bank_account_enc
        cipher = PiiCipher.from_settings(settings)
        assert cipher.decrypt("bank_account", row.bank_account_enc) == "6217001234567890123"
        assert row.org_path.endswith(xl.replace("-", "") + "/")
        audit = (
            await session.scalars(select(AuditEntry).where(AuditEntry.target_id == str(row.id)))
        ).all()
    assert [a.action for a in audit] == ["merchant.create"]
    assert audit[0].actor_name == "yc.merchants"
    assert "6217001234567890123" not in str(audit[0].summary)


async def test_bad_uscc_names_the_field(
    client: Client, engine: AsyncEngine, demo: dict[str, Any]
) -> None:
    await login(client, "yc.merchants")
    xl = await org_id(engine, "HB-YC-XL")
    wrong_check = USCC[:-1] + ("2" if USCC[-1] != "2" else "3")
    for bad, fragment in (
        (wrong_check, "校验位"),
        ("9142050", "18 位"),
        ("O1420502MA4TEXT011", "格式"),
    ):
        r = await client.post("/api/v1/merchants", json=merchant_body(xl, uscc=bad))
        assert r.status_code == 422, r.text
        problem = r.json()
        assert problem["code"] == "validation_error"
        assert problem["errors"][0]["field"] == "uscc"
        assert fragment in problem["errors"][0]["reason"]
        assert problem["errors"][0]["reason_en"]


async def test_other_fields_are_named(
    client: Client, engine: AsyncEngine, demo: dict[str, Any]
) -> None:
    await login(client, "yc.merchants")
    xl = await org_id(engine, "HB-YC-XL")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"region": "宜昌"}, "region"),
        ({"contact_phone": "12345"}, "contact_phone"),
        ({"display_name": " "}, "display_name"),
        ({"bank_account_number": "12ab"}, "bank_account_number"),
        ({"bank_name": None}, "bank_name"),  # settlement details are all or nothing
        ({"category": "casino"}, "category"),
    ]
    for over, field in cases:
        r = await client.post("/api/v1/merchants", json=merchant_body(xl, **over))
        assert r.status_code in (400, 422), (over, r.text)
        assert r.json()["errors"][0]["field"].endswith(field), (over, r.json())


async def test_duplicate_uscc_is_a_conflict(
    client: Client, engine: AsyncEngine, demo: dict[str, Any]
) -> None:
    await login(client, "yc.merchants")
    xl = await org_id(engine, "HB-YC-XL")
    assert (await client.post("/api/v1/merchants", json=merchant_body(xl))).status_code == 201
    r = await client.post(
        "/api/v1/merchants", json=merchant_body(xl, uscc=" " + USCC.lower(), display_name="另一家")
    )
    assert r.status_code == 409
    assert r.json()["code"] == "uscc_taken"
    assert r.json()["errors"][0]["field"] == "uscc"


async def test_update_search_and_status(
    client: Client, engine: AsyncEngine, demo: dict[str, Any]
) -> None:
    await login(client, "yc.merchants")
    xl, wjg = await org_id(engine, "HB-YC-XL"), await org_id(engine, "HB-YC-WJG")
    a = (await client.post("/api/v1/merchants", json=merchant_body(xl))).json()
    b = (
        await client.post(
            "/api/v1/merchants",
            json=merchant_body(
                wjg,
                uscc=USCC_2,
                legal_name="宜昌测试超市有限公司",
                display_name="测试超市",
                category="retail",
                region="420503",
            ),
        )
    ).json()

    r = await client.patch(
        f"/api/v1/merchants/{a['id']}",
        json={"display_name": "测试老街面馆", "bank_account_number": "6222020200112233445"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["display_name"] == "测试老街面馆"
    assert r.json()["bank_account_masked"].endswith("3445")
    assert r.json()["legal_name"] == "宜昌市西陵区测试面馆"  # untouched

    # (the demo merchants may be in the database too: every search here names "测试")
    async def ids(**params: Any) -> list[str]:
        r = await client.get("/api/v1/merchants", params={"q": "测试", **params})
        assert r.status_code == 200, r.text
        return [m["id"] for m in r.json()["items"]]

    assert await ids(q="测试老街面馆") == [a["id"]]
    assert await ids(q="测试", category="retail") == [b["id"]]
    assert await ids(q=USCC_2) == [b["id"]]
    assert await ids(q="测试", region="420503") == [b["id"]]
    assert await ids(q="测试", org_id=xl) == [a["id"]]
    assert set(await ids(status="active")) == {a["id"], b["id"]}
    page = (
        await client.get("/api/v1/merchants", params={"q": "测试", "limit": 1, "offset": 1})
    ).json()
    assert page["total"] == 2 and len(page["items"]) == 1

    r = await client.post(f"/api/v1/merchants/{a['id']}/suspend", json={})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reason"
    r = await client.post(f"/api/v1/merchants/{a['id']}/suspend", json={"reason": "整改中"})
    assert r.status_code == 200 and r.json()["status"] == "suspended"
    r = await client.post(f"/api/v1/merchants/{a['id']}/suspend", json={"reason": "整改中"})
    assert r.status_code == 409 and r.json()["code"] == "merchant_status_conflict"
    r = await client.post(f"/api/v1/merchants/{a['id']}/resume", json={})
    assert r.status_code == 200 and r.json()["status"] == "active"
    r = await client.post(f"/api/v1/merchants/{a['id']}/terminate", json={"reason": "合同到期"})
    assert r.status_code == 200 and r.json()["status"] == "terminated"
    r = await client.post(f"/api/v1/merchants/{a['id']}/resume", json={})
    assert r.status_code == 409
    r = await client.patch(f"/api/v1/merchants/{a['id']}", json={"display_name": "再来"})
    assert r.status_code == 409 and r.json()["code"] == "merchant_terminated"

    async with make_sessionmaker(engine)() as session:
        actions = (
            await session.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.target_id == a["id"])
                .order_by(AuditEntry.at, AuditEntry.id)
            )
        ).all()
    assert actions == [
        "merchant.create",
        "merchant.update",
        "merchant.suspend",
        "merchant.resume",
        "merchant.terminate",
    ]


async def test_stores(client: Client, engine: AsyncEngine, demo: dict[str, Any]) -> None:
    await login(client, "yc.merchants")
    xl = await org_id(engine, "HB-YC-XL")
    made = await onboard(client, xl)
    mid = made["merchant"]["id"]
    r = await client.post(
        f"/api/v1/merchants/{mid}/stores",
        json={"name": "解放路店", "address": "宜昌市西陵区解放路 20 号", "region": "420502"},
    )
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "name"
    r = await client.post(
        f"/api/v1/merchants/{mid}/stores",
        json={"name": "夷陵店", "address": "宜昌市夷陵区发展大道 1 号", "region": "4205"},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "region"
    stores = (await client.get(f"/api/v1/merchants/{mid}/stores")).json()
    assert [s["name"] for s in stores] == ["解放路店"]
