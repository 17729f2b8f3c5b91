"""Back up and restore (docs/operations.md): a database with redemptions, reversals and striped
budget counters is dumped, restored into a fresh database, and the restored copy reconciles —
no counter drifts from the ledger — with the same ledger totals as the original.

PostgreSQL: ``pg_dump -Fc`` then ``pg_restore`` into a new database, the way an operator does.
SQLite (the embedded default): the online backup API (``sqlite3 … ".backup FILE"``).
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from benefits.engine.counters import budget_stripes, set_budget_stripes
from benefits.models import Redemption, Reversal
from benefits.public import reconcile, redeem, reverse
from cardsvc.kernel.db import make_engine
from tests.benefits.conftest import NOON, member, merchant, published
from tests.conftest import PG_URL, _asyncpg_url, _pg_admin, _replace_db
from tests.support.counters import all_counters
from tests.test_migrations import _alembic, _run, _version


@pytest.fixture
def four_stripes() -> Iterator[None]:
    before = budget_stripes()
    set_budget_stripes(4)
    yield
    set_budget_stripes(before)


async def _business(engine: AsyncEngine) -> None:
    """A month of trade in miniature: two programmes, redemptions, one reversal."""
    budget = {"key": "budget", "metric": "amount", "scope": "program", "period": "month"}
    daily = {"key": "daily", "metric": "count", "scope": "member", "period": "day", "limit": 2}
    p1 = await published(
        engine,
        benefit={"kind": "amount_off", "off_fen": 300, "funded_by": "federation"},
        limits=[daily, {**budget, "limit": 10_000}],
    )
    p2 = await published(
        engine,
        benefit={"kind": "percent_off", "basis_points": 1500, "funded_by": "federation"},
        limits=[{**budget, "limit": 50_000, "on_exceed": "clamp"}],
    )
    shop, members = merchant(), [member() for _ in range(5)]
    async with engine.connect() as conn:
        done = []
        for i in range(12):
            done.append(
                await redeem(
                    conn,
                    member=members[i % 5],
                    merchant=shop,
                    program_ids=(p1.id if i % 2 else p2.id),
                    amount_fen=4000 + 500 * i,
                    idempotency_key=f"bk-{i}",
                    at=NOON,
                )
            )
        await reverse(conn, redemption_id=done[3].redemption_id, merchant_id=shop.merchant_id)


async def _totals(url: str) -> dict[str, Any]:
    engine = make_engine(url)
    r, v, c = Redemption.__table__, Reversal.__table__, all_counters()
    try:
        async with engine.connect() as conn:
            ledger = (
                await conn.execute(
                    select(
                        func.count(),
                        func.sum(r.c.discount_fen),
                        func.sum(r.c.subsidy_fen),
                        func.count(v.c.id),
                    ).select_from(r.outerjoin(v, v.c.redemption_id == r.c.id))
                )
            ).one()
            counters = sorted(
                (str(x[0]), x[1], x[2], x[3], x[4])
                for x in await conn.execute(
                    select(c.c.program_id, c.c.policy_key, c.c.scope_key, c.c.used, c.c.stripes)
                )
            )
            report = await reconcile(conn, fix=False)
            audit = (await conn.execute(text("SELECT count(*) FROM audit_entry"))).scalar_one()
    finally:
        await engine.dispose()
    return {
        "ledger": tuple(ledger),
        "counters": counters,
        "drifts": report.drifts,
        "redemptions_read": report.redemptions_read,
        "audit": audit,
    }


@pytest.fixture
async def pg_pair() -> AsyncIterator[tuple[str, str]]:
    """Two fresh PostgreSQL databases of this test: the original and the restore target."""
    if not PG_URL:
        pytest.skip("UNIONCARD_TEST_DATABASE_URL not set")
    names = [f"unioncard_bk_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    for name in names:
        await _pg_admin(f'CREATE DATABASE "{name}"')
    try:
        url = _asyncpg_url(PG_URL)
        yield _replace_db(url, names[0]), _replace_db(url, names[1])
    finally:
        for name in names:
            await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _cmd(*args: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode == 0, out.decode()


def _libpq(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


@pytest.mark.postgres
async def test_pg_dump_and_restore_reconcile(
    pg_pair: tuple[str, str], tmp_path: Path, four_stripes: None
) -> None:
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.fail("pg_dump / pg_restore are needed (postgresql-client)")
    original, restored = pg_pair
    await _run(original, _alembic, "upgrade", "heads")  # the production schema, by migrations
    engine = make_engine(original)
    try:
        await _business(engine)
    finally:
        await engine.dispose()
    before = await _totals(original)
    assert not before["drifts"] and before["ledger"][0] == 12 and before["ledger"][3] == 1
    assert any(row[4] == 4 for row in before["counters"])  # striped budgets went into the dump

    dump = tmp_path / "unioncard.dump"
    await _cmd("pg_dump", "--format=custom", "--no-owner", "--file", str(dump), _libpq(original))
    await _cmd(
        "pg_restore", "--no-owner", "--exit-on-error", "--dbname", _libpq(restored), str(dump)
    )

    after = await _totals(restored)
    assert after == before
    assert await _run(restored, _version) == await _run(original, _version)
    # The restored audit log is still append-only: its trigger came back with the schema.
    engine = make_engine(restored)
    try:
        async with engine.connect() as conn:
            guard = "SELECT count(*) FROM pg_trigger WHERE tgname = 'audit_entry_append_only'"
            assert (await conn.execute(text(guard))).scalar_one() == 1
    finally:
        await engine.dispose()


async def test_sqlite_backup_and_restore_reconcile(tmp_path: Path, four_stripes: None) -> None:
    live = tmp_path / "unioncard.db"
    url = f"sqlite+aiosqlite:///{live}"
    await _run(url, _alembic, "upgrade", "heads")
    engine = make_engine(url)
    try:
        await _business(engine)
        before = await _totals(url)
        # The online backup, taken while the app's engine is still connected.
        copy = tmp_path / "backup.db"
        with sqlite3.connect(live) as src, sqlite3.connect(copy) as dst:
            src.backup(dst)
    finally:
        await engine.dispose()
    restored = tmp_path / "restored.db"
    shutil.copyfile(copy, restored)
    after = await _totals(f"sqlite+aiosqlite:///{restored}")
    assert after == before and not after["drifts"] and after["ledger"][0] == 12
