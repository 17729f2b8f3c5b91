"""The coalescer under the claim storm's writes and lookups: concurrent callers share batches,
each gets its own result, a batch's failure reaches exactly that batch's callers."""

from __future__ import annotations

import asyncio

import pytest

from benefits.coalesce import Coalescer, for_engine


async def test_concurrent_items_share_batches_and_get_their_own_results() -> None:
    batches: list[list[int]] = []

    async def run(engine: object, items: list[int]) -> list[int]:
        batches.append(items)
        await asyncio.sleep(0.01)
        return [i * 10 for i in items]

    c: Coalescer[int, int] = Coalescer("e", run, batch=4, flushes=1)
    got = await asyncio.gather(*(c.submit(i) for i in range(10)))
    assert got == [i * 10 for i in range(10)]
    # One flush at a time, each taking up to 4 of those waiting.
    assert batches == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert sorted(i for b in batches for i in b) == list(range(10)) and c.idle


async def test_a_failed_batch_fails_its_callers_only() -> None:
    async def run(engine: object, items: list[int]) -> list[int]:
        await asyncio.sleep(0)
        if 3 in items:
            raise ValueError("boom")
        return items

    c: Coalescer[int, int] = Coalescer("e", run, batch=2, flushes=1)
    got = await asyncio.gather(*(c.submit(i) for i in range(6)), return_exceptions=True)
    # Batches [0, 1], [2, 3], [4, 5]: the one holding 3 fails for 2 and 3 alone.
    assert got[:2] == [0, 1] and got[4:] == [4, 5]
    assert all(isinstance(g, ValueError) for g in got[2:4]) and c.idle


async def test_a_short_answer_is_an_error_not_a_wrong_result() -> None:
    async def run(engine: object, items: list[int]) -> list[int]:
        return items[:-1]

    c: Coalescer[int, int] = Coalescer("e", run, batch=5, flushes=1)
    with pytest.raises(ValueError):
        await asyncio.gather(c.submit(1), c.submit(2))


def test_one_coalescer_per_engine() -> None:
    registry: dict[int, Coalescer[int, int]] = {}

    async def run(engine: object, items: list[int]) -> list[int]:
        return items

    a, b = object(), object()
    first = for_engine(registry, a, lambda: Coalescer(a, run, batch=1, flushes=1))
    assert for_engine(registry, a, lambda: Coalescer(a, run, batch=1, flushes=1)) is first
    assert for_engine(registry, b, lambda: Coalescer(b, run, batch=1, flushes=1)) is not first
