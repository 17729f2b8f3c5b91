"""Scan + redeem through PgBouncer (transaction mode) against the same directly, in one run.

The world of ``bench/scan_redeem.py`` (a scratch database, MEMBERS members with cards, a
terminal, a programme) and three app servers (granian, 2 workers each, production settings):
one on PostgreSQL directly, one through PgBouncer connecting as it does to PostgreSQL (statement
caches on: PgBouncer >= 1.21 keeps the prepared statements, ``max_prepared_statements``), and
one through PgBouncer with ``UNIONCARD_DB_PGBOUNCER=1`` (no caches, what an older PgBouncer
needs). The same 32 clients drive scan+redeem pairs against each in turn, ROUNDS times
(alternating, so that the load other processes put on the machine falls on all alike); pairs/s
through PgBouncer ÷ direct is the ratio (goal ≥ 0.8), the uncached one is printed beside it.
The ledger must hold exactly the successful redemptions.

PgBouncer must listen already (``.ci/replica.sh`` starts it on 6432 with .ci/pgbouncer.ini).
Usage: ``.venv/bin/python bench/pgbouncer.py [--seconds 10] [--rounds 2] [--clients 32]``
Env: ``BENCH_PG`` (admin URL), ``BENCH_PGBOUNCER`` (default
postgresql://postgres@127.0.0.1:6432), ``BENCH_REDIS``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import time
from typing import Any

from _harness import (
    REDIS_URL,
    flush_redis,
    free_port,
    migrate,
    pct,
    psql,
    scratch_database,
    seed,
    server_env,
    start_server,
    stop_server,
    var_dir,
)
from scan_redeem import scan_redeem

PGBOUNCER = os.environ.get("BENCH_PGBOUNCER", "postgresql://postgres@127.0.0.1:6432")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--members", type=int, default=40_000)
    ap.add_argument("--port", type=int, default=free_port(), help="the direct server's; +1")
    args = ap.parse_args()
    ping = subprocess.run(["psql", f"{PGBOUNCER}/postgres", "-qtAc", "SELECT 1"], check=False)
    if ping.returncode != 0:
        sys.exit(f"PgBouncer does not answer at {PGBOUNCER} (run .ci/replica.sh)")
    flush_redis(REDIS_URL)
    try:
        with scratch_database("uc_bench_pgbouncer") as db_url:
            ok = run(args, db_url)
    finally:
        flush_redis(REDIS_URL)
    if not ok:
        sys.exit(1)


def run(args: argparse.Namespace, db_url: str) -> bool:
    direct_env = server_env(db_url, var_dir())
    bounced_env = server_env(f"{PGBOUNCER}/{db_url.rsplit('/', 1)[1]}", var_dir())
    uncached_env = {**bounced_env, "UNIONCARD_DB_PGBOUNCER": "1"}
    t = time.perf_counter()
    migrate(direct_env)
    world = asyncio.run(seed(args.members, direct_env))
    print(f"setup: seeded {args.members} members in {time.perf_counter() - t:.1f} s", flush=True)
    codes: list[str] = world["codes"]
    random.Random(1).shuffle(codes)
    warm_n = 2000
    envs = {"direct": direct_env, "pgbouncer": bounced_env, "uncached": uncached_env}
    n = len(envs)
    share = (len(codes) - n * warm_n) // (n * args.rounds)  # each timed run's own codes
    chunks = iter(
        [codes[i * warm_n : (i + 1) * warm_n] for i in range(n)]
        + [
            codes[n * warm_n + i * share : n * warm_n + (i + 1) * share]
            for i in range(n * args.rounds)
        ]
    )
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in envs}
    ports = {name: args.port + i for i, name in enumerate(envs)}
    servers = {name: start_server(env, ports[name], 2) for name, env in envs.items()}
    done = 0
    try:
        for name in servers:  # warm-up: connections, plans, the workers' caches
            warm = asyncio.run(scan_redeem(ports[name], args.clients, 2, world, next(chunks)))
            if warm["errors"]:
                raise RuntimeError(f"{name} warm-up errors: {warm['errors'][:3]}")
            done += warm["ok"]
        psql(db_url, "ANALYZE benefit_redemption, benefit_member_counter, merchant_scan_log")
        for _ in range(args.rounds):
            for name in servers:
                res = asyncio.run(
                    scan_redeem(ports[name], args.clients, args.seconds, world, next(chunks))
                )
                results[name].append(res)
                done += res["ok"]
                print(f"{name}: {res['ok'] / res['elapsed']:.0f} pairs/s", flush=True)
    finally:
        for server in servers.values():
            stop_server(server)
    ledger = int(
        psql(
            db_url,
            f"SELECT count(*) FROM benefit_redemption WHERE merchant_id = '{world['merchant_id']}'",
        )
    )
    figures = {name: _figures(rs) for name, rs in results.items()}
    ratio = figures["pgbouncer"]["pairs"] / figures["direct"]["pairs"]
    uncached_ratio = figures["uncached"]["pairs"] / figures["direct"]["pairs"]
    errors = sum(f["errors"] for f in figures.values())
    print()
    print(f"{'what':<46}{'direct':>10}{'pgbouncer':>12}{'uncached':>10}")
    rows = (
        ("pairs", "scan+redeem pairs/s", ".0f"),
        ("p50", "pair latency p50 (ms)", ".1f"),
        ("p99", "pair latency p99 (ms)", ".1f"),
        ("errors", "errors", "d"),
    )
    for key, label, fmt in rows:
        a, b, c = (format(figures[name][key], fmt) for name in envs)
        print(f"{label:<46}{a:>10}{b:>12}{c:>10}")
    print(f"{'ledger rows / successful redemptions':<46}{ledger:>10} /{done:>10}")
    print(f"{'pgbouncer ÷ direct pairs/s (goal ≥ 0.8)':<46}{ratio:>10.3f}")
    print(f"{'uncached ÷ direct pairs/s (PgBouncer < 1.21)':<46}{uncached_ratio:>10.3f}")
    print(
        f"pgbouncer_pairs_per_s={figures['pgbouncer']['pairs']:.0f} "
        f"uncached_pairs_per_s={figures['uncached']['pairs']:.0f} "
        f"direct_pairs_per_s={figures['direct']['pairs']:.0f} "
        f"pgbouncer_p99_ms={figures['pgbouncer']['p99']:.1f} "
        f"direct_p99_ms={figures['direct']['p99']:.1f} errors={errors} "
        f"ledger_ok={int(ledger == done)} uncached_ratio={uncached_ratio:.3f} ratio={ratio:.3f}"
    )
    return not errors and ledger == done


def _figures(runs: list[dict[str, Any]]) -> dict[str, Any]:
    pairs = [lat for r in runs for lat in r["pair"]]
    return {
        "pairs": sum(r["ok"] for r in runs) / sum(r["elapsed"] for r in runs),
        "p50": pct(pairs, 0.5),
        "p99": pct(pairs, 0.99),
        "errors": sum(len(r["errors"]) for r in runs),
    }


if __name__ == "__main__":
    main()
