"""Reversal (once, within the window, own merchant only), the ledger list and the settlement."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from click.testing import CliRunner
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from benefits.public import merchant_settlement
from cardsvc.app import create_app
from cardsvc.kernel.db import make_sessionmaker
from cardsvc.kernel.settings import Settings
from merchants.cli import merchants_group
from merchants.models import ScanLog
from merchants.terminal.auth import GATE_STATE_KEY
from merchants.terminal.settlement import month_bounds
from tests.merchants.conftest import login, standalone_app
from tests.support.pos import Pos, later, pos_fixture, scan_log  # noqa: F401 (fixture)

Client = AsyncTestClient[Litestar]


async def redeem(
    client: Client, p: Pos, program_id: uuid.UUID, amount: int, t: dict[str, Any]
) -> dict[str, Any]:
    r = await client.post(
        "/api/v1/redemptions",
        json={
            "code": await p.code(p.member()),
            "program_id": str(program_id),
            "amount_fen": amount,
        },
        headers=p.headers(t, uuid.uuid4().hex),
    )
    assert r.status_code == 201, r.text
    return r.json()


async def test_reversal_once_and_restores_the_quota(client: Client, pos: Pos) -> None:
    prog = await pos.program(
        "ONCE", limits=[{"metric": "count", "scope": "member", "period": "month", "limit": 1}]
    )
    t = pos.terminal()
    mid = pos.member()
    body = {"code": await pos.code(mid), "program_id": str(prog.id), "amount_fen": 3000}
    r = await client.post("/api/v1/redemptions", json=body, headers=pos.headers(t, "buy"))
    rid = r.json()["id"]
    url = f"/api/v1/redemptions/{rid}/reversal"

    r = await client.post(url, json={"reason": "顾客退单"}, headers=pos.headers(t, "void-1"))
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["redemption_id"] == rid and first["reason"] == "顾客退单"
    assert first["discount_fen"] == 300 and first["program_id"] == str(prog.id)

    r = await client.post(url, json={"reason": "顾客退单"}, headers=pos.headers(t, "void-1"))
    assert r.status_code == 200 and r.headers["Idempotent-Replayed"] == "true"
    assert r.json() == first
    r = await client.post(url, json={"reason": "另一个原因"}, headers=pos.headers(t, "void-1"))
    assert r.status_code == 409 and r.json()["code"] == "idempotency_conflict"
    r = await client.post(url, json={"reason": "顾客退单"}, headers=pos.headers(t, "void-2"))
    assert r.status_code == 409 and r.json()["code"] == "already_reversed"

    # The monthly quota of 1 is back: the member can redeem again.
    again = {"code": await pos.code(mid), "program_id": str(prog.id), "amount_fen": 3000}
    r = await client.post("/api/v1/redemptions", json=again, headers=pos.headers(t, "buy-2"))
    assert r.status_code == 201, r.text
    # The original's retry still answers with the original, now marked reversed.
    r = await client.post("/api/v1/redemptions", json=body, headers=pos.headers(t, "buy"))
    assert r.status_code == 200 and r.json()["id"] == rid and r.json()["reversed"] is True


async def test_concurrent_reversals_reverse_once(client: Client, pos: Pos) -> None:
    prog = await pos.program("DINE10")
    t = pos.terminal()
    rid = (await redeem(client, pos, prog.id, 1000, t))["id"]
    url = f"/api/v1/redemptions/{rid}/reversal"
    same = await asyncio.gather(
        *[
            client.post(url, json={"reason": "重复点击"}, headers=pos.headers(t, "tap"))
            for _ in range(4)
        ]
    )
    assert sorted(r.status_code for r in same).count(201) == 1, [r.text for r in same]
    assert {r.json()["id"] for r in same if r.status_code in (200, 201)} == {
        next(r.json()["id"] for r in same if r.status_code == 201)
    }
    assert all(r.status_code in (200, 201) for r in same), [r.text for r in same]


async def test_reversal_window(client: Client, pos: Pos) -> None:
    prog = await pos.program("DINE10")
    t = pos.terminal()
    rid = (await redeem(client, pos, prog.id, 1000, t))["id"]
    window = pos.services.reversal_window_seconds
    assert window == 24 * 3600
    url = f"/api/v1/redemptions/{rid}/reversal"
    pos.services.clock = later(window + 5)
    r = await client.post(url, json={"reason": "迟到"}, headers=pos.headers(t, "late"))
    assert r.status_code == 409 and r.json()["code"] == "reversal_window_closed"
    pos.services.clock = later(window - 60)  # just inside
    r = await client.post(url, json={"reason": "及时"}, headers=pos.headers(t, "in-time"))
    assert r.status_code == 201, r.text


async def test_cross_merchant_sees_and_voids_nothing(client: Client, pos: Pos) -> None:
    prog = await pos.program("ANY", scope={"merchant_categories": ["dining", "cinema"]})
    a, b = pos.terminal("dining"), pos.terminal("cinema")
    assert a["merchant_id"] != b["merchant_id"]
    mine = await redeem(client, pos, prog.id, 2000, a)
    theirs = await redeem(client, pos, prog.id, 2000, b)
    r = await client.post(
        f"/api/v1/redemptions/{mine['id']}/reversal",
        json={"reason": "x"},
        headers=pos.headers(b, "steal"),
    )
    assert r.status_code == 404 and r.json()["code"] == "redemption_not_found"
    listed = (await client.get("/api/v1/redemptions", headers=pos.headers(b))).json()
    assert [i["id"] for i in listed["items"]] == [theirs["id"]]
    # B's till cannot replay A's key either: keys are per merchant.
    settled = (await client.get("/api/v1/settlements/" + _month(), headers=pos.headers(b))).json()
    assert settled["totals"]["count"] == 1 and settled["merchant_id"] == b["merchant_id"]


def _month(at: datetime | None = None) -> str:
    at = (at or datetime.now(UTC)).astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai"))
    return at.strftime("%Y-%m")


async def test_list_pages_with_an_opaque_cursor(client: Client, pos: Pos) -> None:
    prog = await pos.program("DINE10")
    t = pos.terminal()
    made = [(await redeem(client, pos, prog.id, 1000 + i, t))["id"] for i in range(5)]
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        q = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        r = await client.get("/api/v1/redemptions" + q, headers=pos.headers(t))
        assert r.status_code == 200, r.text
        page = r.json()
        pages += 1
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert "occurred" not in cursor and "{" not in cursor  # opaque
    assert pages == 3 and seen == list(reversed(made))
    # from/to narrow it.
    first = (await client.get("/api/v1/redemptions", headers=pos.headers(t))).json()["items"]
    newest = datetime.fromisoformat(first[0]["occurred_at"].replace("Z", "+00:00"))
    r = await client.get(
        "/api/v1/redemptions",
        params={"to": newest.isoformat()},
        headers=pos.headers(t),
    )
    assert [i["id"] for i in r.json()["items"]] == list(reversed(made))[1:]


async def test_staff_see_a_merchants_redemptions(client: Client, pos: Pos, engine: Any) -> None:
    prog = await pos.program("DINE10")
    t = pos.terminal()
    done = await redeem(client, pos, prog.id, 1000, t)
    await login(client, "yc.merchants")
    r = await client.get(f"/api/v1/merchants/{t['merchant_id']}/redemptions")
    assert r.status_code == 200, r.text
    assert [i["id"] for i in r.json()["items"]] == [done["id"]]
    r = await client.get(f"/api/v1/merchants/{uuid.uuid4()}/redemptions")
    assert r.status_code == 404


async def test_settlement_json_and_csv_match_the_ledger(client: Client, pos: Pos) -> None:
    a = await pos.program("DINE10", benefit={"kind": "percent_off", "basis_points": 1000})
    b = await pos.program(
        "SUB5",
        benefit={"kind": "subsidy", "per_unit_fen": 500},
        scope={"merchant_categories": ["dining"]},
    )
    t = pos.terminal()
    done = [await redeem(client, pos, a.id, 1000 * (i + 1), t) for i in range(3)]
    done += [await redeem(client, pos, b.id, 2000, t) for _ in range(2)]
    r = await client.post(
        f"/api/v1/redemptions/{done[0]['id']}/reversal",
        json={"reason": "退单"},
        headers=pos.headers(t, "v"),
    )
    assert r.status_code == 201
    month = _month()
    r = await client.get(f"/api/v1/settlements/{month}", headers=pos.headers(t))
    assert r.status_code == 200, r.text
    s = r.json()
    lines = {line["program_code"]: line for line in s["lines"]}
    assert lines["DINE10"]["redemptions"] == 3 and lines["DINE10"]["reversed"] == 1
    assert lines["DINE10"]["count"] == 2 and lines["DINE10"]["gross_fen"] == 5000
    assert (
        lines["DINE10"]["discount_fen"] == 500 and lines["DINE10"]["reversed_discount_fen"] == 100
    )
    assert lines["SUB5"]["subsidy_fen"] == 1000 and lines["SUB5"]["count"] == 2
    assert lines["DINE10"]["store_id"] == t["store_id"] and lines["DINE10"]["store_name"]

    # The engine's own per-programme settlement agrees.
    since, until = month_bounds(month, "Asia/Shanghai")
    async with make_sessionmaker(pos.engine)() as session:
        ledger = await merchant_settlement(
            session, merchant_id=uuid.UUID(t["merchant_id"]), since=since, until=until
        )
    by_code = {x.program_code: x for x in ledger}
    for code, line in lines.items():
        assert line["count"] == by_code[code].redemptions
        assert line["discount_fen"] == by_code[code].discount_fen
        assert line["subsidy_fen"] == by_code[code].subsidy_fen

    r = await client.get(
        f"/api/v1/settlements/{month}", headers={**pos.headers(t), "Accept": "text/csv"}
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    total = rows[-1]
    assert total["program_id"] == "TOTAL"
    body = rows[:-1]
    assert {x["program_code"] for x in body} == set(lines)
    for col in ("count", "gross_fen", "discount_fen", "subsidy_fen", "reversed"):
        assert sum(int(x[col]) for x in body) == int(total[col]) == s["totals"][col]


def fresh_app(settings: Settings) -> Litestar:
    """A new app, as each ``unioncard`` command makes one (its engine on the command's loop)."""
    app = create_app(settings)
    return app if GATE_STATE_KEY in app.state else standalone_app(settings)


async def test_purge_scans_command(client: Client, pos: Pos, settings: Settings) -> None:
    t = pos.terminal()
    r = await client.post(
        "/api/v1/scans", json={"code": await pos.code(pos.member())}, headers=pos.headers(t)
    )
    assert r.status_code == 200
    pos.services.clock = later(-100 * 86400)  # a scan 100 days ago
    r = await client.post("/api/v1/scans", json={"code": "garbage"}, headers=pos.headers(t))
    assert r.status_code == 422
    assert len(await scan_log(pos.engine, 2)) == 2
    result = await asyncio.to_thread(
        CliRunner().invoke,
        merchants_group,
        ["purge-scans"],
        obj=fresh_app(settings),
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "deleted": 1,
        "retention_days": 90,
    }
    async with make_sessionmaker(pos.engine)() as session:
        left = (await session.scalars(select(ScanLog))).all()
    assert [x.result for x in left] == ["ok"]
    assert left[0].at > datetime.now(UTC) - timedelta(days=1)
