"""Settlement statements through the front door: redemptions and reversals made at a terminal,
statements read, confirmed, paid and exported by staff, read back by the merchant; a confirmed
or paid month is frozen and a later reversal of it lands in the next open month."""

from __future__ import annotations

import asyncio
import io
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Litestar
from litestar.testing import AsyncTestClient
from openpyxl import load_workbook

from tests.merchants.conftest import login
from tests.support.pos import Pos, pos_fixture  # noqa: F401 (fixture)

Client = AsyncTestClient[Litestar]
ZONE = ZoneInfo("Asia/Shanghai")  # the federation's zone in the test settings
STAFF_API = "/api/v1/settlement-statements"
FUNDED = {"kind": "percent_off", "basis_points": 1000, "funded_by": "federation"}


def months_ahead() -> tuple[str, str, datetime]:
    """Next month M, the one after it, and 23:00 on M's last day (federation zone)."""
    now = datetime.now(ZONE)
    first = datetime(now.year + (now.month == 12), now.month % 12 + 1, 1, tzinfo=ZONE)
    after = datetime(first.year + (first.month == 12), first.month % 12 + 1, 1, tzinfo=ZONE)
    return first.strftime("%Y-%m"), after.strftime("%Y-%m"), after - timedelta(hours=1)


class Till:
    """The POS at a fixed clock: codes minted and redemptions made at ``pos.services.clock``."""

    def __init__(self, client: Client, pos: Pos, at: datetime) -> None:
        self.client, self.pos, self.t = client, pos, pos.terminal()
        self.set(at)

    def set(self, at: datetime) -> None:
        self.at = at.astimezone(UTC)
        self.pos.services.clock = lambda: self.at

    async def redeem(self, program_id: uuid.UUID, amount: int) -> str:
        code = await self.pos.code(self.pos.member(), now=self.at)
        body = {"code": code, "program_id": str(program_id), "amount_fen": amount}
        r = await self.client.post(
            "/api/v1/redemptions", json=body, headers=self.pos.headers(self.t, uuid.uuid4().hex)
        )
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    async def reverse(self, rid: str) -> dict[str, Any]:
        r = await self.client.post(
            f"/api/v1/redemptions/{rid}/reversal",
            json={"reason": "顾客退单"},
            headers=self.pos.headers(self.t, uuid.uuid4().hex),
        )
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def settlement(self, month: str) -> dict[str, Any]:
        r = await self.client.get(f"/api/v1/settlements/{month}", headers=self.pos.headers(self.t))
        assert r.status_code == 200, r.text
        return dict(r.json())


async def _statement(client: Client, month: str, merchant_id: str) -> dict[str, Any]:
    r = await client.get(f"{STAFF_API}/{month}/{merchant_id}")
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_statement_confirm_pay_export_and_the_frozen_month(client: Client, pos: Pos) -> None:
    month, after, last_hour = months_ahead()
    prog = await pos.program("SETTLE", benefit=FUNDED)
    till = Till(client, pos, last_hour)
    a = await till.redeem(prog.id, 3000)  # 300 off, owed
    b = await till.redeem(prog.id, 5000)  # 500
    c = await till.redeem(prog.id, 2000)  # 200, reversed in its own month
    till.set(last_hour + timedelta(minutes=10))
    same = await till.reverse(c)
    assert same["settled_in"] == month and same["note"] is None

    await login(client, "yc.merchants")
    listed = (await client.get(f"{STAFF_API}/{month}")).json()
    row = next(s for s in listed["items"] if s["merchant_name"] == "老街面馆")
    merchant = row["merchant_id"]
    assert row["status"] == "open"
    assert row["totals"]["count"] == 2 and row["totals"]["reversed"] == 1
    assert row["totals"]["discount_fen"] == 800 and row["totals"]["subsidy_fen"] == 800
    assert [(g["program_code"], g["count"]) for g in row["lines"]] == [("SETTLE", 2)]

    # The month is still running: it cannot be confirmed yet.
    r = await client.post(f"{STAFF_API}/{month}/{merchant}/confirm")
    assert r.status_code == 409 and r.json()["code"] == "settlement_month_not_ended"
    r = await client.post(f"{STAFF_API}/{month}/{merchant}/payment", json={"payment_ref": "X"})
    assert r.status_code == 409 and r.json()["code"] == "settlement_status_conflict"

    # Half an hour into the next month: confirm freezes the figures.
    till.set(last_hour + timedelta(minutes=90))
    r = await client.post(f"{STAFF_API}/{month}/{merchant}/confirm")
    assert r.status_code == 200, r.text
    confirmed = r.json()
    assert confirmed["status"] == "confirmed" and confirmed["totals"]["subsidy_fen"] == 800
    r = await client.post(f"{STAFF_API}/{month}/{merchant}/confirm")
    assert r.status_code == 409 and r.json()["status_now"] == "confirmed"

    # A reversal of the confirmed month lands in the next one, and says so.
    late = await till.reverse(b)
    assert late["settled_in"] == after and month in late["note"] and after in late["note"]
    assert (await _statement(client, month, merchant))["totals"] == confirmed["totals"]
    nxt = await _statement(client, after, merchant)
    assert nxt["status"] == "open"
    assert nxt["totals"]["count"] == -1 and nxt["totals"]["carried_reversals"] == 1
    assert nxt["totals"]["subsidy_fen"] == -500 and nxt["totals"]["carried_subsidy_fen"] == 500

    # The merchant reads the same through the terminal API.
    frozen = await till.settlement(month)
    assert frozen["status"] == "confirmed" and frozen["payment_ref"] is None
    assert frozen["totals"]["count"] == 2 and frozen["totals"]["subsidy_fen"] == 800
    landed = await till.settlement(after)
    assert landed["status"] == "open" and landed["totals"]["subsidy_fen"] == -500
    assert [x["redemption_id"] for x in landed["carried_reversals"]] == [b]
    assert landed["carried_reversals"][0]["redeemed_in"] == month and month in landed["note"]

    # Paid, with the reference and the transfer's date.
    pay = {"payment_ref": "HB-PAY-0001", "paid_on": last_hour.date().isoformat()}
    r = await client.post(f"{STAFF_API}/{month}/{merchant}/payment", json=pay)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "paid" and r.json()["payment_ref"] == "HB-PAY-0001"
    r = await client.post(f"{STAFF_API}/{month}/{merchant}/payment", json=pay)
    assert r.status_code == 409 and r.json()["status_now"] == "paid"
    paid = await till.settlement(month)
    assert paid["status"] == "paid" and paid["payment_ref"] == "HB-PAY-0001"
    assert paid["paid_on"] == pay["paid_on"] and paid["paid_at"] is not None

    # A paid month stays frozen too: the last redemption's reversal lands in the next month.
    assert (await till.reverse(a))["settled_in"] == after
    assert (await till.settlement(month))["totals"]["subsidy_fen"] == 800
    assert (await till.settlement(after))["totals"]["subsidy_fen"] == -800

    r = await client.get(f"{STAFF_API}/{month}/export")
    assert r.status_code == 200, r.text
    assert r.headers["content-disposition"] == f'attachment; filename="settlements-{month}.xlsx"'
    wb = load_workbook(io.BytesIO(r.content))
    sheet = [list(row) for row in wb.worksheets[0].iter_rows(values_only=True)]
    mine = next(row for row in sheet if row[0] == "老街面馆")
    assert mine[3] == "已付款" and mine[4] == 2 and mine[9] == 8.0 and mine[12] == "HB-PAY-0001"
    lines = [list(row) for row in wb.worksheets[1].iter_rows(values_only=True)]
    assert ["老街面馆", merchant, "SETTLE", 2, 1, 0, 80.0, 8.0, 8.0, "普惠项目"] in lines

    # Every action is in the audit log.
    await login(client, "hb.auditor")
    r = await client.get("/api/v1/audit", params={"target_id": merchant})
    actions = [e["action"] for e in r.json()["items"]]
    assert {"settlement.confirm", "settlement.pay"} <= set(actions)


