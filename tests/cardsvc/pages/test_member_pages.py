"""The member pages (/m/) over HTTP on SQLite and PostgreSQL: sign-in forms, the QR codes
endpoint, CSRF, benefits and history through the composition root's adapter, and the
redirects. The browser tests (tests/browser/test_member_*.py) drive the same pages in
Chromium on SQLite."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from cardsvc.app import create_app
from cardsvc.kernel.settings import Settings
from cardsvc.memberauth.senders import RecordingSender
from tests.conftest import make_test_settings
from tests.support.contract import contract_client
from tests.support.staff import login

HX = {"HX-Request": "true"}


@pytest.fixture
def settings(db_url: str, var_dir: Path) -> Settings:
    return make_test_settings(db_url, var_dir)


@pytest.fixture
async def phone_app(settings: Settings, engine: AsyncEngine) -> AsyncIterator[Any]:
    """A member's phone: the app with a recording SMS sender, not yet signed in."""
    app = create_app(settings)
    app.state.sender = RecordingSender()
    async with contract_client(app) as c:
        c.sender = app.state.sender  # type: ignore[attr-defined]  # the tests' handle on the codes
        yield c


def _last_code(c: Any) -> str:
    found = re.search(r"验证码 (\d{6})", c.sender.sent[-1][1])
    assert found, c.sender.sent[-1][1]
    return found.group(1)


async def _sign_in(c: Any, phone: str, next_url: str = "/m/") -> Any:
    sent = await c.post("/m/login/code", data={"phone": phone}, headers=HX)
    assert sent.status_code == 200 and "验证码已发送" in sent.text, sent.text
    resp = await c.post(
        "/m/login",
        data={"phone": phone, "code": _last_code(c), "next": next_url, "accept": "yes"},
        headers=HX,
    )
    assert resp.status_code == 200, resp.text
    return resp


async def test_sign_in_forms_and_redirects(phone_app: Any, demo: dict[str, Any]) -> None:
    c = phone_app
    page = await c.get("/m/card", follow_redirects=False)
    assert page.status_code in (302, 303) and page.headers["location"] == "/m/login?next=/m/card"
    # The codes endpoint is for a script: problem details, not a redirect.
    codes = await c.get("/m/card/codes")
    assert codes.status_code == 401 and codes.json()["code"] == "unauthorized"

    bad_phone = await c.post("/m/login/code", data={"phone": "12345"}, headers=HX)
    assert bad_phone.status_code == 422 and 'id="e-phone"' in bad_phone.text
    phone = demo["members"][0]["phone"]
    await c.post("/m/login/code", data={"phone": phone}, headers=HX)
    right = _last_code(c)
    wrong = await c.post(
        "/m/login",
        data={"phone": phone, "code": "000000" if right != "000000" else "111111", "accept": "yes"},
        headers=HX,
    )
    assert wrong.status_code == 401 and "验证码错误或已过期" in wrong.text
    assert "HX-Redirect" not in wrong.headers  # the message stays on the sign-in form
    ok = await c.post(
        "/m/login",
        data={"phone": phone, "code": right, "next": "//evil.example/", "accept": "yes"},
        headers=HX,
    )
    assert ok.headers["HX-Redirect"] == "/m/"  # never off-site
    home = await c.get("/m/", follow_redirects=False)
    assert home.headers["location"] == "/m/card"
    card = await c.get("/m/card")
    number = next(x for x in demo["cards"] if x["member_no"] == demo["members"][0]["member_no"])
    assert " ".join(re.findall(".{4}", number["number"])) in card.text
    assert card.headers["cache-control"] == "no-store"


async def test_codes_csrf_benefits_and_history(
    phone_app: Any, demo: dict[str, Any], settings: Settings
) -> None:
    c = phone_app
    member = demo["members"][1]
    await _sign_in(c, member["phone"])
    codes = await c.get("/m/card/codes")
    assert codes.status_code == 200 and codes.headers["cache-control"] == "no-store"
    body = codes.json()
    assert (
        len(body["codes"]) == 6 and body["refresh_seconds"] == settings.card_token_refresh_seconds
    )
    step = settings.card_token_refresh_seconds * 1000
    validity = settings.card_token_validity_seconds * 1000
    for i, code in enumerate(body["codes"]):
        assert code["svg"].startswith("<svg")
        assert abs(code["starts_in"] - i * step) < 5000
        assert code["refresh_in"] - code["starts_in"] == step
        assert code["expires_in"] - code["starts_in"] == validity

    # A form post without the page's CSRF token is refused; with it, it works.
    no_token = await c.post("/m/leave", data={"reason": "x"}, headers=HX)
    assert no_token.status_code == 403
    card = await c.get("/m/card")
    found = re.search(r'name="csrf-token" content="([^"]+)"', card.text)
    assert found, card.text
    token = found.group(1)
    refused = await c.post("/m/leave", data={"reason": "x"}, headers=HX | {"X-CSRF-Token": token})
    assert refused.status_code == 422 and 'id="e-confirm"' in refused.text  # not confirmed

    before = await c.get("/m/benefits")
    assert "职工观影补贴" in before.text
    found = re.search(r'data-code="YC-CINEMA".*?data-remaining="(\d+)"', before.text, re.S)
    assert found, before.text
    left = int(found.group(1))

    # A shop redeems this member's current code (merchant API).
    text = (await c.get("/api/v1/me/card/token")).json()["text"]
    t = next(t for t in demo["terminals"] if t["category"] == "cinema")
    program = next(p["id"] for p in demo["programs"] if p["code"] == "YC-CINEMA")
    r = await c.post(
        "/api/v1/redemptions",
        json={"code": text, "program_id": program, "amount_fen": 4500, "units": 1},
        headers={"Authorization": f"Bearer {t['key']}", "Idempotency-Key": str(uuid.uuid4())},
    )
    assert r.status_code == 201, r.text
    after = await c.get("/m/benefits")
    now_left = re.search(r'data-code="YC-CINEMA".*?data-remaining="(\d+)"', after.text, re.S)
    assert now_left is not None and int(now_left.group(1)) == left - 1
    history = await c.get("/m/history")
    assert "职工观影补贴" in history.text and t["merchant"] in history.text
    assert "¥45.00" in history.text


async def test_suspended_card_codes_are_a_problem(
    phone_app: Any, demo: dict[str, Any], settings: Settings
) -> None:
    c = phone_app
    member = demo["members"][2]
    await _sign_in(c, member["phone"])
    async with contract_client(create_app(settings)) as officer:
        await login(officer, "admin", "UnionCard-2026")
        mid = (
            await officer.get("/api/v1/members", params={"member_no": member["member_no"]})
        ).json()["items"][0]["id"]
        cid = (await officer.get(f"/api/v1/members/{mid}/cards")).json()["current"]["id"]
        r = await officer.post(
            f"/api/v1/members/{mid}/cards/{cid}/suspend", json={"reason": "挂失"}
        )
        assert r.status_code == 200, r.text
    codes = await c.get("/m/card/codes")
    assert codes.status_code == 403 and codes.json()["code"] == "card_suspended"
    page = await c.get("/m/card")
    assert "会员卡已挂失或暂停使用" in page.text and 'id="qr"' not in page.text
