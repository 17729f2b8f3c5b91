"""The scan-log writer: rows queued by scans reach the database in batches, and at shutdown."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from cardsvc.kernel.db import make_sessionmaker
from merchants.models import Terminal
from merchants.terminal.scanlog import ScanLogWriter
from tests.support.pos import scan_log


async def _ids(engine: AsyncEngine) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """A demo terminal's merchant, store and terminal (the scan log has foreign keys)."""
    async with make_sessionmaker(engine)() as s:
        t = (await s.scalars(select(Terminal).limit(1))).one()
        return t.merchant_id, t.store_id, t.id


async def test_rows_are_written_in_the_background(
    engine: AsyncEngine, demo: dict[str, Any]
) -> None:
    merchant, store, terminal = await _ids(engine)
    writer = ScanLogWriter(engine, interval=0.05)
    ids = [
        writer.add(
            merchant_id=merchant,
            store_id=store,
            terminal_id=terminal,
            at=datetime.now(UTC),
            result=result,
        )
        for result in ("ok", "token_expired", "x" * 40)
    ]
    rows = await scan_log(engine, 3)
    assert sorted(r.id for r in rows) == sorted(ids)
    assert sorted(r.result for r in rows) == sorted(["ok", "token_expired", "x" * 32])
    await writer.close()


async def test_close_writes_what_is_still_queued(engine: AsyncEngine, demo: dict[str, Any]) -> None:
    merchant, store, terminal = await _ids(engine)
    writer = ScanLogWriter(engine, interval=3600)  # the timer would never fire in this test
    for _ in range(5):
        writer.add(
            merchant_id=merchant,
            store_id=store,
            terminal_id=terminal,
            at=datetime.now(UTC),
            result="ok",
        )
    assert await scan_log(engine, 5, within=0.2) == []
    await writer.close()
    assert len(await scan_log(engine, 5)) == 5
