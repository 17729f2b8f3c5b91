"""The scan log, written in batches off the request path.

Every scan (refusals included) is logged, but a scan is a read: writing its log row inside the
request cost a transaction (BEGIN, INSERT, COMMIT) per scan, more than the scan itself. Rows
are queued in the worker and written by a background task every ``interval`` seconds as one
multi-row INSERT. A crash loses at most the last interval's log lines — never a redemption,
which has its own ledger row. With ``interval`` 0 each row is written at once (in its own
transaction), which the CLI and scripts use.

A row queued before its member was erased must not land after the erasure deleted the
member's scans: each flush leaves out the rows of erased members, reading them under a share
lock that an erasure in progress holds exclusively (see ``cardsvc.public.erased_members``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, text
from sqlalchemy.ext.asyncio import AsyncEngine
from uuid_utils.compat import uuid7

from cardsvc.public import erased_members
from merchants.models import ScanLog

logger = logging.getLogger("unioncard.merchants.scanlog")

# A declarative model maps a Table; SQLAlchemy types ``__table__`` as the wider FromClause.
_INSERT = insert(cast(Table, ScanLog.__table__))
_ASYNC_COMMIT = text("SET LOCAL synchronous_commit TO OFF")
# Rows kept while the database is unreachable; beyond this the oldest are dropped (logged).
MAX_PENDING = 50_000


class ScanLogWriter:
    def __init__(self, engine: AsyncEngine, *, interval: float = 0.2) -> None:
        self._engine = engine
        self._interval = interval
        self._pending: list[dict[str, Any]] = []
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    def add(
        self,
        *,
        merchant_id: uuid.UUID,
        store_id: uuid.UUID,
        terminal_id: uuid.UUID,
        at: datetime,
        result: str,
        card_id: uuid.UUID | None = None,
        member_id: uuid.UUID | None = None,
    ) -> uuid.UUID:
        """Queue one row; returns its id (the ``scan_id`` the terminal is told)."""
        scan_id = uuid7()
        self._pending.append(
            {
                "id": scan_id,
                "merchant_id": merchant_id,
                "store_id": store_id,
                "terminal_id": terminal_id,
                "card_id": card_id,
                "member_id": member_id,
                "at": at,
                "result": result[:32],
            }
        )
        if len(self._pending) > MAX_PENDING:
            dropped = len(self._pending) - MAX_PENDING
            del self._pending[:dropped]
            logger.warning("scan log: database unreachable, dropped %d oldest rows", dropped)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())
        return scan_id

    async def flush(self) -> int:
        """Write what is queued now; returns how many rows were written."""
        async with self._lock:
            rows, self._pending = self._pending, []
            if not rows:
                return 0
            try:
                async with self._engine.begin() as conn:
                    if conn.dialect.name == "postgresql":
                        # Log lines, not money: no need to wait for the WAL flush.
                        await conn.execute(_ASYNC_COMMIT)
                    erased = await erased_members(
                        conn, {r["member_id"] for r in rows if r["member_id"] is not None}
                    )
                    keep = [r for r in rows if r["member_id"] not in erased]
                    if keep:
                        await conn.execute(_INSERT, keep)
            except BaseException:  # also a cancellation at shutdown: keep them for close()
                self._pending[:0] = rows
                raise
            return len(keep)

    async def _run(self) -> None:
        """Flush every interval while there is something to write, then stop."""
        while self._pending:
            await asyncio.sleep(self._interval)
            try:
                await self.flush()
            except Exception:
                logger.warning("scan log: flush failed, retrying", exc_info=True)
                await asyncio.sleep(1)

    async def close(self) -> None:
        """On shutdown: stop the background task and write what is left."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        try:
            await self.flush()
        except Exception:
            logger.exception(
                "scan log: %d rows could not be written at shutdown", len(self._pending)
            )
