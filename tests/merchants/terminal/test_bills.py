"""Bills at the till: ``bill_ref``, several programmes in one call, and the stacking rules across
every redemption of one bill (separate calls, concurrent terminals, retries, reversals).

Programmes are made through the staff API (``yc.benefits``), the merchant, its store and
terminals through the onboarding API (``yc.merchants``); members and their codes come from the
POS helpers. Every redemption goes through the terminal API.
"""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from datetime import UTC, datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from litestar.testing import transport as litestar_transport
from sqlalchemy.ext.asyncio import AsyncEngine

from benefits.engine import bills as bill_engine
from tests.merchants.conftest import bearer, login, onboard, org_id
from tests.support.pos import Pos, pos_fixture  # noqa: F401 (fixture)

Client = AsyncTestClient[Litestar]
PROGRAMS = "/api/v1/programs"
REDEEM = "/api/v1/redemptions"
EXCLUSIVE = {"mode": "exclusive"}
DINING = {"mode": "group", "group": "dining"}


async def programme(
    client: Client,
    engine: AsyncEngine,
    code: str,
    *,
    stacking: dict[str, Any],
    priority: int = 0,
    benefit: dict[str, Any] | None = None,
) -> str:
    """A published programme of 宜昌市总工会, made and published by its benefits manager."""
    await login(client, "yc.benefits")
    rules = {
        "name": f"账单测试 {code}",
        "benefit": benefit or {"kind": "percent_off", "basis_points": 1000},
        "scope": {"merchant_categories": ["dining"]},
        "limits": [],
        "stacking": stacking,
        "priority": priority,
    }
    body = {"code": code, "owner_org_id": await org_id(engine, "HB-YC"), "rules": rules}
    r = await client.post(PROGRAMS + "/", json=body)
    assert r.status_code == 201, r.text
    pid: str = r.json()["id"]
    r = await client.post(f"{PROGRAMS}/{pid}/publish")
    assert r.status_code == 200, r.text
    return pid


async def shop(client: Client, engine: AsyncEngine, terminals: int = 1) -> dict[str, Any]:
    """A dining merchant with one store and ``terminals`` terminals, onboarded over HTTP."""
    await login(client, "yc.merchants")
    made = await onboard(client, await org_id(engine, "HB-YC-XL"))
    keys = [made["key"]]
    for i in range(1, terminals):
        r = await client.post(
            f"/api/v1/stores/{made['store']['id']}/terminals", json={"name": f"{i + 1} 号收银台"}
        )
        assert r.status_code == 201, r.text
        keys.append(r.json()["key"])
    return {**made, "keys": keys}


async def redeem(
    client: Client,
    pos: Pos,
    key: str,
    *,
    programs: list[str] | str,
    amount: int = 10000,
    bill_ref: str | None = None,
    idem: str | None = None,
    code: str | None = None,
) -> Any:
    body: dict[str, Any] = {"code": code or await pos.code(pos.member()), "amount_fen": amount}
    if isinstance(programs, str):
        body["program_id"] = programs
    else:
        body["program_ids"] = programs
    if bill_ref is not None:
        body["bill_ref"] = bill_ref
    headers = {**bearer(key), "Idempotency-Key": idem or uuid.uuid4().hex}
    return await client.post(REDEEM, json=body, headers=headers)


def refused(r: Any, code: str, status: int = 409) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    assert body["code"] == code, body
    assert body["message_zh"] and body["message_en"]
    return body


async def at_once(
    client: Client, requests: list[tuple[str, dict[str, Any]]], idem: str | None = None
) -> list[Any]:
    """POST ``(terminal key, body)`` requests really at the same time (under ``idem``, else a
    fresh Idempotency-Key each). ``AsyncTestClient`` runs one request
    at a time (its transport blocks until the response), so each goes from its own thread
    through the same app, whose event loop then serves them concurrently."""
    # Litestar's transport has httpx's sync interface without deriving from its base class.
    transport = cast(httpx.BaseTransport, litestar_transport.TestClientTransport(client=client))
    # Not closed: the transport holds nothing of its own (the app is the test client's).
    sync = httpx.Client(transport=transport, base_url=str(client.base_url))

    def post(key: str, body: dict[str, Any]) -> Any:
        headers = {**bearer(key), "Idempotency-Key": idem or uuid.uuid4().hex}
        return sync.post(REDEEM, json=body, headers=headers)

    return await asyncio.gather(*(asyncio.to_thread(post, k, b) for k, b in requests))


