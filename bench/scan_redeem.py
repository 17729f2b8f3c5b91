"""Scan + redeem through the merchant API, end to end, against its ceilings.

1. Creates a scratch PostgreSQL database, migrates it with ``unioncard database upgrade`` and
   seeds it: MEMBERS members with cards, a signing key, one merchant with a store and a terminal
   key, one programme (10 % off, federation-funded, a per-member monthly count limit; no shared
   budget row, so redemptions of distinct members do not serialise).
2. Starts the app with granian, 2 workers, production settings (Redis, JSON logs off, terminal
   rate limit off, no background job runner).
3. Measures, on that server: ``GET /health/live`` (the framework's ceiling), warms up for 3 s
   and ANALYZEs (statistics as autovacuum keeps them in service), then 32 concurrent
   clients for 20 s, each doing a scan and a redemption per member (distinct members and cards,
   rotating codes minted beforehand). Clients speak HTTP/1.1 keep-alive over raw asyncio streams,
   so the client costs the shared 2 cores as little as possible.
4. Stops the server and runs pgbench (32 clients) on the redemption's own SQL (BEGIN, programme
   head with the idempotency probe, ledger INSERT, counter upsert, COMMIT): the database's
   ceiling, and the figure ``ratio`` is against. Then pgbench on the SQL as ``redeem()`` now
   sends it (the head, then one statement charging the counter and inserting the ledger row:
   ``benefits.engine.at_once``), for ``ratio_now``.
5. Checks that the ledger holds exactly the successful redemptions.

Usage: ``.venv/bin/python bench/scan_redeem.py [--seconds 20] [--clients 32] [--profile DIR]``
(``--profile`` samples each worker with py-spy, ``pip install py-spy``, counting only the
thread that holds the GIL: where the workers' CPU goes.)
Env: ``BENCH_PG`` (admin URL, default postgresql://postgres@127.0.0.1:5432/test),
``BENCH_REDIS`` (default redis://127.0.0.1:6379/13, flushed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from _harness import (
    AMOUNT,
    REDIS_URL,
    Conn,
    children,
    cpu_seconds,
    flush_redis,
    free_port,
    health_ceiling,
    migrate,
    pct,
    profile,
    psql,
    scratch_database,
    seed,
    server_env,
    start_server,
    stop_server,
    var_dir,
)


async def scan_redeem(
    port: int, clients: int, seconds: float, world: dict[str, Any], codes: list[str]
) -> dict[str, Any]:
    auth = f"Authorization: Bearer {world['key']}\r\nContent-Type: application/json\r\n"
    stop = time.perf_counter() + seconds
    it = iter(codes)
    pair_lat: list[float] = []
    scan_lat: list[float] = []
    redeem_lat: list[float] = []
    errors: list[str] = []
    ok = 0

    async def loop() -> None:
        nonlocal ok
        c = Conn("127.0.0.1", port)
        while time.perf_counter() < stop:
            code = next(it, None)
            if code is None:
                errors.append("ran out of seeded members")
                return
            t0 = time.perf_counter()
            s, body = await c.request(
                "POST",
                "/api/v1/scans",
                json.dumps({"code": code, "amount_fen": AMOUNT}).encode(),
                auth,
            )
            t1 = time.perf_counter()
            if s != 200:
                errors.append(f"scan {s} {body[:200]!r}")
                continue
            r, body = await c.request(
                "POST",
                "/api/v1/redemptions",
                json.dumps(
                    {"code": code, "program_id": world["program_id"], "amount_fen": AMOUNT}
                ).encode(),
                auth + f"Idempotency-Key: {uuid.uuid4().hex}\r\n",
            )
            t2 = time.perf_counter()
            if r != 201:
                errors.append(f"redeem {r} {body[:200]!r}")
                continue
            ok += 1
            scan_lat.append(t1 - t0)
            redeem_lat.append(t2 - t1)
            pair_lat.append(t2 - t0)
        c.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(clients)))
    elapsed = time.perf_counter() - t0
    return {
        "ok": ok,
        "elapsed": elapsed,
        "pair": pair_lat,
        "scan": scan_lat,
        "redeem": redeem_lat,
        "errors": errors,
    }


# --- pgbench: the redemption's own SQL ------------------------------------------------------


def pgbench_script(world: dict[str, Any]) -> str:
    """BEGIN; head + idempotency probe; ledger INSERT; counter upsert; COMMIT — as redeem()."""
    period = datetime.now(UTC).strftime("M%Y-%m")
    # The idempotency probe takes a bound value, as redeem() does: a volatile expression such as
    # md5(random()) there would defeat the index and measure a sequential scan instead.
    return f"""\\set amount random(100, 10000)
