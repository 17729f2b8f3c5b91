"""Scan-log retention: deleting a month's rows (a plain table) against dropping its partition.

In a scratch PostgreSQL database migrated to the newest revision (the scan log partitioned by
month), two old months are made the way the partition job makes them and filled with ``--rows``
scans each; a plain table made like the scan log gets the same rows. Then, timed: the retention
as it was (``DELETE`` in batches of 1,000 rows, one transaction each, on the plain table) and as
it is now (``DROP TABLE`` of the month's partition, what ``drop_expired`` runs), with the WAL
each wrote. Also timed: inserting the rows, in batches of 200 as the scan-log writer does,
into the partitioned table and into the plain one (the routing cost of partitions).

Usage: ``.venv/bin/python bench/partitions.py [--rows 200000]``; env ``BENCH_PG`` (admin URL).
The last line: ``key=value`` figures, ``ratio`` = delete seconds / drop seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _harness import scratch_database, server_env, var_dir

from cardsvc.kernel.db import make_engine, make_sessionmaker
from cardsvc.kernel.partitions import Month, make_ahead

SCAN = "merchant_scan_log"
BATCH = 1000
INSERT_BATCH = 200


def _migrate(db_url: str) -> None:
    import subprocess

    env = server_env(db_url, var_dir())
    subprocess.run(
        [str(Path(__file__).resolve().parent.parent / ".venv/bin/unioncard"), "database",
         "upgrade", "--no-prompt"],
        env={**env, "LITESTAR_APP": "cardsvc.app:create_app"}, check=True, capture_output=True,
    )  # fmt: skip


async def _wal(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn"))


def _fill(table: str, month: Month, rows: int) -> str:
    span = int((month.end - month.start).total_seconds()) - 1
    return (
        f"INSERT INTO {table} (id, merchant_id, store_id, terminal_id, card_id, member_id, at, "
        f"result) SELECT gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), "
        f"gen_random_uuid(), NULL, gen_random_uuid(), "
        f"'{month.start.isoformat()}'::timestamptz + (random() * {span}) * interval '1 second', "
        f"'ok' FROM generate_series(1, {rows})"
    )


async def _inserts(conn: asyncpg.Connection, table: str, rows: int) -> float:
    now = datetime.now(UTC)
    t0 = time.perf_counter()
    for start in range(0, rows, INSERT_BATCH):
        n = min(INSERT_BATCH, rows - start)
        await conn.execute(
            f"INSERT INTO {table} (id, merchant_id, store_id, terminal_id, card_id, member_id, "
            "at, result) SELECT gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), "
            "gen_random_uuid(), NULL, gen_random_uuid(), $1, 'ok' FROM generate_series(1, $2)",
            now,
            n,
        )
    return rows / (time.perf_counter() - t0)


async def _bench(db_url: str, rows: int) -> None:
    asyncpg_url = db_url.replace("postgresql+asyncpg://", "postgresql://")
    engine = make_engine(db_url.replace("postgresql://", "postgresql+asyncpg://"))
    old = Month.of(datetime.now(UTC) - timedelta(days=400))
    async with make_sessionmaker(engine)() as session, session.begin():
        await make_ahead(session, SCAN, "at", old.start, 1)
    await engine.dispose()

    conn = await asyncpg.connect(asyncpg_url)
    try:
        await conn.execute(f"CREATE TABLE scan_plain (LIKE {SCAN} INCLUDING DEFAULTS)")
        await conn.execute("ALTER TABLE scan_plain ADD PRIMARY KEY (id)")
        await conn.execute("CREATE INDEX ON scan_plain (at)")
        await conn.execute("CREATE INDEX ON scan_plain (merchant_id)")
        for table in (SCAN, "scan_plain"):
            await conn.execute(_fill(table, old, rows))
        await conn.execute("VACUUM ANALYZE")

        insert_rows = min(rows, 40_000)
        ins_part = await _inserts(conn, SCAN, insert_rows)
        ins_plain = await _inserts(conn, "scan_plain", insert_rows)

        cutoff = old.end
        wal0, t0 = await _wal(conn), time.perf_counter()
        deleted = 0
        while True:
            n = int(
                (
                    await conn.execute(
                        "DELETE FROM scan_plain WHERE id IN (SELECT id FROM scan_plain "
                        f"WHERE at < $1 LIMIT {BATCH})",
                        cutoff,
                    )
                ).split()[-1]
            )
            deleted += n
            if n < BATCH:
                break
        delete_s, delete_wal = time.perf_counter() - t0, await _wal(conn) - wal0

        wal0, t0 = await _wal(conn), time.perf_counter()
        name = old.name(SCAN)
        dropped = int(await conn.fetchval(f'SELECT count(*) FROM "{name}"'))
        await conn.execute(f'DROP TABLE "{name}"')
        drop_s, drop_wal = time.perf_counter() - t0, await _wal(conn) - wal0
    finally:
        await conn.close()

    print(f"{'retention of one month':<28}{'rows':>10}{'seconds':>10}{'WAL MB':>10}")
    print(f"{'DELETE, batches of 1000':<28}{deleted:>10}{delete_s:>10.2f}{delete_wal / 1e6:>10.1f}")
    print(f"{'DROP partition (count+drop)':<28}{dropped:>10}{drop_s:>10.2f}{drop_wal / 1e6:>10.2f}")
    print(f"{'insert rows/s, batches of 200':<28}{'partitioned':>12}{ins_part:>10.0f}")
    print(f"{'':<28}{'plain':>12}{ins_plain:>10.0f}")
    print(
        f"rows={rows} delete_s={delete_s:.2f} drop_s={drop_s:.3f} "
        f"delete_wal_mb={delete_wal / 1e6:.1f} drop_wal_mb={drop_wal / 1e6:.3f} "
        f"insert_partitioned={ins_part:.0f} insert_plain={ins_plain:.0f} "
        f"insert_ratio={ins_part / ins_plain:.2f} ratio={delete_s / drop_s:.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    with scratch_database("partitions_bench") as url:
        _migrate(url)
        asyncio.run(_bench(url, args.rows))


if __name__ == "__main__":
    main()
