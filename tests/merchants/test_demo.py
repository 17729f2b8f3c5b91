"""The demo seed step: several categories in 宜昌, idempotent, keys in demo.json."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from stdnum.cn import uscc

from cardsvc.kernel.db import make_sessionmaker
from cardsvc.kernel.errors import AppError
from cardsvc.kernel.settings import Settings
from merchants.config import MerchantConfig
from merchants.demo import DEMO_MERCHANTS, seed_merchants
from merchants.models import Merchant, Terminal, TerminalKey
from merchants.terminal.auth import TerminalGate


async def _step(
    engine: AsyncEngine, settings: Settings
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    demo: dict[str, Any] = {}
    async with make_sessionmaker(engine)() as session, session.begin():
        summary = await seed_merchants(session, settings, demo)
    return summary, demo["terminals"]


async def _authenticates(engine: AsyncEngine, key: str) -> bool:
    gate = TerminalGate(MerchantConfig(auth_cache_seconds=0))
    async with make_sessionmaker(engine)() as session:
        try:
            await gate.authenticate(session, f"Bearer {key}")
        except AppError:
            return False
    return True


async def _counts(engine: AsyncEngine) -> tuple[int, int, int]:
    async with make_sessionmaker(engine)() as session:
        return (
            await session.scalar(select(func.count()).select_from(Merchant)),
            await session.scalar(select(func.count()).select_from(Terminal)),
            await session.scalar(select(func.count()).select_from(TerminalKey)),
        )


async def test_demo_step_is_idempotent(
    engine: AsyncEngine, settings: Settings, demo: dict[str, Any]
) -> None:
    assert all(uscc.is_valid(d.uscc) for d in DEMO_MERCHANTS)
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    _, first = await _step(engine, settings)
    assert len(first) == len(DEMO_MERCHANTS) == 7
    assert len({t["category"] for t in first}) == 7
    assert {"key", "store", "merchant", "category"} <= set(first[0])
    for t in first:
        assert await _authenticates(engine, t["key"]), t
    counts = await _counts(engine)

    # Second run with the previous demo.json: nothing new, same keys.
    (settings.var_dir / "demo.json").write_text(json.dumps({"terminals": first}))
    summary, second = await _step(engine, settings)
    assert summary == {}
    assert [t["key"] for t in second] == [t["key"] for t in first]
    assert await _counts(engine) == counts

    # demo.json gone: the keys are unknown, so each terminal's key is rotated.
    (settings.var_dir / "demo.json").unlink()
    summary, third = await _step(engine, settings)
    assert summary == {"keys_rotated": 7}
    assert not {t["key"] for t in third} & {t["key"] for t in first}
    assert await _authenticates(engine, third[0]["key"])
    assert not await _authenticates(engine, first[0]["key"])
    assert await _counts(engine) == (counts[0], counts[1], counts[2] + 7)