\\set probe random(1, 2000000000)
BEGIN;
SELECT p.id, p.code, p.status, p.current_version_id, p.owner_org_path,
       (SELECT k.checkout_id FROM benefit_redemption_key k
         WHERE k.merchant_id = '{world["merchant_id"]}'
           AND k.idempotency_key = 'probe-' || :probe) AS existing
FROM benefit_program p WHERE p.id = '{world["program_id"]}';
{_ledger_insert(world, period, "SELECT gen_random_uuid()")};
INSERT INTO benefit_member_counter (id, member_id, program_id, policy_key, metric, scope_key,
                                    period_key, used, "limit", last_take)
VALUES (gen_random_uuid(), gen_random_uuid(), '{world["program_id"]}', 'member_month_count',
        'count', gen_random_uuid()::text, '{period}', 1, 1000, 1)
ON CONFLICT (member_id, program_id, policy_key, metric, scope_key, period_key)
DO UPDATE SET used = benefit_member_counter.used + 1, last_take = 1, "limit" = 1000
WHERE benefit_member_counter.used + 1 <= 1000
RETURNING used, last_take;
COMMIT;
"""


def pgbench_script_at_once(world: dict[str, Any]) -> str:
    """The redemption's SQL as redeem() now sends it: the head + idempotency probe, then one
    statement (autocommit) charging the counter and inserting the ledger row
    (``benefits.engine.at_once``)."""
    period = datetime.now(UTC).strftime("M%Y-%m")
    head = pgbench_script(world).split("BEGIN;\n", 1)[1].split("WITH v AS", 1)[0]
    return f"""\\set amount random(100, 10000)
\\set probe random(1, 2000000000)
{head}WITH c0(u) AS (
INSERT INTO benefit_member_counter AS bc (id, member_id, program_id, policy_key, metric,
                                          scope_key, period_key, used, "limit", last_take)
SELECT gen_random_uuid(), gen_random_uuid(), '{world["program_id"]}', 'member_month_count',
       'count', gen_random_uuid()::text, '{period}', 1, 1000, 1
ON CONFLICT (member_id, program_id, policy_key, metric, scope_key, period_key)
DO UPDATE SET used = bc.used + 1, last_take = 1, "limit" = 1000
WHERE bc.used + 1 <= 1000
RETURNING bc.used),
{_ledger_insert(world, period, "SELECT gen_random_uuid() FROM c0", in_with=True)})
SELECT c0.u FROM c0;
"""


def _ledger_insert(world: dict[str, Any], period: str, new_id: str, in_with: bool = False) -> str:
    """The ledger row with its lookup rows (idempotency key, QR token), as redeem() writes them
    (``benefits.engine.statements.lookup_rows_sql``); ``new_id``: the SELECT of its id.
    ``in_with``: as the last CTEs of a WITH already open (``line`` is left open)."""
    row = f"""SELECT ({new_id}) AS u, gen_random_uuid() AS m, md5(random()::text) AS k,
           substr(md5(random()::text), 1, 24) AS t, now() AS at"""
    lookups = f"""k AS (INSERT INTO benefit_redemption_key
    (merchant_id, idempotency_key, checkout_id, member_id, occurred_at)
    SELECT '{world["merchant_id"]}', k, u, m, at FROM v),
t AS (INSERT INTO benefit_redemption_token (token_id, member_id, checkout_id, occurred_at)
    SELECT t, m, u, at FROM v)"""
    head = f"v AS ({row}),\n{lookups}" + (",\nline AS (" if in_with else "\n")
    return f"""{"" if in_with else "WITH "}{head}INSERT INTO benefit_redemption (id, checkout_id, line, merchant_id, store_id,
    terminal_id, member_id, member_org_path, card_id, program_id, program_version_id,
    version_number, amount_fen, discount_fen, payable_fen, units, subsidy_fen, value_fen,
    occurred_at, idempotency_key, fingerprint, token_id, takes)
SELECT u, u, 0, '{world["merchant_id"]}', '{world["store_id"]}', NULL, m,
    'bench/', NULL, '{world["program_id"]}', '{world["version_id"]}', 1,
    :amount, :amount / 10, :amount - :amount / 10, 1, :amount / 10, :amount / 10, at,
    k, md5(random()::text), t,
    '[{{"p": "member_month_count", "m": "count", "s": "x", "k": "{period}", "n": 1,
       "l": 1000}}]'