async def test_several_programmes_in_one_call_apply_in_priority_order(
    client: Client, engine: AsyncEngine, pos: Pos
) -> None:
    pct = await programme(client, engine, "BILL-PCT", stacking=DINING, priority=1)
    off = await programme(
        client,
        engine,
        "BILL-OFF",
        stacking=DINING,
        priority=5,
        benefit={"kind": "amount_off", "off_fen": 2000},
    )
    made = await shop(client, engine)
    # Listed lowest priority first: the ¥20 off still applies first, then 10 % of what is left.
    r = await redeem(client, pos, made["key"], programs=[pct, off], bill_ref="POS-0001")
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["bill_ref"] == "POS-0001"
    assert [x["program_code"] for x in out["lines"]] == ["BILL-OFF", "BILL-PCT"]
    first, second = out["lines"]
    assert (first["amount_fen"], first["discount_fen"], first["payable_fen"]) == (10000, 2000, 8000)
    assert (second["amount_fen"], second["discount_fen"], second["payable_fen"]) == (
        8000,
        800,
        7200,
    )
    assert out["program_code"] == "BILL-OFF" and out["amount_fen"] == 10000
    assert (out["discount_fen"], out["payable_fen"]) == (2800, 7200)

    # The ledger lists both lines under the one redemption, with the bill reference.
    r = await client.get(REDEEM, params={"bill_ref": "POS-0001"}, headers=bearer(made["key"]))
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert {i["program_code"] for i in items} == {"BILL-OFF", "BILL-PCT"}
    assert {i["id"] for i in items} == {out["id"]} and {i["bill_ref"] for i in items} == {
        "POS-0001"
    }

    # Exclusive programmes cannot be combined in one call.
    excl = await programme(client, engine, "BILL-EX1", stacking=EXCLUSIVE)
    r = await redeem(client, pos, made["key"], programs=[excl, pct], bill_ref="POS-0002")
    refused(r, "stacking_conflict")


async def test_single_programme_call_is_unchanged(
    client: Client, engine: AsyncEngine, pos: Pos
) -> None:
    pct = await programme(client, engine, "BILL-ONE", stacking=EXCLUSIVE)
    made = await shop(client, engine)
    r = await redeem(client, pos, made["key"], programs=pct, amount=8800)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["bill_ref"] is None and out["program_code"] == "BILL-ONE"
    assert (out["discount_fen"], out["payable_fen"]) == (880, 7920)
    assert len(out["lines"]) == 1 and out["lines"][0]["discount_fen"] == 880
    # Without a bill reference each call is its own bill: an exclusive programme again is fine.
    assert (await redeem(client, pos, made["key"], programs=pct)).status_code == 201


async def test_stacking_holds_across_separate_calls_on_one_bill(
    client: Client, engine: AsyncEngine, pos: Pos
) -> None:
    excl = await programme(client, engine, "BILL-EXC", stacking=EXCLUSIVE)
    dine = await programme(client, engine, "BILL-DIN", stacking=DINING)
    dine2 = await programme(client, engine, "BILL-DI2", stacking=DINING)
    other = await programme(client, engine, "BILL-OTH", stacking={"mode": "group", "group": "x"})
    made = await shop(client, engine, terminals=2)
    till, other_till = made["keys"]

    assert (await redeem(client, pos, till, programs=excl, bill_ref="A-100")).status_code == 201
    # Another programme on the same bill, from another terminal and another member: refused.
    body = refused(
        await redeem(client, pos, other_till, programs=dine, bill_ref="A-100"),
        "bill_stacking_conflict",
    )
    assert body["bill_ref"] == "A-100"
    assert [p["code"] for p in body["on_bill"]] == ["BILL-EXC"]
    # The exclusive one again on the same bill: refused too (a programme applies once a bill).
    refused(
        await redeem(client, pos, till, programs=excl, bill_ref="A-100"), "bill_stacking_conflict"
    )
    # A different bill is another bill.
    assert (await redeem(client, pos, till, programs=dine, bill_ref="A-101")).status_code == 201

    # A group programme, then another of its group: allowed; of another group or exclusive: not.
    assert (await redeem(client, pos, till, programs=dine, bill_ref="B-1")).status_code == 201
    assert (await redeem(client, pos, till, programs=dine2, bill_ref="B-1")).status_code == 201
    refused(
        await redeem(client, pos, till, programs=other, bill_ref="B-1"), "bill_stacking_conflict"
    )
    refused(
        await redeem(client, pos, till, programs=excl, bill_ref="B-1"), "bill_stacking_conflict"
    )
    body = refused(
        await redeem(client, pos, till, programs=dine, bill_ref="B-1"), "bill_stacking_conflict"
    )
    assert body["repeated"] == ["BILL-DIN"]

    # Bill references are per merchant: another merchant's same number is its own bill.
    await login(client, "yc.merchants")
    second = await onboard(
        client, await org_id(engine, "HB-YC-XL"), uscc="91420503MA4TEXT02J", legal_name="另一家"
    )
    assert (
        await redeem(client, pos, second["key"], programs=dine, bill_ref="A-100")
    ).status_code == 201


