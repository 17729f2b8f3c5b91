"""The card API through HTTP, as members, staff and offline terminals use it.

Each test runs on a private copy of the demo federation (SQLite and PostgreSQL). A member's
phone is its own app instance on the same database (one app cannot serve two test clients).
Offline checks use only what the app publishes: the JWKS and the signed status list.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from cardsvc.app import create_app
from cardsvc.cards import render
from cardsvc.cards.errors import CardError, TokenError
from cardsvc.cards.jwks import parse_jwks
from cardsvc.cards.keys import rotate_key
from cardsvc.cards.published import Published, PublishedCache
from cardsvc.cards.statuslist import parse_status_list
from cardsvc.cards.token import TEXT_LEN, Kind, parse
from cardsvc.cards.verify import verify
from cardsvc.kernel.db import make_sessionmaker
from cardsvc.kernel.pii import PiiCipher
from cardsvc.kernel.settings import Settings
from cardsvc.memberauth.senders import RecordingSender
from tests.conftest import make_test_settings
from tests.support.apps import app_for
from tests.support.contract import contract_client
from tests.support.staff import login

JWKS = "/.well-known/jwks.json"
REVOCATIONS = "/api/v1/cards/revocations"
ME_CARD = "/api/v1/me/card"


@pytest.fixture
def settings(db_url: str, var_dir: Path) -> Settings:
    return make_test_settings(db_url, var_dir)


@pytest.fixture
async def client(settings: Settings, engine: AsyncEngine) -> AsyncIterator[AsyncTestClient]:
    async with contract_client(app_for(settings)) as c:
        yield c


@pytest.fixture
async def stack() -> AsyncIterator[AsyncExitStack]:
    async with AsyncExitStack() as st:
        yield st


@asynccontextmanager
async def member_client(settings: Settings, phone: str) -> AsyncIterator[AsyncTestClient]:
    """A member's phone, signed in with a one-time code."""
    app: Litestar = create_app(settings)
    sender = RecordingSender()
    app.state.sender = sender
    async with contract_client(app) as c:
        assert (await c.post("/api/v1/me/otp", json={"phone": phone})).status_code == 202
        found = re.search(r"验证码 (\d{6})", sender.sent[-1][1])
        assert found, sender.sent[-1][1]
        code = found.group(1)
        resp = await c.post("/api/v1/me/session", json={"phone": phone, "code": code})
        assert resp.status_code == 200, resp.text
        c.headers["x-csrf-token"] = resp.json()["csrf_token"]
        yield c


def problem(resp: Any, status: int, code: str) -> None:
    assert resp.status_code == status, resp.text
    assert resp.json()["code"] == code, resp.text


async def material(client: AsyncTestClient) -> tuple[str, str]:
    """What a terminal downloads: the JWKS and the signed status list (no sign-in)."""
    jwks = await client.get(JWKS)
    sl = await client.get(REVOCATIONS)
    assert jwks.status_code == 200 and sl.status_code == 200, (jwks.text, sl.text)
    return jwks.text, sl.text


def offline(text: str, jwks: str, sl: str, now: datetime | None = None) -> str | int:
    """Verify like a terminal; the card generation, or the error code."""
    try:
        return verify(text, jwks, sl, now or datetime.now(UTC)).generation
    except (TokenError, CardError) as exc:
        return exc.code


async def member_id(client: AsyncTestClient, member_no: str) -> str:
    page = (await client.get("/api/v1/members", params={"member_no": member_no})).json()
    assert page["total"] == 1, page
    return str(page["items"][0]["id"])


async def current_card_id(client: AsyncTestClient, mid: str) -> str:
    body = (await client.get(f"/api/v1/members/{mid}/cards")).json()
    return str(body["current"]["id"])


def xl_card(demo: dict[str, Any]) -> dict[str, Any]:
    """A demo card whose member belongs to a union in 西陵区 (XL)."""
    unions = {m["member_no"]: m["union"] for m in demo["members"]}
    return next(c for c in demo["cards"] if unions.get(c["member_no"], "").startswith("XL-"))


async def audit_actions(client: AsyncTestClient, target_id: str) -> list[str]:
    await login(client, "admin")
    page = (await client.get("/api/v1/audit", params={"target_id": target_id})).json()
    return [e["action"] for e in page["items"]]


# --- member -----------------------------------------------------------------------------------