FROM v"""


def run_pgbench(
    db_url: str, world: dict[str, Any], clients: int, seconds: int, script: str | None = None
) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as fh:
        fh.write(script or pgbench_script(world))
    out = subprocess.run(
        [
            "pgbench",
            "-n",
            "-M",
            "prepared",
            "-c",
            str(clients),
            "-j",
            "2",
            "-T",
            str(seconds),
            "-f",
            fh.name,
            db_url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    os.unlink(fh.name)
    m = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out)
    if m is None:
        raise RuntimeError(out)
    return float(m.group(1))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--members", type=int, default=40_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--profile", help="write py-spy collapsed stacks of each worker to this dir")
    args = ap.parse_args()

    flush_redis(REDIS_URL)
    try:
        with scratch_database("uc_bench_scan") as db_url:
            ok = run(args, db_url, server_env(db_url, var_dir()))
    finally:
        flush_redis(REDIS_URL)
    if not ok:
        sys.exit(1)


def run(args: argparse.Namespace, db_url: str, env: dict[str, str]) -> bool:
    t = time.perf_counter()
    migrate(env)
    world = asyncio.run(seed(args.members, env))
    print(
        f"setup: migrated and seeded {args.members} members in {time.perf_counter() - t:.1f} s",
        flush=True,
    )

    port = free_port()
    server = start_server(env, port, args.workers)
    try:
        codes: list[str] = world["codes"]
        random.Random(1).shuffle(codes)
        live = asyncio.run(health_ceiling(port, args.clients, 5))
        warm = asyncio.run(scan_redeem(port, args.clients, 3, world, codes[:4000]))
        if warm["errors"]:
            raise RuntimeError(f"warm-up errors: {warm['errors'][:3]}")
        # Statistics as autovacuum leaves them in service: plans cached while the ledger was
        # empty would probe idempotency keys through the merchant's index (a scan of all its
        # rows); ANALYZE invalidates them.
        psql(db_url, "ANALYZE benefit_redemption, benefit_member_counter, merchant_scan_log")
        workers = children(server.pid) or [server.pid]
        cpu_before = cpu_seconds(workers)
        spies = profile(workers, args.seconds, args.profile)
        res = asyncio.run(scan_redeem(port, args.clients, args.seconds, world, codes[4000:]))
        server_cpu = cpu_seconds(workers) - cpu_before
        for spy in spies:
            spy.wait(30)
    finally:
        stop_server(server)

    ledger = int(
        psql(
            db_url,
            f"SELECT count(*) FROM benefit_redemption WHERE merchant_id = '{world['merchant_id']}'",
        )
    )
    tps = run_pgbench(db_url, world, args.clients, 10)
    tps_now = run_pgbench(db_url, world, args.clients, 10, pgbench_script_at_once(world))
    expected = warm["ok"] + res["ok"]
    pairs = res["ok"] / res["elapsed"]
    ratio = pairs / tps
    errors = len(res["errors"])
    print()
    print(f"{'what':<44}{'figure':>12}")
    print(f"{'GET /health/live, requests/s (ceiling)':<44}{live:>12.0f}")
    print(f"{'pgbench redemption SQL, TPS (ceiling)':<44}{tps:>12.0f}")
    print(f"{'pgbench, as redeem() sends it now, TPS':<44}{tps_now:>12.0f}")
    print(f"{'scan+redeem pairs/s (redemptions/s)':<44}{pairs:>12.0f}")
    print(f"{'HTTP requests/s (2 per pair)':<44}{2 * pairs:>12.0f}")
    print(
        f"{'pair latency p50 / p99 (ms)':<44}"
        f"{pct(res['pair'], 0.5):>6.1f} /{pct(res['pair'], 0.99):>5.1f}"
    )
    print(
        f"{'scan p50 / p99 (ms)':<44}{pct(res['scan'], 0.5):>6.1f} /{pct(res['scan'], 0.99):>5.1f}"
    )
    print(
        f"{'redeem p50 / p99 (ms)':<44}"
        f"{pct(res['redeem'], 0.5):>6.1f} /{pct(res['redeem'], 0.99):>5.1f}"
    )
    print(
        f"{'server CPU per pair (ms, both workers)':<44}{1000 * server_cpu / max(res['ok'], 1):>12.2f}"
    )
    print(f"{'errors':<44}{errors:>12}")
    print(f"{'ledger rows / successful redemptions':<44}{ledger:>6} /{expected:>5}")
    print(f"{'redemptions/s ÷ pgbench TPS (goal ≥ 0.15)':<44}{ratio:>12.3f}")
    print(f"{'redemptions/s ÷ pgbench TPS as sent now':<44}{pairs / tps_now:>12.3f}")
    for e in res["errors"][:5]:
        print("  error:", e)
    print(
        f"pairs_per_s={pairs:.0f} requests_per_s={2 * pairs:.0f} "
        f"p50_ms={pct(res['pair'], 0.5):.1f} p99_ms={pct(res['pair'], 0.99):.1f} "
        f"errors={errors} health_live_rps={live:.0f} pgbench_tps={tps:.0f} "
        f"pgbench_now_tps={tps_now:.0f} ratio_now={pairs / tps_now:.3f} "
        f"ledger_ok={int(ledger == expected)} "
        f"server_cpu_ms_per_pair={1000 * server_cpu / max(res['ok'], 1):.2f} ratio={ratio:.3f}"
    )
    return not errors and ledger == expected


if __name__ == "__main__":
    main()