async def test_reversal_frees_the_bill(client: Client, engine: AsyncEngine, pos: Pos) -> None:
    excl = await programme(client, engine, "BILL-REV", stacking=EXCLUSIVE)
    dine = await programme(client, engine, "BILL-RDI", stacking=DINING)
    made = await shop(client, engine)
    till = made["key"]
    r = await redeem(client, pos, till, programs=excl, bill_ref="R-7")
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    refused(
        await redeem(client, pos, till, programs=dine, bill_ref="R-7"), "bill_stacking_conflict"
    )
    r = await client.post(
        f"{REDEEM}/{rid}/reversal",
        json={"reason": "顾客退单"},
        headers={**bearer(till), "Idempotency-Key": "void-r7"},
    )
    assert r.status_code == 201, r.text
    assert (await redeem(client, pos, till, programs=dine, bill_ref="R-7")).status_code == 201
    # The list of the bill shows both, the first reversed.
    r = await client.get(REDEEM, params={"bill_ref": "R-7"}, headers=bearer(till))
    items = r.json()["items"]
    assert sorted((i["program_code"], i["reversed"]) for i in items) == [
        ("BILL-RDI", False),
        ("BILL-REV", True),
    ]


async def test_retries_replay_and_bill_ref_is_part_of_the_request(
    client: Client, engine: AsyncEngine, pos: Pos
) -> None:
    excl = await programme(client, engine, "BILL-RTY", stacking=EXCLUSIVE)
    made = await shop(client, engine)
    till = made["key"]
    code = await pos.code(pos.member())
    first = await redeem(client, pos, till, programs=excl, bill_ref="T-1", idem="k1", code=code)
    assert first.status_code == 201, first.text
    # The retry: same key, same body; the bill already holds its own redemption.
    again = await redeem(client, pos, till, programs=excl, bill_ref="T-1", idem="k1", code=code)
    assert again.status_code == 200, again.text
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"] and again.json()["bill_ref"] == "T-1"
    # Same key, another bill: a different request.
    refused(
        await redeem(client, pos, till, programs=excl, bill_ref="T-2", idem="k1", code=code),
        "idempotency_conflict",
    )
    # Concurrent retries of a new bill collapse into one redemption.
    body = {"code": await pos.code(pos.member()), "program_id": excl, "amount_fen": 10000}
    same = await at_once(client, [(till, {**body, "bill_ref": "T-3"})] * 4, idem="k3")
    assert [r.status_code for r in same].count(201) == 1, [r.text for r in same]
    ok = [r for r in same if r.status_code in (200, 201)]
    assert len({r.json()["id"] for r in ok}) == 1
    assert all(r.status_code in (200, 201) or r.json()["code"] == "token_replayed" for r in same)
    r = await client.get(REDEEM, params={"bill_ref": "T-3"}, headers=bearer(till))
    assert len(r.json()["items"]) == 1


