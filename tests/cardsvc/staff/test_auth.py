"""Staff sign-in over HTTP: wrong password, CSRF, logout, session fixation, accounts.

Session tests run with the in-process store and with Redis (the production store), each on
SQLite and PostgreSQL.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import argon2
import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from cardsvc.app import create_app
from cardsvc.kernel.db import make_sessionmaker
from cardsvc.kernel.settings import Settings
from cardsvc.orgs.models import Org
from cardsvc.staff.models import StaffUser
from cardsvc.staff.service import hash_password
from tests.support.contract import contract_client
from tests.support.staff import PASSWORD, login

SESSION = "/api/v1/staff/session"
ME = "/api/v1/staff/me"
COOKIE = "uc_staff"


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def store_settings(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    """The test settings with the in-process session store, or with Redis."""
    if request.param == "redis":
        return dataclasses.replace(settings, redis_url=request.getfixturevalue("redis_url"))
    return settings


@pytest.fixture
async def store_client(
    store_settings: Settings, engine: AsyncEngine, demo: Any
) -> AsyncIterator[AsyncTestClient]:
    """A client on an app whose session store is in-process or Redis."""
    async with contract_client(create_app(store_settings)) as c:
        yield c


def set_cookie(client: AsyncTestClient, value: str) -> None:
    """Replace the session cookie, as a browser holding ``value`` would send it."""
    client.cookies.delete(COOKIE)
    client.cookies.set(COOKIE, value, domain="testserver.local", path="/")


@pytest.fixture
async def org_ids(engine: AsyncEngine, demo: dict[str, Any]) -> dict[str, str]:
    async with make_sessionmaker(engine)() as s:
        rows = (await s.execute(select(Org.code, Org.id))).all()
    return {code: str(oid) for code, oid in rows}


def assert_problem(resp: Any, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert body["code"] == code, body
    assert body["message_zh"] and body["message_en"]
    return body


async def sign_in(client: AsyncTestClient, username: str, password: str) -> Any:
    return await client.post(SESSION, json={"username": username, "password": password})


# ----------------------------------------------------------------- passwords and lock-out


async def test_login_sets_http_only_cookie_and_returns_csrf(
    store_client: AsyncTestClient, engine: AsyncEngine
) -> None:
    resp = await sign_in(store_client, "xl.admin", PASSWORD)
    assert resp.status_code == 200, resp.text
    me = resp.json()
    assert me["username"] == "xl.admin" and len(me["csrf_token"]) >= 20
    assert "member.unmask" in me["permissions"] and "audit.read" not in me["permissions"]
    header = resp.headers["set-cookie"].lower()
    assert f"{COOKIE}=" in header and "httponly" in header and "samesite=lax" in header
    assert "password_hash" not in resp.text
    assert (await store_client.get(ME)).json()["username"] == "xl.admin"
    async with make_sessionmaker(engine)() as s:
        user = await s.scalar(select(StaffUser).where(StaffUser.username == "xl.admin"))
        assert user is not None and user.last_login_at is not None
        assert user.password_hash.startswith("$argon2")


async def test_redis_store_holds_the_session(
    settings: Settings, engine: AsyncEngine, demo: Any, redis_url: str
) -> None:
    """With a Redis URL configured the session lives in Redis, not in the process."""
    app = create_app(dataclasses.replace(settings, redis_url=redis_url))
    async with contract_client(app) as client:
        assert (await sign_in(client, "xl.admin", PASSWORD)).status_code == 200
        token = client.cookies[COOKIE]
        redis = Redis.from_url(redis_url)
        try:
            keys = [k.decode() async for k in redis.scan_iter(match="*")]
            assert any(token in k for k in keys), keys
            # Deleting it in Redis signs the user out: the server trusts only the store.
            for k in keys:
                if token in k:
                    await redis.delete(k)
        finally:
            await redis.aclose()
        assert_problem(await client.get(ME), 401, "unauthorized")


async def test_production_argon2_cost_is_the_default_and_signs_in(
    settings: Settings, engine: AsyncEngine, demo: Any
) -> None:
    """The tests hash at argon2's lowest cost (``TEST_ARGON2``); the defaults, used unless a
    test lowers them, are argon2-cffi's (RFC 9106 low-memory): new hashes are made at that
    cost, and a cheap stored hash is rehashed at it on the next sign-in."""
    defaults = Settings()
    assert (
        defaults.argon2_time_cost,
        defaults.argon2_memory_kib,
        defaults.argon2_parallelism,
    ) == (argon2.DEFAULT_TIME_COST, argon2.DEFAULT_MEMORY_COST, argon2.DEFAULT_PARALLELISM)
    assert (
        argon2.DEFAULT_TIME_COST,
        argon2.DEFAULT_MEMORY_COST,
        argon2.DEFAULT_PARALLELISM,
    ) == (3, 65536, 4)
    production = dataclasses.replace(
        settings,
        argon2_time_cost=defaults.argon2_time_cost,
        argon2_memory_kib=defaults.argon2_memory_kib,
        argon2_parallelism=defaults.argon2_parallelism,
    )
    full_cost = "$argon2id$v=19$m=65536,t=3,p=4$"
    async with contract_client(create_app(production)) as client:
        assert hash_password("long-enough-pw").startswith(full_cost)
        assert (await sign_in(client, "xl.admin", "wrong-password-123")).status_code == 401
        assert (await sign_in(client, "nobody.here", PASSWORD)).status_code == 401
        assert (await sign_in(client, "xl.admin", PASSWORD)).status_code == 200
    async with make_sessionmaker(engine)() as s:
        user = await s.scalar(select(StaffUser).where(StaffUser.username == "xl.admin"))
        assert user is not None and user.password_hash.startswith(full_cost)
    async with contract_client(create_app(production)) as client:
        assert (await sign_in(client, "xl.admin", PASSWORD)).status_code == 200


@pytest.mark.parametrize("username", ["xl.admin", "nobody.here"])
async def test_wrong_password_or_unknown_user_is_401(
    client: AsyncTestClient, demo: Any, username: str
) -> None:
    resp = await sign_in(client, username, "wrong-password-123")
    assert_problem(resp, 401, "invalid_credentials")
    assert COOKIE not in client.cookies
    assert_problem(await client.get(ME), 401, "unauthorized")


async def test_missing_credentials_are_a_validation_error(client: AsyncTestClient) -> None:
    resp = await client.post(SESSION, json={"username": "admin"})
    assert 400 <= resp.status_code < 500
    assert resp.json()["code"] == "validation_error"
    assert resp.json()["errors"][0]["field"] == "password"


async def test_failed_sign_ins_do_not_lock_the_account(client: AsyncTestClient, demo: Any) -> None:
    for _ in range(4):
        await sign_in(client, "xl.admin", "wrong-password-123")
    assert (await sign_in(client, "xl.admin", PASSWORD)).status_code == 200


# ----------------------------------------------------------------- CSRF


async def test_cookie_mutation_needs_the_csrf_token(
    store_client: AsyncTestClient, org_ids: dict[str, str]
) -> None:
    csrf = await login(store_client, "xl.admin")
    url = f"/api/v1/orgs/{org_ids['XL-JIDIAN']}"
    create = {
        "code": "XL-CSRF",
        "name": "跨站请求测试工会",
        "level": "grassroots",
        "parent_id": org_ids["HB-YC-XL"],
    }

    for header in (None, "", "forged-token", csrf[:-1]):
        if header is None:
            store_client.headers.pop("x-csrf-token", None)
        else:
            store_client.headers["x-csrf-token"] = header
        assert_problem(await store_client.patch(url, json={"name": "被篡改"}), 403, "csrf_failed")
        assert_problem(await store_client.post("/api/v1/orgs", json=create), 403, "csrf_failed")
        # Reads need no token.
        assert (await store_client.get(url)).status_code == 200

    store_client.headers["x-csrf-token"] = csrf
    assert (await store_client.get(url)).json()["name"] != "被篡改"
    assert (await store_client.patch(url, json={"name": "峡江机电工会"})).status_code == 200


async def test_csrf_token_of_another_session_is_refused(
    store_client: AsyncTestClient, org_ids: dict[str, str]
) -> None:
    """A token is bound to its session: one stolen from another sign-in does not work."""
    other = await login(store_client, "wjg.admin")
    mine = await login(store_client, "xl.admin")
    assert other != mine
    store_client.headers["x-csrf-token"] = other
    resp = await store_client.patch(f"/api/v1/orgs/{org_ids['XL-JIDIAN']}", json={"name": "被篡改"})
    assert_problem(resp, 403, "csrf_failed")


# ----------------------------------------------------------------- logout and fixation


async def test_logout_invalidates_the_session(store_client: AsyncTestClient) -> None:
    await login(store_client, "xl.admin")
    token = store_client.cookies[COOKIE]
    assert (await store_client.get(ME)).status_code == 200
    resp = await store_client.delete(SESSION)
    assert resp.status_code == 204
    assert_problem(await store_client.get(ME), 401, "unauthorized")
    # Replaying the old cookie (e.g. copied before logout) does not work either.
    set_cookie(store_client, token)
    assert_problem(await store_client.get(ME), 401, "unauthorized")


async def test_planted_cookie_is_not_promoted_on_login(store_client: AsyncTestClient) -> None:
    planted = "attacker-chosen-session-token-0123456789"
    set_cookie(store_client, planted)
    assert_problem(await store_client.get(ME), 401, "unauthorized")
    await login(store_client, "xl.admin")
    fresh = store_client.cookies[COOKIE]
    assert fresh != planted
    set_cookie(store_client, planted)
    assert_problem(await store_client.get(ME), 401, "unauthorized")
    # Control: the same way of sending a cookie works with the real token.
    set_cookie(store_client, fresh)
    assert (await store_client.get(ME)).json()["username"] == "xl.admin"


async def test_existing_session_is_replaced_on_login(store_client: AsyncTestClient) -> None:
    """An attacker's own valid session, planted in a victim's browser, ends at the victim's
    sign-in; the victim gets a new token the attacker does not know."""
    await login(store_client, "wjg.admin")
    attacker = store_client.cookies[COOKIE]
    await login(store_client, "xl.admin")
    victim = store_client.cookies[COOKIE]
    assert victim != attacker
    assert (await store_client.get(ME)).json()["username"] == "xl.admin"
    set_cookie(store_client, attacker)
    assert_problem(await store_client.get(ME), 401, "unauthorized")
    set_cookie(store_client, victim)
    assert (await store_client.get(ME)).json()["username"] == "xl.admin"


async def test_forged_or_oversized_cookie_is_401(client: AsyncTestClient, demo: Any) -> None:
    for value in ("x", "a" * 500, "{}"):
        set_cookie(client, value)
        assert_problem(await client.get("/api/v1/members"), 401, "unauthorized")


# ----------------------------------------------------------------- staff accounts


def new_staff(username: str, role: str, org_id: str, password: str = "Strong-Pass-2026") -> dict:
    return {
        "username": username,
        "display_name": "测试账号",
        "password": password,
        "grants": [{"role": role, "org_id": org_id}],
    }


async def test_union_admin_creates_staff_in_subtree(
    client: AsyncTestClient, org_ids: dict[str, str]
) -> None:
    await login(client, "xl.admin")
    resp = await client.post(
        "/api/v1/staff/users", json=new_staff("xl.hospital", "union_admin", org_ids["XL-HOSPITAL"])
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["grants"][0]["org_id"] == org_ids["XL-HOSPITAL"]
    assert "password" not in resp.text.lower().replace("password_", "")
    usernames = [u["username"] for u in (await client.get("/api/v1/staff/users")).json()]
    assert "xl.hospital" in usernames and "xl.jidian" in usernames
    assert "wjg.admin" not in usernames and "admin" not in usernames

    # The new account works, and only in its union.
    await login(client, "xl.hospital", "Strong-Pass-2026")
    assert (await client.get(f"/api/v1/orgs/{org_ids['XL-HOSPITAL']}")).status_code == 200
    assert (await client.get(f"/api/v1/orgs/{org_ids['XL-JIDIAN']}")).status_code == 404


async def test_union_admin_cannot_grant_federation_admin(
    client: AsyncTestClient, engine: AsyncEngine, org_ids: dict[str, str]
) -> None:
    await login(client, "xl.admin")
    resp = await client.post(
        "/api/v1/staff/users", json=new_staff("xl.boss", "federation_admin", org_ids["HB-YC-XL"])
    )
    body = assert_problem(resp, 422, "validation_error")
    assert body["errors"][0]["field"] == "grants"
    async with make_sessionmaker(engine)() as s:
        assert await s.scalar(select(StaffUser.id).where(StaffUser.username == "xl.boss")) is None


async def test_staff_creation_is_scoped(
    client: AsyncTestClient, engine: AsyncEngine, org_ids: dict[str, str]
) -> None:
    await login(client, "xl.admin")
    for org in ("WJG-SCHOOL", "HB-YC-WJG", "HB-YC"):
        resp = await client.post(
            "/api/v1/staff/users", json=new_staff("xl.sneak", "union_admin", org_ids[org])
        )
        assert_problem(resp, 404, "org_not_found")
    # A role that may not manage staff cannot create accounts even inside its subtree.
    await login(client, "yc.benefits")
    resp = await client.post(
        "/api/v1/staff/users", json=new_staff("yc.sneak", "union_admin", org_ids["HB-YC-XL"])
    )
    assert resp.status_code in (403, 404), resp.text
    async with make_sessionmaker(engine)() as s:
        names = set(await s.scalars(select(StaffUser.username)))
    assert not {"xl.sneak", "yc.sneak"} & names


@pytest.mark.parametrize(
    ("changes", "status", "code", "field"),
    [
        ({"password": "short"}, 422, "validation_error", "password"),
        ({"username": "has space"}, 422, "validation_error", "username"),
        ({"grants": []}, 422, "validation_error", "grants"),
        ({"username": "xl.jidian"}, 409, "username_taken", None),
    ],
)
async def test_bad_staff_account_is_refused(
    client: AsyncTestClient,
    org_ids: dict[str, str],
    changes: dict[str, Any],
    status: int,
    code: str,
    field: str | None,
) -> None:
    await login(client, "xl.admin")
    body = {**new_staff("xl.new", "union_admin", org_ids["XL-HOSPITAL"]), **changes}
    problem = assert_problem(await client.post("/api/v1/staff/users", json=body), status, code)
    if field:
        assert problem["errors"][0]["field"] == field