async def test_member_card_token_and_qr_verify_offline(
    stack: AsyncExitStack, settings: Settings, client: AsyncTestClient, demo: dict[str, Any]
) -> None:
    assert len(demo["cards"]) >= 10 and all(c["phone"] for c in demo["cards"])
    sample = demo["cards"][0]
    phone = await stack.enter_async_context(member_client(settings, sample["phone"]))

    card = (await phone.get(ME_CARD)).json()
    assert card["number"] == sample["number"] and card["member_no"] == sample["member_no"]
    assert card["status"] == "active" and card["generation"] == 1 and card["union_name"]
    assert card["number_masked"].endswith(sample["number"][-4:]) and "*" in card["number_masked"]

    resp = await phone.get(f"{ME_CARD}/token")
    assert resp.status_code == 200 and resp.headers["cache-control"] == "no-store"
    tok = resp.json()
    assert len(tok["text"]) == TEXT_LEN and re.fullmatch(r"UC1[A-Z2-7]+", tok["text"])
    nbf, exp = datetime.fromisoformat(tok["not_before"]), datetime.fromisoformat(tok["expires_at"])
    assert (exp - nbf, datetime.fromisoformat(tok["refresh_at"]) - nbf) == (
        timedelta(seconds=60),
        timedelta(seconds=30),
    )
    assert tok["kind"] == "rotating"

    jwks, sl = await material(client)
    assert offline(tok["text"], jwks, sl) == 1

    # The QR image carries a fresh token that decodes back exactly and verifies.
    png = await phone.get(f"{ME_CARD}/qr.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    scanned = render.read_qr(png.content)
    assert scanned != tok["text"] and offline(scanned, jwks, sl) == 1
    assert render.qr_version(scanned, ecc="M") <= 6
    expires = datetime.fromisoformat(png.headers["x-token-expires-at"])
    assert parse(scanned)[0].expires_at == expires
    svg = await phone.get(f"{ME_CARD}/qr.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml") and "<svg" in svg.text

    # A batch for offline display: staggered by the refresh period, each one verifying.
    batch = (await phone.get(f"{ME_CARD}/tokens", params={"count": 5})).json()
    starts = [datetime.fromisoformat(t["not_before"]) for t in batch["tokens"]]
    assert [s - starts[0] for s in starts] == [timedelta(seconds=30 * i) for i in range(5)]
    assert batch["valid_until"] == batch["tokens"][-1]["expires_at"]
    later = starts[4] + timedelta(seconds=10)
    assert offline(batch["tokens"][4]["text"], jwks, sl, later) == 1
    assert offline(batch["tokens"][0]["text"], jwks, sl, later) == "token_expired"
    assert len({t["text"] for t in batch["tokens"]}) == 5
    for bad in (0, 21, "x"):
        resp = await phone.get(f"{ME_CARD}/tokens", params={"count": bad})
        assert resp.status_code == 400, resp.text


async def test_card_endpoints_need_a_signed_in_member(client: AsyncTestClient, demo: Any) -> None:
    for path in ("", "/token", "/tokens", "/qr.png", "/qr.svg"):
        problem(await client.get(ME_CARD + path), 401, "unauthorized")


async def test_member_without_card_then_activated(
    stack: AsyncExitStack, settings: Settings, client: AsyncTestClient, demo: Any
) -> None:
    await login(client, "admin")
    pending = (await client.get("/api/v1/members", params={"status": "pending"})).json()
    target = next(m for m in pending["items"] if m["phone_masked"])
    ident = (await client.post(f"/api/v1/members/{target['id']}/identity")).json()
    phone = await stack.enter_async_context(member_client(settings, ident["phone"]))
    problem(await phone.get(ME_CARD), 404, "card_not_found")
    problem(await phone.get(f"{ME_CARD}/token"), 404, "card_not_found")

    # Approving the membership issues the card (the card follows the member).
    resp = await client.post(
        f"/api/v1/members/{target['id']}/status", json={"status": "active", "reason": "审核通过"}
    )
    assert resp.status_code == 200, resp.text
    card = (await phone.get(ME_CARD)).json()
    assert card["status"] == "active" and card["generation"] == 1
    assert (await phone.get(f"{ME_CARD}/qr.png")).status_code == 200


# --- revocation, suspension, reissue -------------------------------------------------------


async def test_revoked_card_is_refused_offline_once_the_list_is_refreshed(
    stack: AsyncExitStack, settings: Settings, client: AsyncTestClient, demo: Any
) -> None:
    sample = xl_card(demo)
    phone = await stack.enter_async_context(member_client(settings, sample["phone"]))
    text = (await phone.get(f"{ME_CARD}/token")).json()["text"]
    jwks, old_list = await material(client)  # also primes the app's cached list
    assert offline(text, jwks, old_list) == 1

    await login(client, "xl.admin")
    mid = await member_id(client, sample["member_no"])
    cid = await current_card_id(client, mid)
    problem(
        await client.post(f"/api/v1/members/{mid}/cards/{cid}/revoke", json={}),
        400,
        "validation_error",
    )
    blank = await client.post(f"/api/v1/members/{mid}/cards/{cid}/revoke", json={"reason": "  "})
    problem(blank, 422, "validation_error")
    resp = await client.post(
        f"/api/v1/members/{mid}/cards/{cid}/revoke", json={"reason": "违规转借"}
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "revoked" and resp.json()["status_reason"] == "违规转借"

    # A terminal with the old list still accepts (it knows how old its list is) …
    assert offline(text, jwks, old_list) == 1
    # … and refuses once it has fetched the new one.
    _, new_list = await material(client)
    assert new_list != old_list
    assert offline(text, jwks, new_list) == "card_revoked"

    problem(await phone.get(f"{ME_CARD}/token"), 403, "card_revoked")
    problem(await phone.get(f"{ME_CARD}/qr.png"), 403, "card_revoked")
    problem(await phone.get(ME_CARD), 403, "card_revoked")
    again = await client.post(f"/api/v1/members/{mid}/cards/{cid}/revoke", json={"reason": "x"})
    problem(again, 409, "card_state_conflict")

    # The member is still active: staff issue a new card; a second one is refused.
    issued = await client.post(f"/api/v1/members/{mid}/cards", json={"reason": "重新发卡"})
    assert issued.status_code == 201, issued.text
    assert issued.json()["generation"] == 2 and issued.json()["number"] != sample["number"]
    problem(await client.post(f"/api/v1/members/{mid}/cards"), 409, "card_exists")
    new_text = (await phone.get(f"{ME_CARD}/token")).json()["text"]
    jwks, sl = await material(client)
    assert offline(new_text, jwks, sl) == 2

    assert {"card.revoke", "card.issue"} <= set(await audit_actions(client, cid)) | set(
        await audit_actions(client, issued.json()["id"])
    )


async def test_reissue_rejects_the_old_generation(
    stack: AsyncExitStack, settings: Settings, client: AsyncTestClient, demo: Any
) -> None:
    sample = xl_card(demo)
    phone = await stack.enter_async_context(member_client(settings, sample["phone"]))
    old_text = (await phone.get(f"{ME_CARD}/token")).json()["text"]

    await login(client, "xl.admin")
    mid = await member_id(client, sample["member_no"])
    problem(
        await client.post(f"/api/v1/members/{mid}/cards/reissue", json={}), 400, "validation_error"
    )
    resp = await client.post(f"/api/v1/members/{mid}/cards/reissue", json={"reason": "手机丢失"})
    assert resp.status_code == 201, resp.text
    new = resp.json()
    assert new["generation"] == 2 and new["number"] != sample["number"] and new["previous_id"]

    jwks, sl = await material(client)
    assert offline(old_text, jwks, sl) == "card_revoked"
    mine = (await phone.get(ME_CARD)).json()
    assert (mine["number"], mine["generation"]) == (new["number"], 2)
    new_text = (await phone.get(f"{ME_CARD}/token")).json()["text"]
    assert offline(new_text, jwks, sl) == 2

    cards = (await client.get(f"/api/v1/members/{mid}/cards")).json()
    assert [c["generation"] for c in cards["cards"]] == [1, 2]
    assert cards["current"]["id"] == new["id"] and cards["cards"][0]["status"] == "revoked"
    kinds = [e["kind"] for e in cards["history"]]
    assert kinds[-2:] == ["revoked", "reissued"] and cards["history"][-1]["actor"] == "xl.admin"
    assert cards["history"][-1]["reason"] == "手机丢失"
    assert "card.reissue" in await audit_actions(client, new["id"])


async def test_suspend_and_resume(
    stack: AsyncExitStack, settings: Settings, client: AsyncTestClient, demo: Any
) -> None:
    sample = xl_card(demo)
    phone = await stack.enter_async_context(member_client(settings, sample["phone"]))
    text = (await phone.get(f"{ME_CARD}/token")).json()["text"]
    await login(client, "xl.admin")
    mid = await member_id(client, sample["member_no"])
    cid = await current_card_id(client, mid)
    base = f"/api/v1/members/{mid}/cards/{cid}"

    resp = await client.post(f"{base}/suspend", json={"reason": "实体卡遗失"})
    assert resp.status_code == 200 and resp.json()["status"] == "suspended", resp.text
    jwks, sl = await material(client)
    assert offline(text, jwks, sl) == "card_revoked"  # offline: one bit, "do not accept"
    problem(await phone.get(f"{ME_CARD}/token"), 403, "card_suspended")
    assert (await phone.get(ME_CARD)).json()["status"] == "suspended"  # still shown, with why
    problem(await client.post(f"{base}/suspend", json={"reason": "x"}), 409, "card_state_conflict")

    assert (await client.post(f"{base}/resume", json={"reason": "已找回"})).status_code == 200
    jwks, sl = await material(client)
    assert offline(text, jwks, sl) == 1  # the same token works again
    assert (await phone.get(f"{ME_CARD}/token")).status_code == 200
    assert {"card.suspend", "card.resume"} <= set(await audit_actions(client, cid))

    # A card of another member through this member's URL: not found.
    other = await member_id(client, demo["cards"][-1]["member_no"])
    if other != mid:
        resp = await client.post(
            f"/api/v1/members/{other}/cards/{cid}/suspend", json={"reason": "x"}
        )
        problem(resp, 404, "card_not_found")
    problem(
        await client.post(
            f"/api/v1/members/{mid}/cards/{uuid.uuid4()}/resume", json={"reason": "x"}
        ),
        404,
        "card_not_found",
    )


# --- staff scope, static token, printable card --------------------------------------------


async def test_staff_scope(client: AsyncTestClient, demo: Any) -> None:
    sample = xl_card(demo)
    await login(client, "admin")
    mid = await member_id(client, sample["member_no"])
    cid = await current_card_id(client, mid)

    # Another district's union admin: the member does not exist for them.
    await login(client, "wjg.admin")
    problem(await client.get(f"/api/v1/members/{mid}/cards"), 404, "member_not_found")
    for action in ("suspend", "revoke"):
        resp = await client.post(
            f"/api/v1/members/{mid}/cards/{cid}/{action}", json={"reason": "x"}
        )
        problem(resp, 404, "member_not_found")
    problem(
        await client.post(f"/api/v1/members/{mid}/cards/{cid}/printable"), 404, "member_not_found"
    )

    # The auditor sees everything and changes nothing.
    await login(client, "hb.auditor")
    body = (await client.get(f"/api/v1/members/{mid}/cards")).json()
    assert body["current"]["id"] == cid and body["history"][0]["kind"] == "issued"
    for path, payload in (
        (f"{cid}/suspend", {"reason": "x"}),
        (f"{cid}/revoke", {"reason": "x"}),
        ("reissue", {"reason": "x"}),
        (f"{cid}/static-token", None),
        (f"{cid}/printable", None),
    ):
        resp = await client.post(f"/api/v1/members/{mid}/cards/{path}", json=payload)
        problem(resp, 403, "forbidden")
    # A merchant manager has no member access at all.
    await login(client, "yc.merchants")
    problem(await client.get(f"/api/v1/members/{mid}/cards"), 404, "member_not_found")
    # Not signed in.
    client.cookies.clear()
    problem(await client.get(f"/api/v1/members/{mid}/cards"), 401, "unauthorized")


async def test_static_token_and_printable_card(client: AsyncTestClient, demo: Any) -> None:
    sample = xl_card(demo)
    await login(client, "xl.admin")
    mid = await member_id(client, sample["member_no"])
    cid = await current_card_id(client, mid)

    resp = await client.post(f"/api/v1/members/{mid}/cards/{cid}/static-token")
    assert resp.status_code == 200 and resp.headers["cache-control"] == "no-store", resp.text
    static = resp.json()
    assert static["kind"] == "static" and static["card_number"] == sample["number"]
    expires = datetime.fromisoformat(static["expires_at"])
    assert expires - datetime.fromisoformat(static["not_before"]) == timedelta(days=3 * 365)
    jwks, sl = await material(client)
    assert offline(static["text"], jwks, sl) == 1
    assert parse(static["text"])[0].kind is Kind.static

    printed = await client.post(f"/api/v1/members/{mid}/cards/{cid}/printable")
    assert printed.status_code == 200, printed.text
    assert printed.headers["content-type"] == "image/png"
    assert sample["number"] in printed.headers["content-disposition"]
    on_card = render.read_qr(printed.content)
    claims = verify(on_card, jwks, sl, datetime.now(UTC))
    assert claims.kind is Kind.static and on_card != static["text"]

    assert {"card.static_token", "card.print"} <= set(await audit_actions(client, cid))


async def test_printable_card_without_a_cjk_font_is_a_clear_error(
    settings: Settings, engine: AsyncEngine, demo: Any
) -> None:
    latin = replace(settings, cjk_font="/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    async with contract_client(create_app(latin)) as client:
        sample = xl_card(demo)
        await login(client, "xl.admin")
        mid = await member_id(client, sample["member_no"])
        cid = await current_card_id(client, mid)
        resp = await client.post(f"/api/v1/members/{mid}/cards/{cid}/printable")
        problem(resp, 500, "cjk_font_missing")
        assert "fonts-wqy-microhei" in resp.json()["message_en"]


# --- public verification material ------------------------------------------------------------


async def test_jwks_is_cacheable_with_etag(
    settings: Settings, engine: AsyncEngine, demo: Any
) -> None:
    fresh = replace(settings, card_publish_cache_seconds=0)  # see the rotation at once
    async with contract_client(create_app(fresh)) as client:
        resp = await client.get(JWKS)
        assert resp.status_code == 200 and "max-age" in resp.headers["cache-control"]
        etag = resp.headers["etag"]
        keys = resp.json()["keys"]
        assert [(k["kty"], k["crv"], k["status"]) for k in keys] == [("OKP", "Ed25519", "active")]

        same = await client.get(JWKS, headers={"If-None-Match": etag})
        assert same.status_code == 304 and same.content == b"" and same.headers["etag"] == etag
        assert (await client.get(JWKS, headers={"If-None-Match": f"W/{etag}"})).status_code == 304
        other = await client.get(JWKS, headers={"If-None-Match": '"something-else"'})
        assert other.status_code == 200 and other.json() == resp.json()

        async with make_sessionmaker(engine)() as s, s.begin():
            await rotate_key(s, PiiCipher.from_settings(settings))
        rotated = await client.get(JWKS, headers={"If-None-Match": etag})
        assert rotated.status_code == 200 and rotated.headers["etag"] != etag
        assert sorted(k["status"] for k in rotated.json()["keys"]) == ["active", "retiring"]


async def test_revocation_list_is_signed_timed_and_cached(
    client: AsyncTestClient, demo: Any
) -> None:
    resp = await client.get(REVOCATIONS)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("application/statuslist+jwt")
    assert resp.headers["last-modified"].endswith("GMT") and resp.headers["etag"]
    jwks = (await client.get(JWKS)).text
    sl = parse_status_list(resp.text, parse_jwks(jwks))
    assert abs(sl.age_seconds(datetime.now(UTC))) < 120 and sl.ttl == 300
    assert sl.expires_at == sl.issued_at + 86400 and sl.subject and sl.subject.endswith(REVOCATIONS)
    assert sl.size >= len(demo["cards"])  # one bit per card index
    # A flood of terminals within the cache period gets the same signed list (no rebuild) …
    again = await client.get(REVOCATIONS)
    assert again.text == resp.text
    # … and a terminal that already has it is told so without a body.
    not_modified = await client.get(REVOCATIONS, headers={"If-None-Match": resp.headers["etag"]})
    assert not_modified.status_code == 304 and not_modified.content == b""


async def test_published_cache_builds_once_per_period() -> None:
    """Concurrent misses share one build; invalidate and the period force a new one."""
    clock = [0.0]
    builds = 0

    async def build() -> Published:
        nonlocal builds
        builds += 1
        await asyncio.sleep(0.01)  # the database round trip: others arrive meanwhile
        return Published(str(builds).encode(), f'"{builds}"')

    cache = PublishedCache(5, clock=lambda: clock[0])
    docs = await asyncio.gather(*(cache.get("sl", build) for _ in range(50)))
    assert builds == 1 and {d.body for d in docs} == {b"1"}
    clock[0] = 4.9
    assert (await cache.get("sl", build)).body == b"1"
    clock[0] = 5.0
    assert (await cache.get("sl", build)).body == b"2"
    cache.invalidate()
    assert (await cache.get("sl", build)).body == b"3"
    never = PublishedCache(0)
    assert (await never.get("sl", build)).body != (await never.get("sl", build)).body
