"""Concurrent calls answered together: each caller queues its item and awaits the batch that
carries it, one statement for everything that arrived meanwhile (a claim storm's voucher rows,
its members' lookups). At most ``flushes`` batches of one coalescer are in flight; the next
takes all who came while they ran.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# The flush tasks, kept referenced until they finish (the loop holds only weak references).
_TASKS: set[asyncio.Task[None]] = set()


class Coalescer(Generic[T, R]):
    """Items waiting for their batch on ``engine``; ``run(engine, items)`` answers a batch with
    one result per item, in order. Its exception reaches every caller of that batch."""

    def __init__(
        self,
        engine: Any,
        run: Callable[[Any, list[T]], Awaitable[list[R]]],
        *,
        batch: int,
        flushes: int,
    ) -> None:
        self.engine = engine
        self._run = run
        self._batch = batch
        self._flushes = flushes
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._flushing = 0

    @property
    def idle(self) -> bool:
        return not (self._pending or self._flushing)

    async def submit(self, item: T) -> R:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[R] = loop.create_future()
        self._pending.append((item, fut))
        if self._flushing < self._flushes:
            self._flushing += 1
            task = loop.create_task(self._flush())
            _TASKS.add(task)
            task.add_done_callback(_TASKS.discard)
        return await fut

    async def _flush(self) -> None:
        try:
            while self._pending:
                batch = self._pending[: self._batch]
                del self._pending[: self._batch]
                try:
                    results = await self._run(self.engine, [item for item, _ in batch])
                    if len(results) != len(batch):
                        raise ValueError(f"{len(results)} results for {len(batch)} items")
                except BaseException as exc:
                    for _, fut in batch:
                        if not fut.done():
                            fut.set_exception(exc)
                    if not isinstance(exc, Exception):
                        raise
                    continue
                for (_, fut), result in zip(batch, results, strict=True):  # lengths checked above
                    if not fut.done():
                        fut.set_result(result)
        finally:
            self._flushing -= 1


def for_engine(
    registry: dict[int, Coalescer[T, R]], engine: Any, make: Callable[[], Coalescer[T, R]]
) -> Coalescer[T, R]:
    """The coalescer of ``engine`` in ``registry``: one per engine and process."""
    found = registry.get(id(engine))
    if found is None or found.engine is not engine:
        if len(registry) > 16:  # engines come and go in tests; a process has one or two
            for key in [key for key, c in registry.items() if c.idle]:
                del registry[key]
        found = registry[id(engine)] = make()
    return found
