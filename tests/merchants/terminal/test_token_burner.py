"""The burn of rotating codes skips a store that just failed (the ledger still refuses a
replay), but only that store: another app's store in the same process keeps burning, so a
Redis outage of one app cannot let the next one's scan miss a used code."""

from __future__ import annotations

from types import SimpleNamespace
from typing import cast

from redis.asyncio import Redis

from cardsvc.kernel.kv import make_kv
from merchants.terminal.redeem import TokenBurner
from merchants.terminal.wiring import RedeemServices


async def test_one_stores_outage_leaves_anothers_burns_on() -> None:
    dead = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    down = cast(RedeemServices, SimpleNamespace(kv=make_kv(dead)))
    up = cast(RedeemServices, SimpleNamespace(kv=make_kv(None)))
    burner = TokenBurner()
    try:
        assert await burner.burn(down, "t-1", b"first", 60)  # skipped: the ledger guards
        assert await burner.burn(up, "t-1", b"first", 60)
        assert not await burner.burn(up, "t-1", b"second", 60)  # used: a replay
        assert await up.kv.get(burner.key("t-1")) == b"first"
    finally:
        await dead.aclose()
