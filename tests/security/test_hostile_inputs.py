"""Hostile input that once answered 5xx or was silently accepted: each is refused with a clear
problem (4xx, stable code, Chinese and English message), never a 500."""

from __future__ import annotations

from typing import Any

import pytest

from cardsvc.demo.seed import DEMO_PASSWORD
from tests.security.conftest import Client, member_caller, staff_caller, terminal_caller

DEEP = 100_000
JSON = {"content-type": "application/json"}


def _deep(depth: int, open_: bytes = b"[", close: bytes = b"]") -> bytes:
    return open_ * depth + close * depth


@pytest.mark.parametrize(
    "path",
    ["/api/v1/staff/session", "/api/v1/me/otp", "/api/v1/me/session"],
)
async def test_json_nested_100000_deep_is_400_on_unauthenticated_routes(
    client: Client, demo: dict[str, Any], path: str
) -> None:
    for body in (_deep(DEEP), b'{"phone":' + _deep(DEEP, b'{"a":', b"}") + b"}"):
        r = await client.post(path, content=body, headers=JSON)
        assert r.status_code == 400, r.text[:300]
        problem = r.json()
        assert problem["code"] == "malformed_body", problem
        assert problem["message_zh"] and problem["message_en"]


async def test_json_nested_deep_is_400_for_signed_in_staff_and_terminals(
    client: Client, demo: dict[str, Any]
) -> None:
    admin = await staff_caller(client, "admin")
    r = await client.post(
        "/api/v1/programs/simulate",
        content=b'{"amount_fen": 1, "program_ids": ' + _deep(DEEP) + b"}",
        headers={**JSON, **admin.headers()},
    )
    assert (r.status_code, r.json()["code"]) == (400, "malformed_body"), r.text[:300]
    terminal = terminal_caller(demo["terminals"][0])
    r = await client.post(
        "/api/v1/redemptions", content=_deep(DEEP), headers={**JSON, **terminal.headers()}
    )
    assert (r.status_code, r.json()["code"]) == (400, "malformed_body"), r.text[:300]
    # Nesting that decodes but matches no schema is an ordinary validation error.
    r = await client.post(
        "/api/v1/staff/session", content=_deep(200), headers=JSON | admin.headers()
    )
    assert (r.status_code, r.json()["code"]) == (400, "validation_error"), r.text[:300]


@pytest.mark.parametrize("param", ["from", "to"])
async def test_date_time_without_offset_in_redemption_lists_is_400(
    client: Client, demo: dict[str, Any], param: str
) -> None:
    terminal = terminal_caller(demo["terminals"][0])
    admin = await staff_caller(client, "admin")
    merchant = demo["terminals"][0]["merchant_id"]
    for url, headers in (
        ("/api/v1/redemptions", terminal.headers()),
        (f"/api/v1/merchants/{merchant}/redemptions", admin.headers()),
        ("/api/v1/audit", admin.headers()),
    ):
        name = param if url != "/api/v1/audit" else {"from": "since", "to": "until"}[param]
        r = await client.get(url, params={name: "2026-03-01T08:00:00"}, headers=headers)
        assert r.status_code == 400, (url, r.text[:300])
        problem = r.json()
        assert problem["code"] == "validation_error" and problem["errors"][0]["field"] == name
        assert "时区" in problem["message_zh"] and "offset" in problem["message_en"]
        ok = await client.get(url, params={name: "2026-03-01T08:00:00+08:00"}, headers=headers)
        assert ok.status_code == 200, (url, ok.text[:300])


@pytest.mark.parametrize(
    "at", ["9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59-12:00"]
)
async def test_simulator_at_the_ends_of_the_calendar_is_400(
    client: Client, demo: dict[str, Any], at: str
) -> None:
    admin = await staff_caller(client, "admin")
    org = (await client.get("/api/v1/orgs", headers=admin.headers())).json()["items"][0]["id"]
    r = await client.post(
        "/api/v1/programs/simulate",
        json={"amount_fen": 100, "org_id": org, "sample": 2, "at": at},
        headers=admin.headers(),
    )
    assert r.status_code == 400, r.text[:300]
    problem = r.json()
    assert problem["code"] == "validation_error" and problem["errors"][0]["field"] == "at"
    r = await client.post(
        "/api/v1/programs/simulate",
        json={"amount_fen": 100, "org_id": org, "sample": 2, "at": "2026-03-01T08:00:00+08:00"},
        headers=admin.headers(),
    )
    assert r.status_code == 200, r.text[:300]


