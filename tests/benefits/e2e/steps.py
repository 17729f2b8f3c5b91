"""What the matrix asks of the till: is a programme offered, and does its redemption go through?

The scan and the redemption must agree: a programme the scan offers is redeemed, one it does
not offer is refused with the contract's code.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.support.front import Front, Person, Shop

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local_instant(day: date, at: time, zone: ZoneInfo = SHANGHAI) -> datetime:
    """``at`` on ``day`` in ``zone``, as a UTC instant."""
    return datetime.combine(day, at, zone).astimezone(UTC)


def today_local(zone: ZoneInfo = SHANGHAI) -> date:
    return datetime.now(zone).date()


def just_before(t: datetime) -> datetime:
    return t - timedelta(seconds=1)


async def verdict(
    front: Front,
    shop: Shop,
    code: str,
    program: dict[str, Any],
    amount_fen: int = 10000,
    units: int = 1,
) -> str:
    """``"ok"`` if the scan offers ``program`` and it is redeemed; else the refusal's code.

    A programme in scope but not usable now (quota spent, minimum spend) is listed under the
    scan's ``unavailable`` with that code; one the member may not use is not listed at all.
    """
    scan = await front.scan(shop, code, amount_fen, units)
    offered = {b["program_id"] for b in scan["benefits"]}
    unavailable = {u["program_id"]: u["code"] for u in scan["unavailable"]}
    status, body = await front.redeem(shop, code, program, amount_fen, units)
    pid = program["id"]
    if status == 201:
        assert pid in offered, f"redeemed but not offered: {scan}"
        return "ok"
    assert pid not in offered, f"offered but refused ({body['code']}): {scan}"
    if pid in unavailable:
        assert unavailable[pid] == body["code"], (unavailable, body)
    return str(body["code"])


async def judged(
    front: Front, shop: Shop, who: Person, program: dict[str, Any], amount_fen: int = 10000
) -> str:
    """The :func:`verdict` at the till, which the staff simulator at the same store must give
    too; a refusal with the reasons staff are told: ``"not_eligible/org_not_listed"``."""
    simulated, reasons = await front.simulate(who, shop, program, amount_fen)
    got = await verdict(front, shop, await front.static_code(who), program, amount_fen)
    assert got == simulated, (got, simulated, reasons)
    return got if got == "ok" else f"{got}/{','.join(reasons)}"
