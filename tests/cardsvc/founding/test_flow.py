"""Founding a union through HTTP, as applicants on their phones and district staff do: the
whole flow to a working union (its admin signs in, its workers join through the invite), ask
for more and resubmit, refusal, joining a joint union, and the audit of every step."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.audit import AuditEntry
from cardsvc.memberauth.senders import RecordingSender
from cardsvc.membership.service import PRIVACY_VERSION
from tests.cardsvc.founding.conftest import ME, URL, application, submit
from tests.cardsvc.servicereq.test_api import png
from tests.support.front import Front, resident_id
from tests.support.staff import login


async def _actions(session: AsyncSession, app_id: str) -> list[str]:
    rows = await session.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.target_id == app_id)
        .order_by(AuditEntry.at, AuditEntry.id)
    )
    return list(rows)


async def test_found_a_union_end_to_end(front: Front, session: AsyncSession) -> None:
    phone = "13971000001"
    app = await submit(front, phone)
    assert app["status"] == "submitted" and app["reviewer_org"]["code"] == "HB-YC-XL"
    assert app["ref_no"].startswith("JH") and app["steps"][0]["kind"] == "submitted"
    async with front.as_member(phone) as applicant:
        r = await applicant.post(
            f"{ME}/{app['id']}/documents", files={"file": ("licence.png", png(), "image/png")}
        )
        assert r.status_code == 201, r.text

    c = front.client
    await login(c, "xl.admin")
    r = await c.get(URL, params={"status": "submitted"})
    assert r.status_code == 200 and [i["id"] for i in r.json()["items"]] == [app["id"]]
    r = await c.get(f"{URL}/{app['id']}")
    assert r.status_code == 200
    detail = r.json()
    assert detail["founders"][0]["phone"] != phone  # masked for staff
    doc = detail["documents"][0]
    r = await c.get(f"{URL}/{app['id']}/documents/{doc['id']}")
    assert r.status_code == 200 and r.content == png()

    sender = RecordingSender()
    front.app.state.sender = sender
    r = await c.post(f"{URL}/{app['id']}/approve")
    assert r.status_code == 200, r.text
    approved = r.json()
    assert approved["status"] == "approved" and approved["org"]["name"].endswith("工会委员会")
    assert approved["admin_username"] and approved["invite_url"]
    (to, text) = sender.sent[-1]
    assert to.endswith("13971000001") and approved["admin_username"] in text
    password = re.search(r"初始密码：(\S+?)。", text)
    assert password, text

    # The new union's admin signs in and sees their union; its workers join by the invite.
    await login(c, approved["admin_username"], password.group(1))
    r = await c.get(f"/api/v1/orgs/{approved['org']['id']}")
    assert r.status_code == 200 and r.json()["level"] == "grassroots"
    assert r.json()["parent_id"] == app["reviewer_org"]["id"]
    token = approved["invite_url"].split("invite=")[1]
    worker = "13971000099"
    async with front.as_member(worker) as w:
        r = await w.get(f"/api/v1/join/invites/{token}")
        assert r.status_code == 200 and r.json()["union"]["id"] == approved["org"]["id"]
        body = {
            "name": "刘小红",
            "id_number": resident_id(date(1992, 3, 4), 7),
            "invite_token": token,
            "consent": True,
            "privacy_version": PRIVACY_VERSION,
        }
        r = await w.post("/api/v1/me/applications", json=body)
        assert r.status_code == 201, r.text
        join_id = r.json()["id"]
    r = await c.post(f"/api/v1/approvals/applications/{join_id}/approve")
    assert r.status_code == 200, r.text

    async with front.as_member(phone) as applicant:
        r = await applicant.get(f"{ME}/{app['id']}")
        assert r.status_code == 200 and r.json()["status"] == "approved"
        assert [s["kind"] for s in r.json()["steps"]] == ["submitted", "document", "approved"]
    assert await _actions(session, app["id"]) == [
        "founding.submit",
        "founding.document",
        "founding.approve",
    ]


async def test_ask_for_more_then_resubmit(front: Front, session: AsyncSession) -> None:
    phone = "13971000002"
    app = await submit(front, phone, headcount=12)
    c = front.client
    await login(c, "xl.admin")
    r = await c.post(f"{URL}/{app['id']}/request-info", json={"note": "请上传营业执照照片"})
    assert r.status_code == 200 and r.json()["status"] == "info_requested"
    r = await c.post(f"{URL}/{app['id']}/approve")
    assert r.status_code == 409 and r.json()["code"] == "founding_not_under_review"

    async with front.as_member(phone) as applicant:
        r = await applicant.get(f"{ME}/{app['id']}")
        assert r.json()["staff_note"] == "请上传营业执照照片"
        body = application(credit_code=app["credit_code"], headcount=15, note="已补充人数")
        r = await applicant.post(f"{ME}/{app['id']}/resubmit", json=body)
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "submitted" and r.json()["headcount"] == 15
        r = await applicant.post(f"{ME}/{app['id']}/resubmit", json=body)
        assert r.status_code == 409 and r.json()["code"] == "founding_not_awaiting_applicant"
    r = await c.post(f"{URL}/{app['id']}/approve")
    assert r.status_code == 200, r.text
    assert await _actions(session, app["id"]) == [
        "founding.submit",
        "founding.request_info",
        "founding.resubmit",
        "founding.approve",
    ]


async def test_refuse_with_a_reason(front: Front) -> None:
    phone = "13971000003"
    app = await submit(front, phone)
    c = front.client
    await login(c, "xl.admin")
    r = await c.post(f"{URL}/{app['id']}/refuse", json={"reason": ""})
    assert r.status_code == 400
    r = await c.post(f"{URL}/{app['id']}/refuse", json={"reason": " "})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "note"
    r = await c.post(f"{URL}/{app['id']}/refuse", json={"reason": "该单位已在其他区建会"})
    assert r.status_code == 200 and r.json()["status"] == "refused"
    async with front.as_member(phone) as applicant:
        r = await applicant.get(ME)
        assert [a["status"] for a in r.json()] == ["refused"]
        assert r.json()[0]["staff_note"] == "该单位已在其他区建会"
        # Refused: the same enterprise may apply again.
        r = await applicant.post(ME, json=application(credit_code=app["credit_code"]))
        assert r.status_code == 201, r.text
        r = await applicant.post(ME, json=application(credit_code=app["credit_code"]))
        assert r.status_code == 409 and r.json()["code"] == "founding_exists"


async def test_join_a_joint_union(front: Front) -> None:
    c = front.client
    r = await c.get("/api/v1/founding/joint-unions", params={"region_code": "420502"})
    assert r.status_code == 200
    xiling = {o["name"]: o["id"] for o in r.json()}
    assert "西陵区商贸服务业联合工会" in xiling and all(n.startswith("西陵区") for n in xiling)
    joint_id = xiling["西陵区商贸服务业联合工会"]
    r = await c.get("/api/v1/founding/joint-unions", params={"region_code": "420503"})
    assert r.status_code == 200 and joint_id not in {o["id"] for o in r.json()}
    r = await c.get("/api/v1/founding/joint-unions", params={"region_code": "999999"})
    assert r.status_code == 422

    phone = "13971000004"
    app = await submit(
        front,
        phone,
        kind="join_joint",
        union_name=None,
        joint_org_id=joint_id,
        headcount=8,
        applicant_type="workers",
        founders=[
            {"name": "王一", "phone": "13971000041"},
            {"name": "王二", "phone": "13971000042"},
            {"name": "王三", "phone": "13971000043"},
        ],
    )
    await login(c, "xl.admin")
    sender = RecordingSender()
    front.app.state.sender = sender
    r = await c.post(f"{URL}/{app['id']}/approve")
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["org"]["id"] == joint_id and out["admin_username"] is None
    assert out["invite_url"] in sender.sent[-1][1]


async def test_workers_need_the_minimum_of_founders(front: Front) -> None:
    async with front.as_member("13971000005") as applicant:
        r = await applicant.post(ME, json=application(applicant_type="workers"))
        assert r.status_code == 422 and r.json()["code"] == "too_few_founders"
        r = await applicant.post(
            ME, json=application(joint_org_id=None, kind="join_joint", union_name=None)
        )
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "joint_org_id"
        bad_founder = [{"name": "张三", "phone": "12345"}]
        r = await applicant.post(ME, json=application(founders=bad_founder))
        assert r.status_code == 422
        assert r.json()["errors"][0]["field"] == "founders[0].phone"