async def test_two_terminals_at_once_on_one_bill_exactly_one_succeeds(
    client: Client, engine: AsyncEngine, pos: Pos, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each redemption dawdles after reading the bill's lines, inside its transaction, so that
    # the two really overlap there: without the bill's lock both would see an empty bill.
    check = bill_engine.check_bill

    async def slow_check(st: Any, **kw: Any) -> None:
        await asyncio.sleep(0.2)
        await check(st, **kw)

    monkeypatch.setattr(bill_engine, "check_bill", slow_check)
    excl = await programme(client, engine, "BILL-CEX", stacking=EXCLUSIVE)
    dine = await programme(client, engine, "BILL-CDI", stacking=DINING)
    made = await shop(client, engine, terminals=2)
    till, other_till = made["keys"]
    for n in range(3):
        bill = f"RACE-{n}"
        bodies = [
            {"code": await pos.code(pos.member_cycle()), "amount_fen": 5000, "bill_ref": bill}
            for _ in range(2)
        ]
        results = await at_once(
            client,
            [
                (till, {**bodies[0], "program_id": excl}),
                (other_till, {**bodies[1], "program_id": dine}),
            ],
        )
        statuses = sorted(r.status_code for r in results)
        assert statuses == [201, 409], [r.text for r in results]
        loser = next(r for r in results if r.status_code == 409)
        assert loser.json()["code"] == "bill_stacking_conflict", loser.text
        r = await client.get(REDEEM, params={"bill_ref": bill}, headers=bearer(till))
        assert len(r.json()["items"]) == 1


async def test_bad_bill_refs_and_programme_lists_are_refused_clearly(
    client: Client, engine: AsyncEngine, pos: Pos
) -> None:
    pct = await programme(client, engine, "BILL-VAL", stacking=DINING)
    made = await shop(client, engine)
    till = made["key"]
    for bad in ("", "x" * 65, "含中文", "has space", "-leading", "a;DROP"):
        body = refused(
            await redeem(client, pos, till, programs=pct, bill_ref=bad), "validation_error", 400
        )
        assert [e["field"] for e in body["errors"]] == ["bill_ref"]
    for programs, field in (([], "program_id"), ([pct, pct], "program_ids")):
        body = refused(await redeem(client, pos, till, programs=programs), "validation_error", 400)
        assert [e["field"] for e in body["errors"]] == [field]
    both = {"code": "x", "program_id": pct, "program_ids": [pct], "amount_fen": 1}
    r = await client.post(REDEEM, json=both, headers={**bearer(till), "Idempotency-Key": "b"})
    refused(r, "validation_error", 400)
    r = await client.get(REDEEM, params={"bill_ref": "a b"}, headers=bearer(till))
    refused(r, "validation_error", 400)
    # The longest and the punctuation allowed.
    ok = "A" + "9" * 50 + "-_./:#"
    r = await redeem(client, pos, till, programs=pct, bill_ref=ok)
    assert r.status_code == 201 and r.json()["bill_ref"] == ok, r.text


async def test_settlement_and_staff_view_show_the_bill_ref(
    client: Client, engine: AsyncEngine, pos: Pos
) -> None:
    pct = await programme(client, engine, "BILL-SET", stacking=DINING)
    made = await shop(client, engine)
    till = made["key"]
    r = await redeem(client, pos, till, programs=pct, bill_ref="=SUM(A1)", amount=5000)
    refused(r, "validation_error", 400)  # not a bill reference (and never a formula)
    r = await redeem(client, pos, till, programs=pct, bill_ref="ORD-2026-77", amount=5000)
    assert r.status_code == 201, r.text
    month = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")

    r = await client.get(
        f"/api/v1/settlements/{month}",
        params={"detail": "true"},
        headers={**bearer(till), "Accept": "text/csv"},
    )
    assert r.status_code == 200, r.text
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [(x["bill_ref"], x["program_code"], x["discount_fen"]) for x in rows] == [
        ("ORD-2026-77", "BILL-SET", "500")
    ]
    r = await client.get(
        f"/api/v1/settlements/{month}", params={"detail": "true"}, headers=bearer(till)
    )
    assert [i["bill_ref"] for i in r.json()["items"]] == ["ORD-2026-77"]
    # Without detail the summary is as it was.
    r = await client.get(f"/api/v1/settlements/{month}", headers=bearer(till))
    assert r.json()["items"] is None and r.json()["lines"][0]["count"] == 1

    # Staff see the bill reference in the merchant's redemptions and can filter by it.
    await login(client, "yc.merchants")
    url = f"/api/v1/merchants/{made['merchant']['id']}/redemptions"
    r = await client.get(url, params={"bill_ref": "ORD-2026-77"})
    assert r.status_code == 200, r.text
    assert [i["bill_ref"] for i in r.json()["items"]] == ["ORD-2026-77"]
    r = await client.get(url, params={"bill_ref": "OTHER"})
    assert r.json()["items"] == []