async def test_json_values_of_the_wrong_type_are_refused_not_coerced(
    client: Client, demo: dict[str, Any]
) -> None:
    admin = await staff_caller(client, "admin")
    org = (await client.get("/api/v1/orgs", headers=admin.headers())).json()["items"][0]["id"]
    for body, field in (
        ({"amount_fen": "100", "org_id": org}, "amount_fen"),
        ({"amount_fen": 100, "org_id": org, "sample": "2"}, "sample"),
        ({"amount_fen": 100.0, "org_id": org}, "amount_fen"),
        ({"amount_fen": 100, "org_id": org, "merchant": {"category": 1}}, "merchant.category"),
    ):
        r = await client.post("/api/v1/programs/simulate", json=body, headers=admin.headers())
        assert r.status_code == 400, (body, r.text[:300])
        problem = r.json()
        assert problem["code"] == "validation_error", problem
        assert problem["errors"][0]["field"] == field, problem
        assert problem["message_zh"] and problem["message_en"]
    # The terminal's redemption: an amount as a string is refused, not redeemed.
    terminal = terminal_caller(demo["terminals"][0])
    r = await client.post(
        "/api/v1/redemptions",
        json={"code": "x" * 40, "program_id": demo["programs"][0]["id"], "amount_fen": "100"},
        headers={**terminal.headers(), "idempotency-key": "strict-types-1"},
    )
    assert r.status_code == 400 and r.json()["code"] == "validation_error", r.text[:300]
    # A password sent as a number is refused the same way, before any sign-in attempt.
    r = await client.post("/api/v1/staff/session", json={"username": "admin", "password": 123})
    assert (r.status_code, r.json()["code"]) == (400, "validation_error"), r.text[:300]
    r = await client.post(
        "/api/v1/staff/session", json={"username": "admin", "password": DEMO_PASSWORD}
    )
    assert r.status_code == 200, r.text[:300]


async def test_attachment_under_an_unexpected_form_field_is_refused(
    client: Client, demo: dict[str, Any]
) -> None:
    admin = await staff_caller(client, "admin")
    members = (
        await client.get("/api/v1/members", params={"limit": 1}, headers=admin.headers())
    ).json()["items"]
    r = await client.post(
        "/api/v1/service-requests",
        json={"member_id": members[0]["id"], "kind": "other", "title": "t", "description": "d"},
        headers=admin.headers(),
    )
    assert r.status_code == 201, r.text[:300]
    up = f"/api/v1/service-requests/{r.json()['request']['id']}/attachments"
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    for files in (
        {"evil": ("a.pdf", pdf, "application/pdf")},
        [("file", ("a.pdf", pdf, "application/pdf")), ("extra", ("b.pdf", pdf, "x/y"))],
    ):
        r = await client.post(up, files=files, headers=admin.headers())
        assert r.status_code == 400, r.text[:300]
        problem = r.json()
        assert problem["code"] == "unexpected_field", problem
        assert "file" in problem["message_en"] and problem["message_zh"]
    r = await client.post(
        up, files={"file": ("a.pdf", pdf, "application/pdf")}, headers=admin.headers()
    )
    assert r.status_code == 201, r.text[:300]
    # The roster upload: the file under another name is refused, not imported.
    csv = "姓名,身份证号,手机号\n".encode()
    r = await client.post(
        "/api/v1/roster/imports",
        files={"upload": ("roster.csv", csv, "text/csv")},
        headers=admin.headers(),
    )
    assert (r.status_code, r.json()["code"]) == (400, "unexpected_field"), r.text[:300]


async def test_member_page_refuses_a_file_under_a_text_field(
    client: Client, app: Any, demo: dict[str, Any]
) -> None:
    """The member's request form takes photos under ``photos`` only; a file sent as the title
    would be stored as its name. The form is refused and nothing is filed."""
    member = await member_caller(client, app, demo["cards"][0]["phone"])
    mine = "/api/v1/me/service-requests"
    before = (await client.get(mine, headers=member.headers())).json()["total"]
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    r = await client.post(
        "/m/requests",
        data={"kind": "other", "description": "d"},
        files={"title": ("a.pdf", pdf, "application/pdf")},
        headers=member.headers(),
    )
    assert r.status_code == 422, r.text[:300]
    assert "添加照片" in r.text
    assert (await client.get(mine, headers=member.headers())).json()["total"] == before
    ok = await client.post(
        "/m/requests",
        data={"kind": "other", "title": "t", "description": "d"},
        files={"photos": ("a.pdf", pdf, "application/pdf")},
        headers=member.headers(),
        follow_redirects=False,
    )
    assert ok.status_code == 303, ok.text[:300]
    # Posted without JavaScript: 303 See Other to the new request, which was kept.
    new = ok.headers["location"].rsplit("/", 1)[-1]
    assert (await client.get(f"{mine}/{new}", headers=member.headers())).status_code == 200
    assert (await client.get(mine, headers=member.headers())).json()["total"] == before + 1
