"""Scan and redeem through HTTP: the contract's shapes, idempotency and single use."""

from __future__ import annotations

import asyncio

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from benefits.models import Redemption
from benefits.public import pause_program, resume_program
from cardsvc.kernel.db import make_sessionmaker
from merchants.terminal.redeem import burner
from merchants.terminal.scan import verify
from tests.support.pos import Pos, pos_fixture, scan_log  # noqa: F401 (fixture)

Client = AsyncTestClient[Litestar]


async def ledger_rows(p: Pos) -> int:
    async with make_sessionmaker(p.engine)() as session:
        return int(await session.scalar(select(func.count()).select_from(Redemption)) or 0)


async def test_scan_shows_masked_member_and_applicable_benefits(client: Client, pos: Pos) -> None:
    prog = await pos.program(
        "DINE10", limits=[{"metric": "count", "scope": "member", "period": "month", "limit": 4}]
    )
    await pos.program("CINEMA", scope={"merchant_categories": ["cinema"]})
    t = pos.terminal("dining")
    mid = pos.member()
    r = await client.post(
        "/api/v1/scans",
        json={"code": await pos.code(mid), "amount_fen": 8800},
        headers=pos.headers(t),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) >= {"scan_id", "card", "member", "benefits"}
    assert body["card"]["status"] == "active" and body["card"]["number_masked"].count("*") >= 8
    assert "*" in body["member"]["name_masked"] and body["member"]["union_name"]
    codes = {b["program_code"] for b in body["benefits"]}
    assert "CINEMA" not in codes  # not at a restaurant
    [b] = [b for b in body["benefits"] if b["program_code"] == "DINE10"]
    assert b["program_id"] == str(prog.id) and b["program_code"] == "DINE10"
    assert b["kind"] == "percent_off"
    assert b["benefit"] == {"discount_fen": 880, "payable_fen": 7920, "units": 1, "subsidy_fen": 0}
    assert b["remaining"][0]["left"] == 4 and b["remaining"][0]["period"] == "month"
    assert "categories" not in r.text and "hardship" not in r.text
    log = await scan_log(pos.engine, 1)
    assert [(str(x.id), x.member_id, x.result) for x in log] == [(body["scan_id"], mid, "ok")]
    assert str(log[0].store_id) == t["store_id"] and str(log[0].terminal_id) == t["terminal_id"]


async def test_scan_sees_a_pause_and_a_resume_at_once(client: Client, pos: Pos) -> None:
    """The worker's live-programme cache (2 s) is forgotten when this process changes one."""
    prog = await pos.program("DINE10")
    t = pos.terminal("dining")
    mid = pos.member()

    async def listed() -> set[str]:
        body = {"code": await pos.code(mid), "amount_fen": 1000}
        r = await client.post("/api/v1/scans", json=body, headers=pos.headers(t))
        assert r.status_code == 200, r.text
        return {b["program_code"] for b in r.json()["benefits"]}

    assert "DINE10" in await listed()
    async with pos.engine.connect() as conn:
        await pause_program(conn, program_id=prog.id)
    assert "DINE10" not in await listed()
    async with pos.engine.connect() as conn:
        await resume_program(conn, program_id=prog.id)
    assert "DINE10" in await listed()


async def test_redeem_then_retry_and_replay(client: Client, pos: Pos) -> None:
    prog = await pos.program(
        "DINE10", limits=[{"metric": "count", "scope": "member", "period": "month", "limit": 4}]
    )
    t = pos.terminal("dining")
    code = await pos.code(pos.member())
    body = {"code": code, "program_id": str(prog.id), "amount_fen": 8800}
    r = await client.post("/api/v1/redemptions", json=body, headers=pos.headers(t, "k-1"))
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["discount_fen"] == 880 and first["payable_fen"] == 7920
    assert first["program_version"] == 1 and first["units"] == 1 and first["subsidy_fen"] == 0
    assert first["remaining"][0]["left"] == 3
    assert "Idempotent-Replayed" not in r.headers

    r = await client.post("/api/v1/redemptions", json=body, headers=pos.headers(t, "k-1"))
    assert r.status_code == 200, r.text
    assert r.headers["Idempotent-Replayed"] == "true"
    assert r.json()["id"] == first["id"] and r.json()["occurred_at"] == first["occurred_at"]

    r = await client.post("/api/v1/redemptions", json=body, headers=pos.headers(t, "k-2"))
    assert r.status_code == 409 and r.json()["code"] == "token_replayed", r.text

    r = await client.post(
        "/api/v1/redemptions", json={**body, "amount_fen": 9900}, headers=pos.headers(t, "k-1")
    )
    assert r.status_code == 409 and r.json()["code"] == "idempotency_conflict", r.text
    assert await ledger_rows(pos) == 1


async def test_concurrent_retries_make_one_ledger_row(client: Client, pos: Pos) -> None:
    prog = await pos.program("DINE10")
    t = pos.terminal("dining")
    body = {"code": await pos.code(pos.member()), "program_id": str(prog.id), "amount_fen": 5000}
    results = await asyncio.gather(
        *[
            client.post("/api/v1/redemptions", json=body, headers=pos.headers(t, "same"))
            for _ in range(6)
        ]
    )
    codes = sorted(r.status_code for r in results)
    assert codes.count(201) == 1, [r.text for r in results]
    ids = {r.json()["id"] for r in results if r.status_code in (200, 201)}
    assert len(ids) == 1
    assert all(r.status_code in (200, 201) or r.json()["code"] == "token_replayed" for r in results)
    assert await ledger_rows(pos) == 1


async def test_retry_after_redis_lost_the_burn_to_a_replay(client: Client, pos: Pos) -> None:
    """Redis restarted empty and a replayed screenshot burned the code first (under its own
    key): the till's retry with the original key still gets its stored answer."""
    prog = await pos.program("DINE10")
    t = pos.terminal("dining")
    code = await pos.code(pos.member())
    body = {"code": code, "program_id": str(prog.id), "amount_fen": 8800}
    r = await client.post("/api/v1/redemptions", json=body, headers=pos.headers(t, "k-1"))
    assert r.status_code == 201, r.text
    first = r.json()

    async with make_sessionmaker(pos.engine)() as session:
        card = await verify(session, pos.services, code, pos.services.clock())
    burned = burner.key(card.token_id)
    await pos.services.kv.delete(burned)
    assert await pos.services.kv.set_nx(burned, b"another-key", 60)

    r = await client.post("/api/v1/redemptions", json=body, headers=pos.headers(t, "k-1"))
    assert r.status_code == 200, r.text
    assert r.headers["Idempotent-Replayed"] == "true" and r.json()["id"] == first["id"]
    r = await client.post("/api/v1/redemptions", json=body, headers=pos.headers(t, "k-9"))
    assert r.status_code == 409 and r.json()["code"] == "token_replayed", r.text
    assert await ledger_rows(pos) == 1
