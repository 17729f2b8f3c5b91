"""The audit log: every staff mutation writes a row; staff read it scoped; PostgreSQL refuses
UPDATE/DELETE on it once the real migrations have run."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from cardsvc.kernel.db import MIGRATIONS_DIR, make_engine, make_sessionmaker
from cardsvc.orgs.models import Org
from tests.support.staff import login

AUDIT = "/api/v1/audit"
ID_NUMBER = "420502199001011238"


@pytest.fixture
async def org_ids(engine: AsyncEngine, demo: dict[str, Any]) -> dict[str, str]:
    from sqlalchemy import select

    async with make_sessionmaker(engine)() as s:
        rows = (await s.execute(select(Org.code, Org.id))).all()
    return {code: str(oid) for code, oid in rows}


async def entries(client: AsyncTestClient, **params: Any) -> dict[str, Any]:
    resp = await client.get(AUDIT, params={"limit": 200, **params})
    assert resp.status_code == 200, resp.text
    return resp.json()


async def test_every_staff_mutation_writes_a_row(
    client: AsyncTestClient, org_ids: dict[str, str]
) -> None:
    await login(client, "yc.admin")
    done: list[tuple[str, str, str]] = []  # (action, target id, request id)

    async def call(action: str, method: str, url: str, body: Any, target: str | None = None) -> Any:
        rid = f"req-{uuid.uuid4().hex[:12]}"
        resp = await client.request(method, url, json=body, headers={"x-request-id": rid})
        assert resp.status_code in (200, 201), resp.text
        assert resp.headers["x-request-id"] == rid
        data = resp.json()
        done.append((action, target or data["id"], rid))
        return data

    org = await call(
        "org.create",
        "POST",
        "/api/v1/orgs",
        {
            "code": "XL-AUDIT",
            "name": "审计测试工会",
            "level": "grassroots",
            "parent_id": org_ids["HB-YC-XL"],
        },
    )
    oid = org["id"]
    await call("org.update", "PATCH", f"/api/v1/orgs/{oid}", {"name": "审计测试工会(更名)"})
    await call("org.move", "PATCH", f"/api/v1/orgs/{oid}", {"parent_id": org_ids["HB-YC-WJG"]})
    member = await call(
        "member.create",
        "POST",
        "/api/v1/members",
        {"name": "张三明", "id_number": ID_NUMBER, "phone": "13812345678", "org_id": oid},
    )
    mid = member["id"]
    await call("member.update", "PATCH", f"/api/v1/members/{mid}", {"job": "装配工"})
    await call(
        "member.status",
        "POST",
        f"/api/v1/members/{mid}/status",
        {"status": "left", "reason": "调离"},
    )
    await call("member.unmask", "POST", f"/api/v1/members/{mid}/identity", None, target=mid)
    await call(
        "staff.create",
        "POST",
        "/api/v1/staff/users",
        {
            "username": "audit.clerk",
            "display_name": "审计测试",
            "password": "Strong-Pass-2026",
            "grants": [{"role": "union_admin", "org_id": oid}],
        },
    )
    await call("org.close", "POST", f"/api/v1/orgs/{oid}/close", {"reason": "测试完毕"})

    for action, target, rid in done:
        page = await entries(client, action=action, target_id=target)
        assert page["total"] == 1, (action, page)
        row = page["items"][0]
        assert row["action"] == action and row["target_id"] == target
        assert row["actor_name"] == "yc.admin" and row["actor_id"]
        assert row["request_id"] == rid
        assert row["source_ip"]
        assert row["at"].endswith(("Z", "+00:00"))
    # Nothing personal is copied into the log.
    everything = await client.get(AUDIT, params={"limit": 200})
    assert ID_NUMBER not in everything.text and "13812345678" not in everything.text

    update = (await entries(client, action="org.update", target_id=oid))["items"][0]
    assert update["summary"]["before"]["name"] == "审计测试工会"
    assert update["summary"]["after"]["name"] == "审计测试工会(更名)"


async def test_refused_mutation_writes_no_row(
    client: AsyncTestClient, org_ids: dict[str, str]
) -> None:
    await login(client, "yc.admin")
    before = (await entries(client, action="org.create"))["total"]
    for body in (
        {
            "code": "XL-JIDIAN",
            "name": "重复编码",
            "level": "grassroots",
            "parent_id": org_ids["HB-YC-XL"],
        },
        {"code": "XL-BAD", "name": "层级错误", "level": "city", "parent_id": org_ids["HB-YC-XL"]},
    ):
        assert (await client.post("/api/v1/orgs", json=body)).status_code in (409, 422)
    assert (await entries(client, action="org.create"))["total"] == before
    members_before = (await entries(client, action="member.create"))["total"]
    bad = {"name": "张三明", "id_number": ID_NUMBER[:-1] + "0", "org_id": org_ids["XL-JIDIAN"]}
    assert (await client.post("/api/v1/members", json=bad)).status_code == 422
    assert (await entries(client, action="member.create"))["total"] == members_before


async def test_filter_and_paginate(client: AsyncTestClient, demo: dict[str, Any]) -> None:
    await login(client, "hb.auditor")
    created = await entries(client, action="member.create", limit=10)
    assert created["total"] == 240  # the demo seed, audited as the system
    assert len(created["items"]) == 10
    assert all(
        e["action"] == "member.create" and e["actor_name"] == "system" for e in created["items"]
    )
    second = await entries(client, action="member.create", limit=10, offset=10)
    assert not {e["id"] for e in created["items"]} & {e["id"] for e in second["items"]}
    # ``action`` is a prefix filter: "org." is every org action, and nothing else.
    orgs = await entries(client, action="org.")
    assert orgs["total"] == 12 and all(e["action"].startswith("org.") for e in orgs["items"])
    assert (await entries(client, action="org.%"))["total"] == 0
    target = created["items"][0]["target_id"]
    assert [e["target_id"] for e in (await entries(client, target_id=target))["items"]] == [target]
    assert (await entries(client, actor="nobody"))["total"] == 0
    # 8 staff.create rows from the seed, plus this auditor's own staff.login.
    staff_rows = (await entries(client, target_type="staff"))["items"]
    assert sorted(e["action"] for e in staff_rows) == ["staff.create"] * 8 + ["staff.login"]
    # Newest first.
    stamps = [e["at"] for e in (await entries(client))["items"]]
    assert stamps == sorted(stamps, reverse=True)


@pytest.mark.parametrize("username", ["xl.admin", "wjg.admin", "yc.benefits", "yc.merchants"])
async def test_roles_without_audit_read_get_403(
    client: AsyncTestClient, demo: dict[str, Any], username: str
) -> None:
    await login(client, username)
    resp = await client.get(AUDIT)
    assert resp.status_code == 403, resp.text
    assert resp.json()["code"] == "forbidden"


async def test_audit_is_scoped_to_the_readers_subtree(
    client: AsyncTestClient, org_ids: dict[str, str]
) -> None:
    await login(client, "admin")
    resp = await client.post(
        "/api/v1/staff/users",
        json={
            "username": "wjg.auditor",
            "display_name": "伍家岗审计",
            "password": "Strong-Pass-2026",
            "grants": [{"role": "auditor", "org_id": org_ids["HB-YC-WJG"]}],
        },
    )
    assert resp.status_code == 201, resp.text
    await login(client, "xl.admin")
    rename = await client.patch(f"/api/v1/orgs/{org_ids['XL-JIDIAN']}", json={"name": "峡江机电"})
    assert rename.status_code == 200

    await login(client, "wjg.auditor", "Strong-Pass-2026")
    mine = await entries(client, action="member.create")
    assert 0 < mine["total"] < 240
    await login(client, "wjg.admin")
    wjg_members = (await client.get("/api/v1/members", params={"limit": 1})).json()["total"]
    assert mine["total"] == wjg_members
    await login(client, "wjg.auditor", "Strong-Pass-2026")
    assert (await entries(client, target_id=org_ids["XL-JIDIAN"]))["total"] == 0
    assert (await entries(client, action="org.update"))["total"] == 0

    await login(client, "hb.auditor")
    seen = await entries(client, action="org.update", target_id=org_ids["XL-JIDIAN"])
    assert seen["total"] == 1 and seen["items"][0]["actor_name"] == "xl.admin"


async def test_root_auditor_sees_system_wide_entries(
    client: AsyncTestClient, demo: dict[str, Any]
) -> None:
    await login(client, "xl.admin")
    await login(client, "hb.auditor")
    logins = await entries(client, action="staff.login")
    assert logins["total"] >= 2
    assert {"xl.admin", "hb.auditor"} <= {e["actor_name"] for e in logins["items"]}


# ----------------------------------------------------------------- PostgreSQL append-only


def _admin_url() -> str:
    url = os.environ["UNIONCARD_TEST_DATABASE_URL"]
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+asyncpg://" + url.split("://", 1)[1]
    return url


@pytest.fixture
def fresh_pg_url() -> Iterator[str]:
    """An empty PostgreSQL database of its own, dropped afterwards."""
    admin = _admin_url()
    name = f"unioncard_audit_{os.getpid()}_{uuid.uuid4().hex[:6]}"

    async def _admin(sql: str) -> None:
        eng = make_engine(admin)
        async with eng.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(sql))
        await eng.dispose()

    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    yield f"{admin.rpartition('/')[0]}/{name}"
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _upgrade(conn: Connection, revision: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, revision)


INSERT = (
    "INSERT INTO audit_entry (id, at, actor_name, action, target_type, summary)"
    " VALUES (:id, now(), 'tester', 'org.create', 'org', '{}')"
)


@pytest.mark.postgres
def test_postgres_refuses_update_and_delete_of_audit_rows(fresh_pg_url: str) -> None:
    async def _run() -> None:
        eng = make_engine(fresh_pg_url)
        try:
            # The trigger comes from the foundation revision (later ones are other work).
            async with eng.begin() as conn:
                await conn.run_sync(_upgrade, "0001_foundation")
            async with eng.begin() as conn:
                await conn.execute(text(INSERT), {"id": uuid.uuid4()})
            for sql in (
                "UPDATE audit_entry SET actor_name = 'forger'",
                "DELETE FROM audit_entry",
            ):
                with pytest.raises(DBAPIError, match="append-only"):
                    async with eng.begin() as conn:
                        await conn.execute(text(sql))
            async with eng.connect() as conn:
                rows = (await conn.execute(text("SELECT actor_name FROM audit_entry"))).all()
            assert [r.actor_name for r in rows] == ["tester"]
            # Append-only, not read-only: inserting still works.
            async with eng.begin() as conn:
                await conn.execute(text(INSERT), {"id": uuid.uuid4()})
        finally:
            await eng.dispose()

    asyncio.run(_run())
