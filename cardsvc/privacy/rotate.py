"""Data-key rotation: re-encrypt every ciphertext under the current (first) data key.

Runs beside the live app. Rows are read in id order (keyset pagination) in batches, each
batch its own short transaction; a row is rewritten only if its ciphertexts are still the ones
read (``WHERE col = :old``), so a concurrent change by the app, already made under the current
key, wins. The lookup hashes use the separate lookup key and are left alone. Stopping and
starting again resumes: only ciphertexts under another key are selected. While it runs both
keys are configured, so old and new rows decrypt alike.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from cardsvc.kernel.db import make_sessionmaker
from cardsvc.kernel.pii import PiiCipher
from cardsvc.privacy.parts import EncryptedTable


@dataclass(slots=True)
class RotationStats:
    table: str
    rewritten: int = 0
    skipped: int = 0  # changed by the app meanwhile (already under the current key)
    batches: int = 0
    done: bool = False


def _stale(t: EncryptedTable, kid: str) -> Any:
    """Rows with a ciphertext under any key but ``kid``."""
    prefix = f"{kid}."
    return or_(
        *(
            and_(t.table.c[col].is_not(None), ~t.table.c[col].startswith(prefix, autoescape=True))
            for col in t.fields
        )
    )


async def rotate_table(
    engine: AsyncEngine,
    cipher: PiiCipher,
    t: EncryptedTable,
    *,
    batch_size: int = 500,
    max_batches: int | None = None,
    progress: Callable[[RotationStats], Awaitable[None]] | None = None,
) -> RotationStats:
    kid = cipher.active_kid
    stats = RotationStats(t.name)
    maker = make_sessionmaker(engine)
    pk = t.table.c.id
    cols = [t.table.c[c] for c in t.fields]
    last: Any = None
    while max_batches is None or stats.batches < max_batches:
        async with maker() as session, session.begin():
            q = select(pk, *cols).where(_stale(t, kid)).order_by(pk).limit(batch_size)
            if last is not None:
                q = q.where(pk > last)
            rows = (await session.execute(q)).all()
            for row in rows:
                old = dict(zip(t.fields, row[1:], strict=True))
                new: dict[str, Any] = {
                    col: None if v is None else cipher.encrypt(field, cipher.decrypt(field, v))
                    for (col, field), v in zip(t.fields.items(), old.values(), strict=True)
                }
                if t.key_id_column:
                    new[t.key_id_column] = kid
                same = [
                    t.table.c[c].is_(None) if v is None else t.table.c[c] == v
                    for c, v in old.items()
                ]
                result = await session.execute(
                    update(t.table).where(pk == row[0], *same).values(**new)
                )
                if result.rowcount:
                    stats.rewritten += 1
                else:
                    stats.skipped += 1
        stats.batches += 1
        if rows:
            last = rows[-1][0]
        if len(rows) < batch_size:
            stats.done = True
        if progress is not None:
            await progress(stats)
        if stats.done:
            break
    return stats


async def rotate_data(
    engine: AsyncEngine,
    cipher: PiiCipher,
    tables: Sequence[EncryptedTable],
    *,
    batch_size: int = 500,
    max_batches: int | None = None,
    progress: Callable[[RotationStats], Awaitable[None]] | None = None,
) -> list[RotationStats]:
    """Every table in turn; ``max_batches`` (per table) stops early, to resume later."""
    return [
        await rotate_table(
            engine, cipher, t, batch_size=batch_size, max_batches=max_batches, progress=progress
        )
        for t in tables
    ]


async def key_usage(
    engine: AsyncEngine, kids: Sequence[str], tables: Sequence[EncryptedTable]
) -> dict[str, dict[str, int]]:
    """Ciphertexts per table and key id (``other``: under a key not configured here)."""
    out: dict[str, dict[str, int]] = {}
    async with engine.connect() as conn:
        for t in tables:
            counts: dict[str, int] = {}
            for col in t.fields:
                c = t.table.c[col]
                total = (
                    await conn.execute(select(func.count()).where(c.is_not(None)))
                ).scalar_one()
                known = 0
                for kid in kids:
                    n = (
                        await conn.execute(
                            select(func.count()).where(c.startswith(f"{kid}.", autoescape=True))
                        )
                    ).scalar_one()
                    counts[kid] = counts.get(kid, 0) + n
                    known += n
                if total - known:
                    counts["other"] = counts.get("other", 0) + total - known
            out[t.name] = counts
    return out
