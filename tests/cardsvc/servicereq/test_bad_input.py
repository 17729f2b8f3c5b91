"""Bad input to the service-request API: problem details with a stable code, never a 500."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import pytest
from litestar.testing import AsyncTestClient

from cardsvc.kernel.settings import Settings
from tests.cardsvc.membership.test_membership import NEW_PHONE, member_client
from tests.support.staff import login

ME = "/api/v1/me/service-requests"


@pytest.fixture
async def stack() -> AsyncIterator[AsyncExitStack]:
    async with AsyncExitStack() as st:
        yield st


async def test_member_input_errors(settings: Settings, demo: dict, stack: AsyncExitStack) -> None:
    phone = next(m for m in demo["members"] if m["union"] == "XL-JIDIAN")["phone"]
    c = await stack.enter_async_context(member_client(settings, phone))
    for body, field in (
        ({"kind": "lottery", "title": "t", "description": "d"}, "kind"),
        ({"kind": "other", "description": "d"}, "title"),
        ({"kind": "other", "title": "", "description": "d"}, "title"),
        (
            {"kind": "other", "title": "t", "description": "d", "contact_preference": "fax"},
            "contact_preference",
        ),
        ({"kind": "other", "title": "t" * 101, "description": "d"}, "title"),
    ):
        resp = await c.post(ME, json=body)
        assert resp.status_code == 400, (body, resp.text)
        problem = resp.json()
        assert problem["code"] == "validation_error" and field in problem["errors"][0]["field"]
    resp = await c.post(ME, json={"kind": "other", "title": "   ", "description": "d"})
    assert (resp.status_code, resp.json()["errors"][0]["field"]) == (422, "title")
    assert (await c.get(f"{ME}/not-a-uuid")).status_code in (400, 404)
    resp = await c.get(f"{ME}/01890000-0000-7000-8000-000000000000")
    assert resp.json()["code"] == "request_not_found"
    rid = (await c.post(ME, json={"kind": "other", "title": "t", "description": "d"})).json()[
        "request"
    ]["id"]
    resp = await c.post(f"{ME}/{rid}/reply", json={"note": "x"})
    assert (resp.status_code, resp.json()["code"]) == (409, "invalid_status")
    resp = await c.post(f"{ME}/{rid}/rating", json={"rating": 3})
    assert (resp.status_code, resp.json()["code"]) == (409, "not_closed")
    resp = await c.post(f"{ME}/{rid}/attachments", files={"file": ("a.png", b"", "image/png")})
    assert resp.json()["code"] == "attachment_empty"
    resp = await c.post(
        f"{ME}/{rid}/attachments",
        files=[
            ("file", ("a.pdf", b"%PDF-1.4 x", "application/pdf")),
            ("file", ("b.pdf", b"%PDF-1.4 y", "application/pdf")),
        ],
    )
    assert resp.json()["code"] == "one_file_only"
    # Without the CSRF header a mutation is refused.
    del c.headers["x-csrf-token"]
    assert (await c.post(f"{ME}/{rid}/withdraw", json={})).json()["code"] == "csrf_failed"


async def test_applicant_is_not_a_member_and_staff_input_errors(
    client: AsyncTestClient, settings: Settings, demo: dict, stack: AsyncExitStack
) -> None:
    applicant = await stack.enter_async_context(member_client(settings, NEW_PHONE))
    resp = await applicant.post(ME, json={"kind": "other", "title": "t", "description": "d"})
    assert (resp.status_code, resp.json()["code"]) == (404, "not_a_member")
    assert (await client.get("/api/v1/service-requests")).status_code == 401
    await login(client, "xl.jidian")
    for params in ({"kind": "x"}, {"status": "x"}, {"limit": 0}, {"limit": 500}, {"org_id": "x"}):
        resp = await client.get("/api/v1/service-requests", params=params)
        assert resp.status_code == 400, (params, resp.text)
    resp = await client.get(
        "/api/v1/service-requests", params={"org_id": "01890000-0000-7000-8000-000000000000"}
    )
    assert resp.json()["code"] == "org_not_found"
    resp = await client.post(
        "/api/v1/service-requests",
        json={
            "member_id": "01890000-0000-7000-8000-000000000000",
            "kind": "other",
            "title": "t",
            "description": "d",
        },
    )
    assert resp.json()["code"] == "member_not_found"
    resp = await client.post(
        "/api/v1/hardship/records",
        json={
            "member_id": "01890000-0000-7000-8000-000000000000",
            "category": "deep",
            "level": 4,
            "circumstances": "x",
        },
    )
    assert resp.status_code == 400
    # A request that does not exist (no foreign key checks it: docs/distribution.toml) is the
    # field's error, not a 500.
    jidian = next(m for m in demo["members"] if m["union"] == "XL-JIDIAN")
    found = await client.get("/api/v1/members", params={"member_no": jidian["member_no"]})
    resp = await client.post(
        "/api/v1/hardship/records",
        json={
            "member_id": found.json()["items"][0]["id"],
            "category": "deep",
            "level": 2,
            "circumstances": "家中困难",
            "request_id": "01890000-0000-7000-8000-000000000000",
        },
    )
    assert (resp.status_code, resp.json()["code"]) == (422, "validation_error"), resp.text
    assert resp.json()["errors"][0]["field"] == "request_id"