async def test_other_subtree_sees_nothing_and_auditors_only_read(
    client: Client, pos: Pos, wjg_merchants: str
) -> None:
    month, _after, last_hour = months_ahead()
    prog = await pos.program("SCOPE", benefit=FUNDED)
    till = Till(client, pos, last_hour)
    await till.redeem(prog.id, 3000)
    till.set(last_hour + timedelta(hours=2))
    await login(client, "yc.merchants")
    merchant = (await client.get(f"{STAFF_API}/{month}")).json()["items"][0]["merchant_id"]

    await login(client, wjg_merchants)
    assert (await client.get(f"{STAFF_API}/{month}")).json()["items"] == []
    for r in (
        await client.get(f"{STAFF_API}/{month}/{merchant}"),
        await client.post(f"{STAFF_API}/{month}/{merchant}/confirm"),
    ):
        assert r.status_code == 404 and r.json()["code"] == "merchant_not_found"

    await login(client, "hb.auditor")
    assert (await _statement(client, month, merchant))["status"] == "open"
    r = await client.post(f"{STAFF_API}/{month}/{merchant}/confirm")
    assert r.status_code == 403
    assert (await _statement(client, month, merchant))["status"] == "open"

    r = await client.get(f"{STAFF_API}/2026-13")
    assert r.status_code == 400 and r.json()["code"] == "invalid_month"


async def test_a_reversal_racing_a_confirmation_is_counted_once(client: Client, pos: Pos) -> None:
    """Whichever commits first, the reversal is netted in exactly one month."""
    month, after, last_hour = months_ahead()
    prog = await pos.program("RACE", benefit=FUNDED)
    till = Till(client, pos, last_hour)
    ids = [await till.redeem(prog.id, 1000 * (i + 1)) for i in range(4)]
    till.set(last_hour + timedelta(minutes=90))
    await login(client, "yc.merchants")
    merchant = (await client.get(f"{STAFF_API}/{month}")).json()["items"][0]["merchant_id"]

    confirm = client.post(f"{STAFF_API}/{month}/{merchant}/confirm")
    results = await asyncio.gather(confirm, *(till.reverse(rid) for rid in ids))
    assert results[0].status_code == 200, results[0].text
    frozen = (await _statement(client, month, merchant))["totals"]
    landed = (await _statement(client, after, merchant))["totals"]
    moved = sum(1 for r in results[1:] if r["settled_in"] == after)
    # Redeemed 100+200+300+400 off; each reversal taken back in exactly one of the two months.
    assert frozen["subsidy_fen"] + landed["subsidy_fen"] == 0
    assert frozen["count"] == moved and landed["carried_reversals"] == moved
