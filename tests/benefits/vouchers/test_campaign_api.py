"""Voucher campaigns through the API: staff make and publish them (scoped, audited); members
see them with a countdown, claim (idempotently, within the stock and their limit) and find them
in their wallet. On SQLite and PostgreSQL, with the admission in process and in Redis."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from cardsvc.kernel.audit import AuditEntry
from cardsvc.kernel.db import make_sessionmaker
from tests.benefits.vouchers.conftest import API, ME, campaign_body, claim, published_campaign
from tests.support.front import Front
from tests.support.staff import login


async def test_staff_create_publish_audited(front: Front, engine: AsyncEngine) -> None:
    r = await front.client.post(API, json=campaign_body(front))
    assert r.status_code == 201, r.text
    draft = r.json()
    assert draft["status"] == "draft" and draft["stock"] == 5
    r = await front.client.post(f"{API}/{draft['id']}/publish")
    assert r.status_code == 200 and r.json()["status"] == "published"
    again = await front.client.post(f"{API}/{draft['id']}/publish")
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"
    listed = await front.client.get(API, params={"status": "published"})
    assert draft["id"] in [c["id"] for c in listed.json()["items"]]
    async with make_sessionmaker(engine)() as s:
        actions = set(
            (
                await s.scalars(
                    select(AuditEntry.action).where(AuditEntry.target_id == draft["id"])
                )
            ).all()
        )
    assert {"voucher_campaign.create", "voucher_campaign.publish"} <= actions


async def test_bad_campaigns_are_field_errors(front: Front) -> None:
    naive = datetime(2027, 1, 1, 8, 0).isoformat()
    cases: list[tuple[dict[str, Any], str]] = [
        ({"opens_at": naive}, "opens_at"),
        ({"closes_at": (datetime.now(UTC) - timedelta(hours=2)).isoformat()}, "closes_at"),
        ({"terms": {"value": {"kind": "free_lunch"}, "valid_days": 3}}, "terms.value.kind"),
        ({"terms": {"value": {"kind": "amount_off", "off_fen": 100}}}, "terms.valid_days"),
        (
            {"terms": {"value": {"kind": "percent_off", "basis_points": 99999}, "valid_days": 1}},
            "terms.value.basis_points",
        ),
        (
            {"terms": {"value": {"kind": "amount_off", "off_fen": 1}, "valid_days": 1, "x": 1}},
            "terms.x",
        ),
    ]
    for override, field in cases:
        r = await front.client.post(API, json=campaign_body(front, **override))
        assert r.status_code in (400, 422), (override, r.text)
        fields = [e["field"] for e in r.json().get("errors", [])]
        assert any(f.endswith(field) for f in fields), (field, r.json())
    for extreme in ({"stock": 10**12}, {"stock": 0}, {"per_member": -1}, {"stock": "many"}):
        r = await front.client.post(API, json=campaign_body(front, **extreme))
        assert r.status_code == 400, r.text


async def test_scope_other_staff(front: Front) -> None:
    body = campaign_body(front, owner_org_id=front.orgs["HB-YC"])
    r = await front.client.post(API, json=body)
    cid = r.json()["id"]
    await login(front.client, "hb.auditor")
    assert (await front.client.get(f"{API}/{cid}")).status_code == 200
    denied = await front.client.post(f"{API}/{cid}/publish")
    assert denied.status_code == 403, denied.text
    await login(front.client, "xl.admin")
    assert (await front.client.get(f"{API}/{cid}")).status_code == 404
    assert cid not in [c["id"] for c in (await front.client.get(API)).json()["items"]]


async def test_member_claims_once_and_retries_idempotently(front: Front) -> None:
    c = await published_campaign(front)
    who = await front.member(await front.grassroots("HB-YC-XL"))
    async with front.as_member(who.phone) as m:
        listed = (await m.get(f"{ME}/campaigns")).json()
        mine = [i for i in listed["items"] if i["id"] == c["id"]]
        assert mine and mine[0]["opens_in_seconds"] == 0 and mine[0]["value"] == "满50元减10元"
    key = uuid.uuid4().hex
    first = await claim(front, who.phone, c["id"], key)
    assert first.status_code == 201, first.text
    retry = await claim(front, who.phone, c["id"], key)
    assert retry.status_code == 200 and retry.json()["id"] == first.json()["id"]
    second = await claim(front, who.phone, c["id"])
    assert second.status_code == 409 and second.json()["code"] == "voucher_limit"
    async with front.as_member(who.phone) as m:
        wallet = (await m.get(f"{ME}/")).json()["items"]
    assert [v["id"] for v in wallet] == [first.json()["id"]]
    expires = datetime.fromisoformat(wallet[0]["expires_at"])
    claimed = datetime.fromisoformat(wallet[0]["claimed_at"])
    assert expires - claimed == timedelta(days=7) and wallet[0]["status"] == "active"


async def test_sold_out_and_figures(front: Front) -> None:
    c = await published_campaign(front, stock=2)
    org = await front.grassroots("HB-YC-XL")
    people = [await front.member(org) for _ in range(3)]
    answers = [await claim(front, p.phone, c["id"]) for p in people]
    assert [a.status_code for a in answers] == [201, 201, 409]
    assert answers[2].json()["code"] == "voucher_sold_out"
    figures = (await front.client.get(f"{API}/{c['id']}/figures")).json()
    assert figures["claimed"] == 2 and figures["left"] == 0


async def test_not_open_and_ineligible(front: Front) -> None:
    later = datetime.now(UTC) + timedelta(hours=2)
    soon = await published_campaign(
        front, opens_at=later.isoformat(), closes_at=(later + timedelta(hours=1)).isoformat()
    )
    model = await published_campaign(
        front,
        terms={
            "value": {"kind": "percent_off", "basis_points": 2000, "cap_fen": 3000},
            "valid_days": 3,
            "eligibility": {"categories_any": ["model_worker"]},
        },
    )
    who = await front.member(await front.grassroots("HB-YC-XL"))
    async with front.as_member(who.phone) as m:
        listed = {i["id"]: i for i in (await m.get(f"{ME}/campaigns")).json()["items"]}
    assert soon["id"] in listed and listed[soon["id"]]["opens_in_seconds"] > 7000
    assert model["id"] not in listed
    r = await claim(front, who.phone, soon["id"])
    assert r.status_code == 409 and r.json()["code"] == "voucher_not_open"
    r = await claim(front, who.phone, model["id"])
    assert r.status_code == 403 and r.json()["code"] == "not_eligible"
    await front.set_categories(who, ["model_worker"])
    r = await claim(front, who.phone, model["id"])
    assert r.status_code == 201, r.text


async def test_draft_and_unknown_campaigns_are_not_found(front: Front) -> None:
    r = await front.client.post(API, json=campaign_body(front))
    who = await front.member(await front.grassroots("HB-YC-XL"))
    for cid in (r.json()["id"], str(uuid.uuid4())):
        answer = await claim(front, who.phone, cid)
        assert answer.status_code == 404, answer.text
    async with front.as_member(who.phone) as m:
        bad = await m.post(f"{ME}/campaigns/{r.json()['id']}/claim", json={"request_id": "x"})
        assert bad.status_code == 400
