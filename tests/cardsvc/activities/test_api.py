"""Activities through HTTP, as staff in the console and members on their phones do: publish,
who sees what, sign-up with a waiting list that moves up on cancellation, eligibility by the
engine's rules, check-in by card, training completion with a certificate anyone can check,
the sign-up export, and who may see what (404 otherwise)."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta

import pytest
from litestar.testing import AsyncTestClient
from openpyxl import load_workbook

from cardsvc.activities.certificates import VERIFY_PATH
from cardsvc.cards.render import read_qr
from cardsvc.kernel.settings import Settings
from tests.cardsvc.membership.test_membership import member_client
from tests.support.activities import (
    ME,
    URL,
    activity_body,
    iso,
    org_id,
    phones,
    publish,
)
from tests.support.staff import login


@pytest.fixture
async def stack() -> AsyncIterator[AsyncExitStack]:
    async with AsyncExitStack() as st:
        yield st


async def _members(
    settings: Settings, demo: dict, stack: AsyncExitStack, union: str, n: int
) -> list[AsyncTestClient]:
    return [
        await stack.enter_async_context(member_client(settings, p)) for p in phones(demo, union)[:n]
    ]


async def test_waiting_list_moves_up_on_cancellation(
    client: AsyncTestClient, settings: Settings, demo: dict, stack: AsyncExitStack
) -> None:
    await login(client, "admin")
    a = await publish(client, await org_id(client, "HB"), capacity=2)
    assert a["member_pays_fen"] == 2000 and a["signed_count"] == 0
    ms = [await stack.enter_async_context(member_client(settings, p)) for p in phones(demo)[:4]]
    # Every member of the federation's unions sees it, with the money in fen.
    listed = (await ms[0].get(ME)).json()["items"]
    mine = next(i for i in listed if i["activity"]["id"] == a["id"])
    assert mine["eligible"] and mine["signup"] is None
    got = []
    for m in ms:
        resp = await m.post(f"{ME}/{a['id']}/signup")
        assert resp.status_code == 201, resp.text
        got.append(resp.json())
    assert [(g["status"], g["position"]) for g in got] == [
        ("signed", None),
        ("signed", None),
        ("waitlisted", 1),
        ("waitlisted", 2),
    ]
    again = await ms[0].post(f"{ME}/{a['id']}/signup")
    assert again.status_code == 409 and again.json()["code"] == "already_signed_up"
    # The first cancels: the first in line gets the place and is told in the inbox.
    cancelled = await ms[0].post(f"{ME}/{a['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    third = (await ms[2].get(f"{ME}/{a['id']}")).json()["signup"]
    assert third["status"] == "signed" and third["promoted_at"] and third["position"] is None
    fourth = (await ms[3].get(f"{ME}/{a['id']}")).json()["signup"]
    assert fourth["status"] == "waitlisted" and fourth["position"] == 2
    inbox = (await ms[2].get("/api/v1/me/inbox")).json()["items"]
    assert any("候补成功" in n["title"] for n in inbox)
    # A waitlisted member leaves: nobody moves; the staff's roster adds up.
    assert (await ms[3].post(f"{ME}/{a['id']}/cancel")).status_code == 200
    roster = (await client.get(f"{URL}/{a['id']}/signups")).json()
    assert roster["counts"] | {} == {
        "signed": 2,
        "waitlisted": 0,
        "cancelled": 2,
        "checked_in": 0,
        "no_shows": 0,
        "passed": 0,
    }
    assert roster["activity"]["signed_count"] == 2
    # Signed up again after cancelling: the back of the line (a fresh place is none).
    back = await ms[0].post(f"{ME}/{a['id']}/signup")
    assert back.status_code == 201 and back.json()["status"] == "waitlisted"
    assert back.json()["position"] == 3


async def test_who_sees_an_activity(
    client: AsyncTestClient, settings: Settings, demo: dict, stack: AsyncExitStack
) -> None:
    await login(client, "xl.jidian")
    a = await publish(client, await org_id(client, "XL-JIDIAN"))
    [outsider] = await _members(settings, demo, stack, "XL-COMMERCE", 1)
    assert all(i["activity"]["id"] != a["id"] for i in (await outsider.get(ME)).json()["items"])
    resp = await outsider.get(f"{ME}/{a['id']}")
    assert resp.status_code == 404 and resp.json()["code"] == "activity_not_found"
    assert (await outsider.post(f"{ME}/{a['id']}/signup")).status_code == 404
    # Staff of another district neither see it nor publish for a union they do not serve.
    other = client
    await login(other, "wjg.admin")
    assert (await other.get(f"{URL}/{a['id']}")).status_code == 404
    assert (await other.get(f"{URL}/{a['id']}/signups")).status_code == 404
    assert all(x["id"] != a["id"] for x in (await other.get(URL)).json()["items"])
    resp = await other.post(URL, json={**_body_for(a), "org_id": a["org_id"]})
    assert resp.status_code == 404


def _body_for(a: dict) -> dict:
    keep = [
        "kind",
        "title",
        "description",
        "starts_at",
        "ends_at",
        "place",
        "capacity",
        "signup_opens_at",
        "signup_closes_at",
        "cancel_deadline",
        "cost_fen",
        "subsidy_fen",
    ]
    return {k: a[k] for k in keep}


async def test_eligibility_is_the_engines_rule(
    client: AsyncTestClient, settings: Settings, demo: dict, stack: AsyncExitStack
) -> None:
    await login(client, "xl.admin")
    org = await org_id(client, "HB-YC-XL")
    bad = await client.post(
        URL, json=_body(org, eligibility={"min_age": 200, "categories_any": ["astronaut"]})
    )
    assert bad.status_code == 422, bad.text
    fields = {e["field"] for e in bad.json()["errors"]}
    assert {"eligibility.min_age", "eligibility.categories_any[0]"} <= fields
    a = await publish(client, org, eligibility={"categories_any": ["model_worker"]})
    assert a["eligibility"]["categories_any"] == ["model_worker"]
    [m] = await _members(settings, demo, stack, "XL-JIDIAN", 1)
    listed = (await m.get(ME)).json()["items"]
    assert all(i["activity"]["id"] != a["id"] for i in listed)
    detail = (await m.get(f"{ME}/{a['id']}")).json()
    assert not detail["eligible"] and detail["reasons"][0]["code"] == "category_missing"
    refused = await m.post(f"{ME}/{a['id']}/signup")
    assert refused.status_code == 403
    assert refused.json()["code"] == "not_eligible"
    assert refused.json()["reasons"][0]["code"] == "category_missing"


def _body(org: str, **kw: object) -> dict:
    return activity_body(org, **kw)


async def test_windows_and_deadlines(
    client: AsyncTestClient, settings: Settings, demo: dict, stack: AsyncExitStack
) -> None:
    await login(client, "xl.admin")
    org = await org_id(client, "HB-YC-XL")
    now = datetime.now(UTC)
    later = await publish(client, org, signup_opens_at=iso(now + timedelta(minutes=10)))
    past_deadline = await publish(client, org, cancel_deadline=iso(now - timedelta(minutes=1)))
    [m] = await _members(settings, demo, stack, "XL-JIDIAN", 1)
    closed = await m.post(f"{ME}/{later['id']}/signup")
    assert closed.status_code == 409 and closed.json()["code"] == "signup_closed"
    assert not (await m.get(f"{ME}/{later['id']}")).json()["signup_open"]
    assert (await m.post(f"{ME}/{past_deadline['id']}/signup")).status_code == 201
    late = await m.post(f"{ME}/{past_deadline['id']}/cancel")
    assert late.status_code == 409 and late.json()["code"] == "cancel_deadline_passed"
    never = await m.post(f"{ME}/{later['id']}/cancel")
    assert never.status_code == 409 and never.json()["code"] == "not_signed_up"


async def test_bad_input_is_a_problem_not_a_500(client: AsyncTestClient, demo: dict) -> None:
    await login(client, "xl.admin")
    org = await org_id(client, "HB-YC-XL")
    naive = datetime.now().replace(microsecond=0).isoformat()
    for override, status in (
        ({"starts_at": naive}, 400),
        ({"capacity": 0}, 400),
        ({"capacity": "ten"}, 400),
        ({"cost_fen": 1.5}, 400),
        ({"cost_fen": 10**12}, 400),
        ({"kind": "party"}, 400),
        ({"title": ""}, 400),
        ({"starts_at": "9999-12-31T23:59:59+00:00"}, 422),
        ({"subsidy_fen": 9000}, 422),
        ({"ends_at": iso(datetime.now(UTC))}, 422),
        ({"kind": "training"}, 422),  # a course needs its hours
        ({"eligibility": {"min_age": "old"}}, 422),
        ({"eligibility": ["min_age"]}, 400),
        ({"place": "   "}, 422),
    ):
        resp = await client.post(URL, json=_body(org, **override))
        assert resp.status_code == status, (override, resp.text)
        assert resp.json()["code"] == "validation_error", resp.text
    missing = await client.post(URL, json=_body("00000000-0000-0000-0000-000000000000"))
    assert missing.status_code == 404
    assert (await client.get(f"{URL}/not-a-uuid")).status_code == 404


async def test_check_in_by_card_and_a_certificate_anyone_can_check(
    client: AsyncTestClient, settings: Settings, demo: dict, stack: AsyncExitStack
) -> None:
    await login(client, "xl.admin")
    a = await publish(
        client,
        await org_id(client, "HB-YC-XL"),
        kind="training",
        title="电工安全操作培训",
        training_minutes=240,
        capacity=5,
    )
    carded = [c["phone"] for c in demo["cards"] if c["phone"]][:2]
    member, bystander = [
        await stack.enter_async_context(member_client(settings, p)) for p in carded
    ]
    assert (await member.post(f"{ME}/{a['id']}/signup")).status_code == 201
    token = (await member.get("/api/v1/me/card/token")).json()["text"]
    first = await client.post(f"{URL}/{a['id']}/check-ins", json={"code": token})
    assert first.status_code == 200, first.text
    assert first.json()["result"] == "checked_in" and "*" in first.json()["member_name"]
    second = await client.post(f"{URL}/{a['id']}/check-ins", json={"code": token})
    assert second.json()["result"] == "already_checked_in"
    assert second.json()["checked_in_at"] == first.json()["checked_in_at"]
    other = (await bystander.get("/api/v1/me/card/token")).json()["text"]
    stranger = await client.post(f"{URL}/{a['id']}/check-ins", json={"code": other})
    assert stranger.status_code == 409 and stranger.json()["code"] == "not_signed_up"
    junk = await client.post(f"{URL}/{a['id']}/check-ins", json={"code": "not a card"})
    assert junk.status_code == 422 and junk.json()["code"] == "malformed"
    # Completion: hours and pass; a certificate whose QR leads to the public check.
    roster = (await client.get(f"{URL}/{a['id']}/signups")).json()
    signup_id = roster["items"][0]["signup"]["id"]
    assert roster["counts"]["checked_in"] == 1
    done = await client.post(
        f"{URL}/{a['id']}/signups/{signup_id}/completion", json={"passed": True, "minutes": 240}
    )
    assert done.status_code == 200, done.text
    cert_no = done.json()["cert_no"]
    assert cert_no
    pdf = await member.get(f"{ME}/{a['id']}/certificate")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    checked = await client.get(f"/api/v1/certificates/{cert_no}")
    body = checked.json()
    assert checked.status_code == 200 and body["valid"] and body["hours"] == 4.0
    assert body["course"] == "电工安全操作培训" and "*" in body["holder"]
    forged = await client.get("/api/v1/certificates/TC2026FFFFFFFFFFFF")
    assert forged.status_code == 404 and forged.json()["code"] == "certificate_not_found"
    no_cert = await bystander.get(f"{ME}/{a['id']}/certificate")
    assert no_cert.status_code == 404
    # The PDF's QR holds the public address of the check and nothing about the person.
    qr = _qr_of_pdf(pdf.content)
    assert qr.endswith(VERIFY_PATH + cert_no)
    page = await client.get(VERIFY_PATH + cert_no, headers={"accept": "text/html"})
    assert page.status_code == 200 and "证书有效" in page.text and cert_no in page.text
    assert "电工安全操作培训" in page.text
    nobody = await client.get(VERIFY_PATH + "TC2026FFFFFFFFFFFF", headers={"accept": "text/html"})
    assert nobody.status_code == 404 and "certificate_not_found" in nobody.text
    # Export for the staff: one row per sign-up, the hours and the certificate.
    xlsx = await client.get(f"{URL}/{a['id']}/signups/export")
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][0] == "会员编号" and rows[2][8] == 4.0 and rows[2][9] == cert_no
    await login(client, "admin")
    audit = (await client.get("/api/v1/audit", params={"action": "activity.export"})).json()
    assert [e["summary"]["rows"] for e in audit["items"]] == [1]


def _qr_of_pdf(pdf: bytes) -> str:
    from PIL import Image

    # Pillow writes the page as one JPEG image: decode it straight from the stream.
    start = pdf.index(b"\xff\xd8")
    end = pdf.index(b"\xff\xd9", start) + 2
    img = Image.open(io.BytesIO(pdf[start:end]))
    out = io.BytesIO()
    img.save(out, format="PNG")
    return read_qr(out.getvalue())


async def test_completion_needs_attendance_and_a_course(
    client: AsyncTestClient, settings: Settings, demo: dict, stack: AsyncExitStack
) -> None:
    await login(client, "xl.admin")
    org = await org_id(client, "HB-YC-XL")
    plain = await publish(client, org)
    course = await publish(client, org, kind="training", training_minutes=90)
    [m] = await _members(settings, demo, stack, "XL-JIDIAN", 1)
    for a in (plain, course):
        assert (await m.post(f"{ME}/{a['id']}/signup")).status_code == 201
    ids = {}
    for a in (plain, course):
        ids[a["id"]] = (await client.get(f"{URL}/{a['id']}/signups")).json()["items"][0]["signup"][
            "id"
        ]
    body = {"passed": True, "minutes": 90}
    r1 = await client.post(f"{URL}/{plain['id']}/signups/{ids[plain['id']]}/completion", json=body)
    assert r1.status_code == 409 and r1.json()["code"] == "not_training"
    r2 = await client.post(
        f"{URL}/{course['id']}/signups/{ids[course['id']]}/completion", json=body
    )
    assert r2.status_code == 409 and r2.json()["code"] == "not_attended"
    r3 = await client.post(f"{URL}/{course['id']}/signups/{ids[plain['id']]}/completion", json=body)
    assert r3.status_code == 404 and r3.json()["code"] == "signup_not_found"
