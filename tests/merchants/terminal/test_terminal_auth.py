"""Terminal keys: shown once, stored hashed, revocable, rotatable; the auth dependency."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from cardsvc.kernel.audit import AuditEntry
from cardsvc.kernel.db import make_sessionmaker
from merchants.config import MerchantConfig
from merchants.models import TerminalKey
from merchants.terminal.auth import GATE_STATE_KEY, TerminalGate
from tests.merchants.conftest import bearer, login, onboard, org_id

Client = AsyncTestClient[Litestar]


async def _setup(client: Client, engine: AsyncEngine) -> dict[str, Any]:
    await login(client, "yc.merchants")
    return await onboard(client, await org_id(engine, "HB-YC-XL"))


async def test_key_is_shown_once_and_stored_hashed(
    client: Client, engine: AsyncEngine, demo: dict[str, Any]
) -> None:
    made = await _setup(client, engine)
    key: str = made["key"]
    prefix = made["terminal"]["keys"][0]["prefix"]
    assert key.startswith(prefix + "_") and prefix.startswith("uck_") and len(prefix) == 12
    assert made["response"].headers["cache-control"] == "no-store"

    # Nothing shows the key again.
    tid = made["terminal"]["id"]
    for path in (f"/api/v1/terminals/{tid}", f"/api/v1/stores/{made['store']['id']}/terminals"):
        r = await client.get(path)
        assert r.status_code == 200 and key not in r.text and key[13:] not in r.text
        assert prefix in r.text

    async with make_sessionmaker(engine)() as session:
        # The raw row: the prefix and the SHA-256 of the whole key, nothing else of it.
        table = TerminalKey.__table__
        raw = (await session.execute(select(table).where(table.c.prefix == prefix))).one()
        assert raw.secret_hash == hashlib.sha256(key.encode()).hexdigest()
        assert not any(key[13:] in str(v) for v in raw)
        audit = (await session.scalars(select(AuditEntry))).all()
        assert not any(key[13:] in str(a.summary) for a in audit)

    r = await client.get("/api/v1/terminal", headers=bearer(key))
    assert r.status_code == 200, r.text
    me = r.json()
    assert me["merchant_id"] == made["merchant"]["id"]
    assert me["store_id"] == made["store"]["id"] and me["terminal_id"] == tid
    assert me["category"] == "dining" and me["region"] == "420502"
    assert me["key_prefix"] == prefix

    async with make_sessionmaker(engine)() as session:
        row = await session.scalar(select(TerminalKey).where(TerminalKey.prefix == prefix))
        assert row is not None and row.last_used_at is not None


async def test_bad_credentials_are_401(
    client: Client, engine: AsyncEngine, demo: dict[str, Any]
) -> None:
    made = await _setup(client, engine)
    key: str = made["key"]
    wrong_secret = key[:-1] + ("A" if key[-1] != "A" else "B")
    unknown = "uck_00000000_" + key[13:]
    cases: list[dict[str, str]] = [
        {},
        {"Authorization": key},  # no scheme
        {"Authorization": "Basic " + key},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer not-a-key"},
        {"Authorization": "Bearer " + key + "x"},
        bearer(wrong_secret),
        bearer(unknown),
    ]
    for headers in cases:
        r = await client.get("/api/v1/terminal", headers=headers)
        assert r.status_code == 401, (headers, r.text)
        problem = r.json()
        assert problem["code"] == "unauthorized"
        assert problem["message_zh"] and problem["message_en"]
        assert r.headers["www-authenticate"].startswith("Bearer")
        assert r.headers["content-type"].startswith("application/problem+json")
    # A staff session is no terminal credential.
    assert (await client.get("/api/v1/terminal")).status_code == 401


async def test_revoked_key_is_401(
    client: Client, engine: AsyncEngine, demo: dict[str, Any]
) -> None:
    made = await _setup(client, engine)
    key, tid = made["key"], made["terminal"]["id"]
    kid = made["terminal"]["keys"][0]["id"]
    assert (await client.get("/api/v1/terminal", headers=bearer(key))).status_code == 200
    r = await client.post(f"/api/v1/terminals/{tid}/keys/{kid}/revoke", json={"reason": "丢失"})
    assert r.status_code == 200, r.text
    assert r.json()["keys"][0]["active"] is False
    # The worker that revoked forgets its cached lookup at once.
    r = await client.get("/api/v1/terminal", headers=bearer(key))
    assert r.status_code == 401 and r.json()["code"] == "unauthorized"
    r = await client.post(f"/api/v1/terminals/{tid}/keys/{kid}/revoke", json={})
    assert r.status_code == 409 and r.json()["code"] == "key_revoked"


async def test_other_workers_stop_accepting_a_revoked_key_within_the_cache_ttl(
    app: Litestar, client: Client, engine: AsyncEngine, demo: dict[str, Any]
) -> None:
    clock = [1000.0]
    app.state[GATE_STATE_KEY] = TerminalGate(
        MerchantConfig(auth_cache_seconds=5), monotonic=lambda: clock[0]
    )
    made = await _setup(client, engine)
    key = made["key"]
    assert (await client.get("/api/v1/terminal", headers=bearer(key))).status_code == 200
    # Revoked by another worker: this one's cache does not know yet.
    async with make_sessionmaker(engine)() as session, session.begin():
        await session.execute(
            update(TerminalKey).values(revoked_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    clock[0] += 4
    assert (await client.get("/api/v1/terminal", headers=bearer(key))).status_code == 200
    clock[0] += 1.5  # past the TTL
    assert (await client.get("/api/v1/terminal", headers=bearer(key))).status_code == 401
    # The cache holds the hash, not a verdict: a wrong secret with a cached prefix still fails.
    wrong = key[:-1] + ("A" if key[-1] != "A" else "B")
    assert (await client.get("/api/v1/terminal", headers=bearer(wrong))).status_code == 401


async def test_suspended_merchant_is_403(
    client: Client, engine: AsyncEngine, demo: dict[str, Any]
) -> None:
    made = await _setup(client, engine)
    key, mid = made["key"], made["merchant"]["id"]
    assert (await client.get("/api/v1/terminal", headers=bearer(key))).status_code == 200
    assert (
        await client.post(f"/api/v1/merchants/{mid}/suspend", json={"reason": "整改"})
    ).status_code == 200
    r = await client.get("/api/v1/terminal", headers=bearer(key))
    assert r.status_code == 403 and r.json()["code"] == "merchant_suspended"
    assert (await client.post(f"/api/v1/merchants/{mid}/resume", json={})).status_code == 200
    assert (await client.get("/api/v1/terminal", headers=bearer(key))).status_code == 200

    # Terminated: 403 as well (the terminal learns why), and every key is revoked.
    assert (
        await client.post(f"/api/v1/merchants/{mid}/terminate", json={"reason": "合同到期"})
    ).status_code == 200
    r = await client.get("/api/v1/terminal", headers=bearer(key))
    assert r.status_code == 403 and r.json()["code"] == "merchant_suspended"
    t = (await client.get(f"/api/v1/terminals/{made['terminal']['id']}")).json()
    assert [k["active"] for k in t["keys"]] == [False]
    r = await client.post(f"/api/v1/terminals/{made['terminal']['id']}/keys/rotate", json={})
    assert r.status_code == 409 and r.json()["code"] == "merchant_terminated"


async def test_rotation(
    app: Litestar, client: Client, engine: AsyncEngine, demo: dict[str, Any]
) -> None:
    made = await _setup(client, engine)
    old, tid = made["key"], made["terminal"]["id"]
    r = await client.post(f"/api/v1/terminals/{tid}/keys/rotate", json={})
    assert r.status_code == 201, r.text
    assert r.headers["cache-control"] == "no-store"
    new = r.json()["key"]
    assert new != old and r.json()["key_prefix"] == new[:12]
    assert [k["active"] for k in r.json()["terminal"]["keys"]] == [True, False]
    assert (await client.get("/api/v1/terminal", headers=bearer(old))).status_code == 401
    me = await client.get("/api/v1/terminal", headers=bearer(new))
    assert me.status_code == 200 and me.json()["terminal_id"] == tid

    # With a grace period the old key keeps working until it ends.
    r = await client.post(f"/api/v1/terminals/{tid}/keys/rotate", json={"grace_seconds": 3600})
    newer = r.json()["key"]
    keys = r.json()["terminal"]["keys"]
    assert [k["active"] for k in keys] == [True, True, False]
    ends = datetime.fromisoformat(keys[1]["revoked_at"])
    assert timedelta(minutes=59) < ends - datetime.now(UTC) <= timedelta(hours=1)
    assert (await client.get("/api/v1/terminal", headers=bearer(new))).status_code == 200
    assert (await client.get("/api/v1/terminal", headers=bearer(newer))).status_code == 200
    r = await client.post(f"/api/v1/terminals/{tid}/keys/rotate", json={"grace_seconds": -1})
    assert r.status_code in (400, 422)
    # Two hours later (a worker whose clock says so): the grace has ended.
    app.state[GATE_STATE_KEY] = TerminalGate(
        MerchantConfig(), now=lambda: datetime.now(UTC) + timedelta(hours=2)
    )
    assert (await client.get("/api/v1/terminal", headers=bearer(new))).status_code == 401
    assert (await client.get("/api/v1/terminal", headers=bearer(newer))).status_code == 200

    async with make_sessionmaker(engine)() as session:
        actions = (
            await session.scalars(
                select(AuditEntry.action).where(AuditEntry.target_id == tid).order_by(AuditEntry.at)
            )
        ).all()
    assert actions == ["terminal.create", "terminal.key_rotate", "terminal.key_rotate"]


async def test_unknown_ids_are_404(
    client: Client, engine: AsyncEngine, demo: dict[str, Any]
) -> None:
    await login(client, "yc.merchants")
    nil = uuid.UUID(int=0)
    for path in (
        f"/api/v1/merchants/{nil}",
        f"/api/v1/stores/{nil}/terminals",
        f"/api/v1/terminals/{nil}",
    ):
        r = await client.get(path)
        assert r.status_code == 404 and r.json()["code"].endswith("not_found")


async def test_openapi_documents_the_routes(client: Client) -> None:
    r = await client.get("/schema/openapi.json")
    assert r.status_code == 200, r.text
    paths = r.json()["paths"]
    assert paths["/api/v1/terminal"]["get"]["security"] == [{"terminalKey": []}]
    for p in (
        "/api/v1/merchants",
        "/api/v1/merchants/{merchant_id}/suspend",
        "/api/v1/stores/{store_id}/terminals",
        "/api/v1/terminals/{terminal_id}/keys/rotate",
        "/api/v1/terminals/{terminal_id}/keys/{key_id}/revoke",
    ):
        assert p in paths, p
